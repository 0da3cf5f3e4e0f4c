import type { FastifyInstance } from 'fastify';

/**
 * Logs each request as method, path, status and time, and nothing else: no query string, header
 * or body, where a token or a secret could hide.
 */
export function installRequestLog(app: FastifyInstance): void {
  app.addHook('onResponse', async (request, reply) => {
    // Routes registered with a higher log level (health, docs) drop this line.
    request.log[reply.statusCode >= 500 ? 'error' : 'info'](
      { method: request.method, path: request.url.split('?')[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 },
      'request',
    );
  });
}
