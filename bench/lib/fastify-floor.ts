// The framework's floor: fastify with one /health route and nothing else, bundled as Hydroplane
// is. The cold start scenario measures it beside Hydroplane and a bare Node server, so that a
// reader sees what of Hydroplane's start and memory is the framework's and what is its own.
//   node fastify-floor.mjs PORT   (once bundled by bench/scenarios/server.ts)
import Fastify from 'fastify';

const app = Fastify();
app.get('/health', async () => ({ status: 'ok' }));
await app.listen({ host: '127.0.0.1', port: Number(process.argv[2]) });
