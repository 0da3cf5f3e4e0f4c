// The floor of any server between a client and the Engine: a bare Node HTTP server that only
// forwards GET /containers/{id}/json (an inspect) and GET /containers/json?... (a list) to the
// Engine's socket and its answer back, nothing parsed, checked or logged. The scale scenario times
// a get through it beside Hydroplane's get and the raw inspect, so that a reader sees what of a
// get's cost is the hop itself and what is Hydroplane's; bench/list-probe.ts does so for the list.
//   node bench/lib/bare-hop.ts ENGINE_SOCKET   (prints "listening PORT" once it listens)
import http from 'node:http';

const socketPath = process.argv[2];
if (!socketPath) throw new Error('usage: bare-hop.ts ENGINE_SOCKET');

const server = http.createServer((req, res) => {
  const path = req.url ?? '/';
  if (req.method !== 'GET' || !/^\/containers\/(?:[^/?]+\/json|json\?[^/]*)$/.test(path)) {
    res.writeHead(404).end();
    return;
  }
  const upstream = http.request({ socketPath, path, method: 'GET' }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, { 'content-type': 'application/json' });
    answer.pipe(res);
  });
  upstream.on('error', () => res.writeHead(502).end());
  upstream.end();
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : 0}\n`);
});
