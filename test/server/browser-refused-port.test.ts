// A server on a port that browsers refuse (the Fetch standard's blocked ports: 6000, 6665-6669,
// 10080, ...) works for hpctl and curl, but its dashboard can never be opened: it says so at start.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import pino from 'pino';
import { startServer } from '../../src/server/start-server.ts';
import { writeConfig } from '../support/server-process.ts';

async function started(port: number, dashboard: boolean): Promise<{ logs: string; port: number } | undefined> {
  let logs = '';
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs += String(chunk);
      done();
    },
  });
  const configPath = await writeConfig('runtime: {runtime_type: docker, docker_host: "unix:///tmp/hydroplane-test-no-such.sock"}\n');
  let server;
  try {
    server = await startServer({
      configPath,
      host: '127.0.0.1',
      port,
      logger: pino({ level: 'info' }, sink),
      password: async () => '',
      env: {},
      dashboard,
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') return undefined;
    throw error;
  }
  const bound = Number(new URL(server.url).port);
  await server.close();
  return { logs, port: bound };
}

describe('a port that browsers refuse', () => {
  it('is named at start when the dashboard is served, and not otherwise', async () => {
    let seen: { logs: string; port: number } | undefined;
    for (const candidate of [6000, 6665, 6666, 6667, 6668, 6669, 6697, 10080]) {
      seen = await started(candidate, true);
      if (seen) break;
    }
    assert.ok(seen, 'none of the ports was free');
    assert.match(
      seen.logs,
      new RegExp(`browsers refuse port ${seen.port} .*the dashboard cannot be opened there; hpctl and curl reach it`),
    );
    const apiOnly = await started(seen.port, false);
    assert.ok(apiOnly);
    assert.doesNotMatch(apiOnly.logs, /browsers refuse/);
    const ordinary = await started(0, true);
    assert.ok(ordinary);
    assert.doesNotMatch(ordinary.logs, /browsers refuse/);
  });
});
