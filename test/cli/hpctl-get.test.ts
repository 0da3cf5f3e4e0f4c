// hpctl as people use docker and kubectl: get (describe) one process, -o json|yaml|table|wide in
// any case wherever -o is, stop several at once, a spec from standard input, and a --timeout that
// means nothing without --wait refused. Against a real server over a socket, with the fake runtime.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { parse as parseYaml } from 'yaml';
import { safeYaml } from '../../src/cli/terminal-text.ts';
import { buildApp } from '../../src/server/app.ts';
import type { ProcessInfo } from '../../src/spec/process-info.ts';
import { FakeRuntime } from '../support/fake-runtime.ts';
import { runHpctl } from '../support/hpctl.ts';

/** Characters that must never reach a terminal raw (as hpctl's other output). */
const UNSAFE = /(?![\u200c\u200d])[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;

describe('hpctl get, -o, stop A B C, start -', () => {
  const runtime = new FakeRuntime();
  let server = '';
  let close: () => Promise<void>;

  const run = (argv: string[], stdin?: string) => runHpctl(server, argv, stdin === undefined ? {} : { stdin });
  const spec = (name: string, group = 'g') => ({
    process_name: name,
    group,
    container: { image_uri: 'nginx', ports: [{ container_port: 80 }] },
  });

  before(async () => {
    const app = await buildApp({ runtime, logger: false, dashboard: false });
    await app.listen({ host: '127.0.0.1', port: 0 });
    server = `127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    close = () => app.close();
  });
  after(() => close());

  it('start - reads the spec from standard input, once', async () => {
    const started = await run(['start', '-'], JSON.stringify(spec('from-stdin')));
    assert.equal(started.code, 0, started.stderr);
    assert.equal((JSON.parse(started.stdout) as ProcessInfo).process_name, 'from-stdin');
    const bad = await run(['start', '-'], '{"process_name": ');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^hpctl: standard input is not valid JSON/);
    const twice = await run(['start', '-', '-'], '{}');
    assert.equal(twice.code, 2);
    assert.match(twice.stderr, /standard input \(-\) can be read only once/);
  });

  it('get (and describe) shows one process as json, yaml, table or wide, -o in any case', async () => {
    await run(['start', '-'], JSON.stringify(spec('shown')));
    const listed = (JSON.parse((await run(['list'])).stdout) as ProcessInfo[]).find((p) => p.process_name === 'shown');
    for (const command of ['get', 'describe']) {
      const json = await run([command, 'shown']);
      assert.equal(json.code, 0, json.stderr);
      assert.deepEqual(JSON.parse(json.stdout), listed);
      const yaml = await run([command, 'shown', '-o', 'YAML']);
      assert.equal(yaml.code, 0, yaml.stderr);
      assert.deepEqual(parseYaml(yaml.stdout), listed);
    }
    const tableOut = (await run(['get', 'shown', '-o', 'Table'])).stdout.split('\n').filter(Boolean);
    assert.equal(tableOut.length, 2, tableOut.join('\n'));
    assert.match(tableOut[0]!, /^NAME +GROUP +STATUS +ADDRESSES +AGE$/);
    assert.match(tableOut[1]!, /^shown +g +RUNNING +/);
    const wide = (await run(['get', 'shown', '-o', 'wide'])).stdout.split('\n').filter(Boolean);
    assert.match(wide[0]!, /^NAME +GROUP +STATUS +ADDRESSES +AGE +CREATED +EXPIRES +REASON$/);
    assert.ok(wide[1]!.includes(listed!.created), wide[1]);
    assert.match(wide[1]!, /\((public|private)\)/);
  });

  it('list takes the same -o, and any other format is a usage error naming the formats', async () => {
    const yaml = await run(['list', '-g', 'g', '-o', 'yaml']);
    assert.equal(yaml.code, 0, yaml.stderr);
    assert.deepEqual(parseYaml(yaml.stdout), JSON.parse((await run(['list', '-g', 'g'])).stdout));
    assert.match((await run(['list', '-o', 'WIDE'])).stdout, /^NAME +GROUP +STATUS +ADDRESSES +AGE +CREATED +EXPIRES +REASON\n/);
    for (const argv of [
      ['list', '-o', 'xml'],
      ['get', 'shown', '-o', 'jsonl'],
    ]) {
      const refused = await run(argv);
      assert.equal(refused.code, 2, refused.stdout);
      assert.match(refused.stderr, /expected one of json, yaml, table, wide/);
    }
  });

  it('get of a missing process exits 1 with the server error', async () => {
    const missing = await run(['get', 'nobody']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no process named 'nobody'/);
  });

  it('stop A B C stops each, reports the ones it could not, and exits 1 if any failed', async () => {
    for (const name of ['s1', 's2', 's3']) await run(['start', '-'], JSON.stringify(spec(name, 'stops')));
    const all = await run(['stop', 's1', 's2']);
    assert.equal(all.code, 0, all.stderr);
    assert.deepEqual(JSON.parse(all.stdout), { stopped: ['s1', 's2'] });
    const some = await run(['stop', 'nobody', 's3', 'nobody-else']);
    assert.equal(some.code, 1);
    assert.deepEqual(JSON.parse(some.stdout), { stopped: ['s3'] });
    assert.match(some.stderr, /^nobody: .*no process named 'nobody'/m);
    assert.match(some.stderr, /^nobody-else: /m);
    assert.match(some.stderr, /hpctl: 2 of 3 processes could not be stopped/);
    assert.deepEqual(JSON.parse((await run(['list', '-g', 'stops'])).stdout), []);
    const neither = await run(['stop']);
    assert.equal(neither.code, 2);
    const both = await run(['stop', 'a', '-g', 'g']);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /give one or more process names, or -g GROUP/);
  });

  it('refuses --timeout without --wait, before reading any spec', async () => {
    const refused = await run(['start', '--timeout', '5', 'no-such-file.json']);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /--timeout is how long --wait waits: give --wait too/);
  });
});

describe('safeYaml', () => {
  it('reads back as the same value, and holds no character that could steer a terminal', () => {
    const text = fc.string({ unit: 'binary', maxLength: 40 });
    const value = fc.dictionary(
      fc.constantFrom('process_name', 'group', 'reason', 'created'),
      fc.oneof(text, fc.array(text, { maxLength: 3 }), fc.integer(), fc.constant(null)),
      { noNullPrototype: true },
    );
    fc.assert(
      fc.property(value, (v) => {
        const yaml = safeYaml(v);
        assert.ok(!UNSAFE.test(yaml.replace(/\n/g, '')), JSON.stringify(yaml));
        assert.deepEqual(parseYaml(yaml), v);
      }),
      { numRuns: 500 },
    );
  });
});
