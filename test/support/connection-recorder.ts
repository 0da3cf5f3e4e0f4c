// Loaded into a server under test with `node --import` (NODE_OPTIONS): records every outgoing
// connection the process opens, TCP or unix socket, before it is made, as one JSON line in the file
// that HYDROPLANE_TEST_CONNECTION_LOG names. Every client in Node (http, https, undici's fetch, tls)
// ends in net.Socket#connect, so a test can tell exactly where a server tried to go.
import { appendFileSync } from 'node:fs';
import net from 'node:net';

export interface RecordedConnection {
  /** A unix socket's path. */
  path?: string;
  /** A TCP host as the caller named it (before any DNS lookup), and its port. */
  host?: string;
  port?: number;
}

const logFile = process.env['HYDROPLANE_TEST_CONNECTION_LOG'];

if (logFile) {
  // oxlint-disable-next-line unbound-method -- the original, called below with apply() on the socket
  const connect = net.Socket.prototype.connect;
  // Node calls connect(options), connect(path), connect(port, host), or internally
  // connect([options, callback]) with its normalized arguments.
  net.Socket.prototype.connect = function recordedConnect(this: net.Socket, ...args: unknown[]) {
    const first = Array.isArray(args[0]) ? args[0][0] : args[0];
    const entry: RecordedConnection = {};
    if (typeof first === 'string') entry.path = first;
    else if (typeof first === 'number') {
      entry.port = first;
      entry.host = typeof args[1] === 'string' ? args[1] : 'localhost';
    } else if (typeof first === 'object' && first !== null) {
      const options = first as { path?: unknown; host?: unknown; port?: unknown };
      if (typeof options.path === 'string') entry.path = options.path;
      else {
        entry.host = typeof options.host === 'string' ? options.host : 'localhost';
        entry.port = Number(options.port);
      }
    }
    appendFileSync(logFile, `${JSON.stringify(entry)}\n`);
    return (connect as (...a: unknown[]) => net.Socket).apply(this, args);
  };
}
