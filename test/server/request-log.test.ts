import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { it } from 'node:test';
import type { FastifyBaseLogger } from 'fastify';
import { pino } from 'pino';
import { buildApp } from '../../src/server/app.ts';
import { FakeRuntime } from '../support/fake-runtime.ts';

it('logs one line per request with method, path, status and time only', async () => {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  const logger = pino({ level: 'trace' }, sink) as FastifyBaseLogger;
  const app = await buildApp({ runtime: new FakeRuntime(), logger, apiToken: 'the-token' });
  await app.inject({ method: 'GET', url: '/process?password=hunter2', headers: { authorization: 'Bearer the-token', cookie: 'c=1' } });
  await app.inject({ method: 'GET', url: '/group/g', headers: { authorization: 'Bearer wrong' } });
  await new Promise((r) => setImmediate(r));

  const requests = lines.filter((l) => l['msg'] === 'request');
  assert.equal(requests.length, 2);
  const keys = (l: Record<string, unknown>) =>
    Object.keys(l)
      .filter((k) => !['level', 'time', 'pid', 'hostname', 'reqId', 'msg'].includes(k))
      .sort();
  assert.deepEqual(keys(requests[0]!), ['method', 'ms', 'path', 'status']);
  // Refused (the list takes no such parameter), and still logged without its query.
  assert.deepEqual([requests[0]!['method'], requests[0]!['path'], requests[0]!['status']], ['GET', '/process', 400]);
  assert.deepEqual([requests[1]!['path'], requests[1]!['status']], ['/group/g', 401]);
  const everything = JSON.stringify(lines);
  for (const secret of ['hunter2', 'the-token', 'wrong', 'c=1']) assert.ok(!everything.includes(secret), `${secret} is in the log`);
});
