// hpctl apply: spec files and folders as the desired state, -g, --prune, -o, the exit codes.
// Against a real server over a socket, with the fake runtime.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { main } from '../../src/cli/hpctl.ts';
import { buildApp } from '../../src/server/app.ts';
import { FakeRuntime } from '../support/fake-runtime.ts';
import { runHpctl, type HpctlOptions } from '../support/hpctl.ts';

describe('hpctl apply', () => {
  const runtime = new FakeRuntime();
  let server = '';
  let root = '';
  let close: () => Promise<void>;
  let count = 0;

  const run = (argv: string[], options: HpctlOptions = {}) => runHpctl(server, argv, options);
  const spec = (name: string, extra: Record<string, unknown> = {}) => ({
    process_name: name,
    container: { image_uri: 'nginx' },
    ...extra,
  });
  /** A new folder holding these files. */
  const folder = async (files: Record<string, unknown>) => {
    const dir = join(root, `d${++count}`);
    await mkdir(dir);
    for (const [file, content] of Object.entries(files)) {
      await writeFile(join(dir, file), typeof content === 'string' ? content : JSON.stringify(content));
    }
    return dir;
  };

  before(async () => {
    const app = await buildApp({ runtime, logger: false, dashboard: false });
    await app.listen({ host: '127.0.0.1', port: 0 });
    server = `127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    close = () => app.close();
    root = await mkdtemp(join(tmpdir(), 'hpctl-apply-'));
  });
  after(() => close());
  beforeEach(() => {
    runtime.processes.clear();
    runtime.specs.clear();
  });

  it('applies files and a folder (its *.json, by name): created, then unchanged, then replaced', async () => {
    const dir = await folder({ 'b.json': spec('b'), 'a.json': spec('a'), 'notes.txt': 'not a spec' });
    const single = join(await folder({ 'c.json': spec('c') }), 'c.json');
    const first = await run(['apply', '-f', dir, '-f', single]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, 'a created\nb created\nc created\n');
    assert.equal(first.stderr, '');
    assert.deepEqual([...runtime.processes.keys()].sort(), ['a', 'b', 'c']);

    const again = await run(['apply', '-f', dir, '-f', single]);
    assert.equal(again.stdout, 'a unchanged\nb unchanged\nc unchanged\n');

    await writeFile(join(dir, 'b.json'), JSON.stringify(spec('b', { container: { image_uri: 'nginx:2' } })));
    runtime.exit('a', 1);
    const changed = await run(['apply', '-f', dir]);
    assert.equal(changed.code, 0);
    assert.equal(changed.stdout, 'a replaced\nb replaced\n');
    assert.equal(runtime.processes.get('b')?.image, 'nginx:2');
  });

  it('sets the group of every spec with -g, and --prune stops the rest of that group only', async () => {
    await runtime.start(groupedSpec('old', 'team'));
    await runtime.start(groupedSpec('elsewhere', 'other'));
    await runtime.start(groupedSpec('kept', 'team'));
    const dir = await folder({ 'kept.json': spec('kept', { group: 'team' }), 'new.json': spec('new', { group: 'ignored' }) });
    const res = await run(['apply', '-f', dir, '-g', 'team', '--prune']);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, 'kept unchanged\nnew created\nold pruned\n');
    assert.deepEqual([...runtime.processes.keys()].sort(), ['elsewhere', 'kept', 'new']);
    assert.equal(runtime.processes.get('new')?.group, 'team', '-g replaces the group a spec names');
  });

  it('refuses --prune without -g, no -f, a bad --validate or -o, and an empty folder: usage errors, exit 2', async () => {
    const file = join(await folder({ 'a.json': spec('a') }), 'a.json');
    for (const argv of [
      ['apply', '-f', file, '--prune'],
      ['apply'],
      ['apply', '-f', file, '--validate', 'loose'],
      ['apply', '-f', file, '-o', 'table'],
      ['apply', '-f', await folder({})],
    ]) {
      const res = await run(argv);
      assert.equal(res.code, 2, `${argv.join(' ')}: ${res.stderr}`);
      assert.equal(res.stdout, '');
    }
    assert.match((await run(['apply', '-f', file, '--prune'])).stderr, /--prune .* give -g GROUP/);
    assert.equal(runtime.processes.size, 0, 'nothing was applied');
  });

  it('applies the rest when some fail, says each failure, and exits 1', async () => {
    const dir = await folder({
      '1-ok.json': spec('ok'),
      '2-broken.json': '{"process_name": ',
      '3-invalid.json': spec('invalid', { container: { image_uri: 'nginx', ports: [{ container_port: 0 }] } }),
      '4-nameless.json': { container: { image_uri: 'nginx' } },
      '5-dup.json': spec('ok'),
      '6-also-ok.json': spec('also-ok'),
    });
    const res = await run(['apply', '-f', dir]);
    assert.equal(res.code, 1);
    assert.equal(res.stdout, 'ok created\nalso-ok created\n');
    assert.match(res.stderr, /2-broken\.json: .*is not valid JSON/);
    assert.match(res.stderr, /3-invalid\.json: .*container\.ports\[0\]\.container_port/);
    assert.match(res.stderr, /4-nameless\.json: not a process spec: it needs a process_name/);
    assert.match(res.stderr, /5-dup\.json: process ok is already applied from .*1-ok\.json/);
    assert.match(res.stderr, /4 specs or prunes failed; the other 2 were applied/);
    assert.deepEqual([...runtime.processes.keys()].sort(), ['also-ok', 'ok']);
  });

  it('does not prune when a spec file could not be read: which process it names is not known', async () => {
    await runtime.start(groupedSpec('maybe-wanted', 'team'));
    const dir = await folder({ 'a.json': spec('a'), 'b.json': 'not json' });
    const res = await run(['apply', '-f', dir, '-g', 'team', '--prune']);
    assert.equal(res.code, 1);
    assert.ok(runtime.processes.has('maybe-wanted'));
    assert.match(res.stderr, /not pruning group team/);
  });

  it('-o json and -o yaml print what the server answered for each, as one list', async () => {
    await runtime.start(groupedSpec('gone', 'team'));
    const file = join(await folder({ 'a.json': spec('a', { max_age_minutes: 5 }) }), 'a.json');
    const json = await run(['apply', '-f', file, '-g', 'team', '--prune', '-o', 'json']);
    assert.equal(json.code, 0, json.stderr);
    const results = JSON.parse(json.stdout);
    assert.equal(results.length, 2);
    assert.equal(results[0].process_name, 'a');
    assert.equal(results[0].outcome, 'created');
    assert.match(results[0].spec_digest, /^sha256:[0-9a-f]{64}$/);
    assert.ok(results[0].expires);
    assert.deepEqual(results[1], { process_name: 'gone', group: 'team', outcome: 'pruned' });
    const yaml = await run(['apply', '-f', file, '-g', 'team', '-o', 'yaml']);
    assert.equal(parseYaml(yaml.stdout)[0].outcome, 'unchanged');
  });

  it('sends --validate as fieldValidation: strict (default) refuses an unknown field, warn applies and warns', async () => {
    const file = join(await folder({ 'a.json': spec('a', { colour: 'red' }) }), 'a.json');
    const strict = await run(['apply', '-f', file]);
    assert.equal(strict.code, 1);
    assert.match(strict.stderr, /colour/);
    const warned = await run(['apply', '-f', file, '--validate', 'warn']);
    assert.equal(warned.code, 0, warned.stderr);
    assert.equal(warned.stdout, 'a created\n');
    assert.match(warned.stderr, /hpctl: warning: .*a\.json: colour: /);
  });

  it('reads a spec from standard input with -f -', async () => {
    const res = await run(['apply', '-f', '-'], { stdin: JSON.stringify(spec('piped')) });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, 'piped created\n');
  });

  it('tells a person at a terminal what the server refused, in sentences', async () => {
    const file = join(await folder({ 'a.json': spec('a', { container: { image_uri: 'Bad Image' } }) }), 'a.json');
    const res = await run(['apply', '-f', file], { terminal: true });
    assert.equal(res.code, 1);
    assert.match(res.stderr, /container\.image_uri: must be an image reference/);
    assert.doesNotMatch(res.stderr, /^\{/m);
  });

  it('stops at once when the server cannot be reached, saying how to point at it', async () => {
    const file = join(await folder({ 'a.json': spec('a'), 'b.json': spec('b') }), 'a.json');
    let stderr = '';
    const code = await main(['-s', '127.0.0.1:1', 'apply', '-f', file], { stdout: () => {}, stderr: (t) => void (stderr += t), env: {} });
    assert.equal(code, 1);
    assert.match(stderr, /cannot reach the Hydroplane server/);
  });
});

function groupedSpec(name: string, group: string) {
  return { process_name: name, group, has_public_ip: false, container: { image_uri: 'nginx', ports: [], env: [] } };
}
