// hpctl start --validate: strict by default (a typo in a new spec is refused), warn and ignore for
// files made for the original, with the server's warnings on stderr, escaped.
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { main } from '../../src/cli/hpctl.ts';
import { buildApp } from '../../src/server/app.ts';
import { FakeRuntime } from '../support/fake-runtime.ts';

async function run(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env: {} });
  return { code, stdout, stderr };
}

describe('hpctl start --validate', () => {
  const runtime = new FakeRuntime();
  let server = '';
  let file = '';
  let hostile = '';
  let close: () => Promise<void>;

  before(async () => {
    // A server whose own default is Warn: hpctl's strict must come from hpctl.
    const app = await buildApp({ runtime, logger: false, fieldValidation: 'Warn' });
    await app.listen({ host: '127.0.0.1', port: 0 });
    server = `127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    close = () => app.close();
    const dir = await mkdtemp(join(tmpdir(), 'hpctl-validate-'));
    file = join(dir, 'advanced.json');
    await writeFile(file, JSON.stringify({ process_name: 'adv', container: { image_uri: 'nginx' }, node_selector: { a: 'b' } }));
    hostile = join(dir, 'hostile.json');
    await writeFile(hostile, JSON.stringify({ process_name: 'hostile', container: { image_uri: 'nginx' }, '\u001b]0;owned\u0007': 1 }));
  });
  after(() => close());

  it('is strict by default: a misplaced field is refused, with where it belongs', async () => {
    const res = await run(['-s', server, 'start', file]);
    assert.equal(res.code, 1);
    const body = JSON.parse(res.stderr);
    assert.equal(body.error, 422);
    assert.match(body.details, /node_selector: unknown field here; 'node_selector' belongs in 'container'/);
    assert.equal(runtime.processes.size, 0);
  });

  it('--validate=warn starts it and prints the warning on stderr, not in the JSON on stdout', async () => {
    const res = await run(['-s', server, 'start', '--validate=warn', file]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stderr, "hpctl: warning: node_selector: unknown field here; 'node_selector' belongs in 'container'\n");
    const info = JSON.parse(res.stdout);
    assert.equal(info.process_name, 'adv');
    assert.equal('warnings' in info, false);
    await run(['-s', server, 'stop', 'adv']);
  });

  it('--validate ignore starts it silently', async () => {
    const res = await run(['-s', server, 'start', '--validate', 'ignore', file]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stderr, '');
    await run(['-s', server, 'stop', 'adv']);
  });

  it('escapes what a warning repeats from the spec', async () => {
    const res = await run(['-s', server, 'start', '--validate=warn', hostile]);
    assert.equal(res.code, 0, res.stderr);
    assert.ok(!/[\u0000-\u001f\u007f-\u009f]/.test(res.stderr.slice(0, -1)), JSON.stringify(res.stderr));
    assert.match(res.stderr, /^hpctl: warning: \\\\u001b\]0;owned\\\\u0007: unknown field/);
    await run(['-s', server, 'stop', 'hostile']);
  });

  it('refuses a mode it does not know, as a usage error', async () => {
    const res = await run(['-s', server, 'start', '--validate=lenient', file]);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /strict, warn, ignore/);
  });
});
