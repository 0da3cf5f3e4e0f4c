import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { main, serverAddress } from '../../src/cli/hpctl.ts';
import { buildApp } from '../../src/server/app.ts';
import { FakeRuntime } from '../support/fake-runtime.ts';
import { freePort } from '../support/net.ts';

async function run(argv: string[], env: NodeJS.ProcessEnv = {}) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env });
  return { code, stdout, stderr };
}

describe('hpctl', () => {
  const runtime = new FakeRuntime();
  let server = '';
  let dir = '';
  let close: () => Promise<void>;

  before(async () => {
    const app = await buildApp({ runtime, logger: false });
    await app.listen({ host: '127.0.0.1', port: 0 });
    server = `127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    close = () => app.close();
    dir = await mkdtemp(join(tmpdir(), 'hpctl-'));
  });
  after(() => close());

  const specFile = async (name: string, spec: unknown) => {
    const file = join(dir, name);
    await writeFile(file, typeof spec === 'string' ? spec : JSON.stringify(spec));
    return file;
  };

  it('starts from a spec file, lists as a JSON array, stops', async () => {
    const file = await specFile('web.json', {
      process_name: 'web',
      group: 'g',
      container: { image_uri: 'nginx', ports: [{ container_port: 80 }] },
    });
    const started = await run(['-s', server, 'start', file]);
    assert.equal(started.code, 0, started.stderr);
    assert.equal(JSON.parse(started.stdout).process_name, 'web');

    const listed = await run(['list'], { HYDROPLANE_SERVER: server });
    assert.equal(listed.code, 0);
    const all = JSON.parse(listed.stdout);
    assert.ok(Array.isArray(all));
    assert.deepEqual(
      all.map((p: { process_name: string }) => p.process_name),
      ['web'],
    );
    assert.deepEqual(JSON.parse((await run(['-s', server, 'list', '-g', 'other'])).stdout), []);
    assert.equal(JSON.parse((await run(['-s', server, 'list', '-g', 'g'])).stdout).length, 1);

    const stopped = await run(['-s', server, 'stop', 'web']);
    assert.equal(stopped.code, 0);
    assert.deepEqual(JSON.parse(stopped.stdout), { stopped: ['web'] });
    assert.equal(runtime.processes.size, 0);
  });

  it('stops a group with -g', async () => {
    for (const name of ['a', 'b']) {
      await run([
        '-s',
        server,
        'start',
        await specFile(`${name}.json`, { process_name: name, group: 'grp', container: { image_uri: 'nginx' } }),
      ]);
    }
    const stopped = await run(['-s', server, 'stop', '-g', 'grp']);
    assert.equal(stopped.code, 0);
    assert.deepEqual(JSON.parse(stopped.stdout).stopped.sort(), ['a', 'b']);
  });

  it('prints the error body and exits non-zero on an API error', async () => {
    const missing = await run(['-s', server, 'stop', 'nope']);
    assert.equal(missing.code, 1);
    assert.equal(missing.stdout, '');
    assert.deepEqual(JSON.parse(missing.stderr), { error: 404, code: 'process_not_found', details: "no process named 'nope'" });

    const invalid = await run([
      '-s',
      server,
      'start',
      await specFile('bad.json', { process_name: 'Bad', container: { image_uri: 'nginx' } }),
    ]);
    assert.equal(invalid.code, 1);
    assert.equal(JSON.parse(invalid.stderr).error, 422);
  });

  it('shows the full error with -d', async () => {
    const plain = await run(['-s', server, 'stop', 'nope']);
    const debug = await run(['-s', server, '-d', 'stop', 'nope']);
    assert.equal(debug.code, 1);
    assert.ok(debug.stderr.length > plain.stderr.length);
    assert.match(debug.stderr, /ApiError/);
  });

  it('says what is wrong with a spec file before sending it', async () => {
    const broken = await run(['-s', server, 'start', await specFile('broken.json', '{"process_name": ')]);
    // The command was right and its input was not: 1, as a refused spec; 2 is for usage errors.
    assert.equal(broken.code, 1);
    assert.match(broken.stderr, /broken\.json is not valid JSON/);
    const absent = await run(['-s', server, 'start', join(dir, 'absent.json')]);
    assert.equal(absent.code, 1);
    assert.match(absent.stderr, /cannot read .*absent\.json: ENOENT/);
  });

  it('stops reading a spec that would never end, or is far larger than any, and says so', async () => {
    // /dev/zero never ends: before, hpctl read it until the text could not grow (a RangeError,
    // and a gigabyte held); a file of 17 MiB of spaces is valid JSON's whitespace, never a spec.
    const big = join(dir, 'big.json');
    await writeFile(big, ' '.repeat(17 * 1024 * 1024));
    for (const file of ['/dev/zero', big]) {
      const res = await run(['-s', server, 'start', file]);
      assert.equal(res.code, 1, res.stderr);
      assert.match(res.stderr, /holds more than 16 MiB, far more than a spec \(the server takes at most 1 MiB\): is it the right file\?/);
    }
    // Up to the limit, it is read whole.
    await writeFile(big, `${' '.repeat(16 * 1024 * 1024 - 100)}{"process_name": `);
    assert.match((await run(['-s', server, 'start', big])).stderr, /big\.json is not valid JSON/);
  });

  it('refuses stop with neither or both of a name and -g', async () => {
    assert.equal((await run(['-s', server, 'stop'])).code, 2);
    assert.equal((await run(['-s', server, 'stop', 'x', '-g', 'y'])).code, 2);
  });

  it('says how to point at a server when it cannot connect', async () => {
    const port = await freePort();
    const res = await run(['-s', `127.0.0.1:${port}`, 'list']);
    assert.equal(res.code, 1);
    assert.match(res.stderr, new RegExp(`cannot reach the Hydroplane server at http://127\\.0\\.0\\.1:${port}: ECONNREFUSED`));
    assert.match(res.stderr, /HYDROPLANE_SERVER/);
  });

  it('defaults to localhost:8000, after -s and HYDROPLANE_SERVER', () => {
    // Checked without connecting: whatever listens on this machine's port 8000 must not decide it.
    assert.equal(serverAddress(undefined, {}), 'localhost:8000');
    assert.equal(serverAddress(undefined, { HYDROPLANE_SERVER: 'h:1' }), 'h:1');
    assert.equal(serverAddress('s:2', { HYDROPLANE_SERVER: 'h:1' }), 's:2');
  });

  it('sends the API token from -t or HYDROPLANE_API_TOKEN', async () => {
    const app = await buildApp({ runtime: new FakeRuntime(), logger: false, apiToken: 'tok' });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const guarded = `127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    try {
      const without = await run(['-s', guarded, 'list']);
      assert.equal(without.code, 1);
      assert.equal(JSON.parse(without.stderr).error, 401);
      assert.equal((await run(['-s', guarded, '-t', 'tok', 'list'])).code, 0);
      assert.equal((await run(['-s', guarded, 'list'], { HYDROPLANE_API_TOKEN: 'tok' })).code, 0);
    } finally {
      await app.close();
    }
  });

  // The Fetch standard refuses these ports ("bad port"), and hpctl once went through fetch: a
  // server on 6000 could not be reached by hpctl, though curl reached it.
  it('reaches a server on a port that fetch refuses', async () => {
    const app = await buildApp({ runtime: new FakeRuntime(), logger: false });
    let port: number | undefined;
    for (const candidate of [6000, 6665, 6666, 6667, 6668, 6669, 6697, 10080, 5060, 4190]) {
      try {
        await app.listen({ host: '127.0.0.1', port: candidate });
        port = candidate;
        break;
      } catch {
        // taken: the next one
      }
    }
    try {
      assert.ok(port !== undefined, 'none of the ports was free');
      await assert.rejects(
        fetch(`http://127.0.0.1:${port}/health`),
        /fetch failed/,
        'fetch refuses the port (else this test proves nothing)',
      );
      const listed = await run(['-s', `127.0.0.1:${port}`, 'list']);
      assert.equal(listed.code, 0, listed.stderr);
      assert.deepEqual(JSON.parse(listed.stdout), []);
    } finally {
      await app.close();
    }
  });
});
