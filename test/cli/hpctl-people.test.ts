// hpctl for people: list as a table, start of several files or a folder, start --wait, logs.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { largestUnitAge, main, table, timeLeft, type Io } from '../../src/cli/hpctl.ts';
import { buildApp } from '../../src/server/app.ts';
import type { ProcessInfo } from '../../src/spec/process-info.ts';
import type { ProcessSpec } from '../../src/spec/process-spec.ts';
import { FakeRuntime } from '../support/fake-runtime.ts';
import { runHpctl } from '../support/hpctl.ts';

const NOW = Date.parse('2026-11-27T12:00:00Z');

describe('hpctl for people', () => {
  const runtime = new FakeRuntime();
  let server = '';
  let dir = '';
  let close: () => Promise<void>;
  /** What the next start leaves the process as, and what it `becomes` after `after` ms. */
  let startAs: { status: ProcessInfo['status']; becomes?: Partial<ProcessInfo>; after?: number } | undefined;

  before(async () => {
    const start = runtime.start.bind(runtime);
    runtime.start = async (spec: ProcessSpec) => {
      const info = await start(spec);
      if (!startAs) return info;
      const { status, becomes, after: ms } = startAs;
      const starting = { ...info, status };
      runtime.processes.set(info.process_name, starting);
      if (becomes) setTimeout(() => runtime.processes.set(info.process_name, { ...starting, ...becomes }), ms ?? 50);
      return starting;
    };
    const app = await buildApp({ runtime, logger: false, dashboard: false, waitPollMs: 10 });
    await app.listen({ host: '127.0.0.1', port: 0 });
    server = `127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    close = () => app.close();
    dir = await mkdtemp(join(tmpdir(), 'hpctl-people-'));
  });
  after(() => close());
  beforeEach(() => {
    runtime.processes.clear();
    runtime.logLines.clear();
    startAs = undefined;
  });

  const run = (argv: string[], io: Partial<Io> = {}) => runHpctl(server, argv, { io });

  const specFile = async (file: string, spec: unknown) => {
    const path = join(dir, file);
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, typeof spec === 'string' ? spec : JSON.stringify(spec));
    return path;
  };
  const spec = (name: string, extra: Record<string, unknown> = {}) => ({ process_name: name, container: { image_uri: 'nginx' }, ...extra });

  describe('list -o table', () => {
    it('prints NAME, GROUP, STATUS, ADDRESSES and AGE in lined-up columns', async () => {
      const put = (info: Partial<ProcessInfo> & { process_name: string }) =>
        runtime.processes.set(info.process_name, {
          group: null,
          socket_addresses: [],
          created: new Date(NOW).toISOString(),
          status: 'RUNNING',
          ...info,
        });
      put({
        process_name: 'web',
        group: 'demo',
        created: '2026-11-27T11:57:00Z',
        socket_addresses: [{ host: '127.0.0.1', port: 8080, is_public: false }],
      });
      put({
        process_name: 'api-server',
        created: '2026-11-27T09:30:00Z',
        socket_addresses: [
          { host: '203.0.113.11', port: 30080, is_public: true },
          { host: '203.0.113.11', port: 30443, is_public: true },
        ],
      });
      put({ process_name: 'job', group: 'batch', created: '2026-11-23T08:00:00Z', status: 'EXITED', exit_code: 2 });
      put({ process_name: 'new', created: '2026-11-27T11:59:55Z', status: 'STARTING' });

      const res = await run(['list', '-o', 'table'], { now: () => NOW });
      assert.equal(res.code, 0, res.stderr);
      assert.equal(
        res.stdout,
        [
          'NAME         GROUP   STATUS      ADDRESSES                               AGE',
          'web          demo    RUNNING     127.0.0.1:8080                          3m',
          'api-server   -       RUNNING     203.0.113.11:30080,203.0.113.11:30443   2h',
          'job          batch   EXITED(2)   -                                       4d',
          'new          -       STARTING    -                                       5s',
          '',
        ].join('\n'),
      );
      const groups = await run(['list', '-g', 'demo', '-o', 'table'], { now: () => NOW });
      assert.equal(groups.stdout.trimEnd().split('\n').length, 2);
    });

    it('keeps JSON as the default and for -o json, and refuses other formats', async () => {
      runtime.processes.set('web', {
        process_name: 'web',
        group: null,
        socket_addresses: [],
        created: new Date(NOW).toISOString(),
        status: 'RUNNING',
      });
      const plain = await run(['list']);
      const json = await run(['list', '-o', 'json']);
      assert.equal(plain.stdout, json.stdout);
      assert.equal(JSON.parse(json.stdout)[0].process_name, 'web');
      const bad = await run(['list', '-o', 'xml']);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /expected one of json, yaml, table, wide/);
    });

    it('prints only the header when there is nothing', async () => {
      assert.equal((await run(['list', '-o', 'table'])).stdout, 'NAME   GROUP   STATUS   ADDRESSES   AGE\n');
    });

    it('says ages in the largest whole unit', () => {
      const at = (seconds: number) => largestUnitAge(new Date(NOW - seconds * 1000).toISOString(), NOW);
      assert.deepEqual(
        [at(0), at(59), at(60), at(3599), at(3600), at(86399), at(86400), at(10 * 86400), at(-30)],
        ['0s', '59s', '1m', '59m', '1h', '23h', '1d', '10d', '0s'],
      );
      assert.match(table([], NOW), /^NAME/);
    });
  });

  describe('start of several spec files', () => {
    it('starts each, reports each, prints the started ones, and exits 1 when one failed', async () => {
      const a = await specFile('multi/a.json', spec('a'));
      const broken = await specFile('multi/broken.json', '{"process_name": ');
      const invalid = await specFile('multi/invalid.json', spec('Not_A_Name'));
      const b = await specFile('multi/b.json', spec('b'));
      const res = await run(['start', a, broken, invalid, b]);
      assert.equal(res.code, 1);
      assert.deepEqual(
        JSON.parse(res.stdout).map((p: ProcessInfo) => p.process_name),
        ['a', 'b'],
      );
      assert.deepEqual([...runtime.processes.keys()].sort(), ['a', 'b']);
      const lines = res.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 5, res.stderr);
      assert.equal(lines[0], `${a}: started a (RUNNING)`);
      assert.match(lines[1]!, /broken\.json: .*broken\.json is not valid JSON/);
      assert.match(lines[2]!, /invalid\.json: \{"error":422,.*process_name/);
      assert.equal(lines[3], `${b}: started b (RUNNING)`);
      assert.equal(lines[4], 'hpctl: 2 of 4 spec files failed');
      assert.doesNotMatch(res.stderr, /\n\s+at /, 'no stack trace without -d');
    });

    it('starts every *.json of a folder, in name order, and exits 0 when all started', async () => {
      await specFile('folder/2-second.json', spec('second'));
      await specFile('folder/1-first.json', spec('first'));
      await specFile('folder/notes.txt', 'not a spec');
      const res = await run(['start', join(dir, 'folder')]);
      assert.equal(res.code, 0, res.stderr);
      assert.deepEqual(
        JSON.parse(res.stdout).map((p: ProcessInfo) => p.process_name),
        ['first', 'second'],
      );
      assert.match(res.stderr, /1-first\.json: started first \(RUNNING\)\n.*2-second\.json: started second \(RUNNING\)\n$/);
    });

    it('refuses a folder without spec files', async () => {
      await mkdir(join(dir, 'empty'), { recursive: true });
      const res = await run(['start', join(dir, 'empty')]);
      assert.equal(res.code, 2);
      assert.match(res.stderr, /no \*\.json spec files/);
    });
  });

  describe('start --wait', () => {
    it('returns once the process runs, with progress on stderr, and prints its info', async () => {
      startAs = { status: 'STARTING', becomes: { status: 'RUNNING' }, after: 100 };
      const res = await run(['start', '--wait', await specFile('wait-ok.json', spec('slow'))]);
      assert.equal(res.code, 0, res.stderr);
      assert.equal(JSON.parse(res.stdout).status, 'RUNNING');
      assert.match(res.stderr, /^waiting for slow: STARTING \(\d+s\)\n/);
    });

    it('fails with the exit code when the process exits instead', async () => {
      startAs = { status: 'STARTING', becomes: { status: 'EXITED', exit_code: 3 } };
      const res = await run(['start', '-w', await specFile('wait-exit.json', spec('crash'))]);
      assert.equal(res.code, 1);
      assert.equal(res.stdout, '');
      assert.match(res.stderr, /hpctl: crash exited with code 3 before it ran\n$/);
    });

    it('fails with the reason when the process FAILED', async () => {
      startAs = { status: 'STARTING', becomes: { status: 'FAILED', reason: 'ImagePullBackOff: nginx:nope not found' } };
      const res = await run(['start', '--wait', await specFile('wait-failed.json', spec('pull'))]);
      assert.equal(res.code, 1);
      assert.match(res.stderr, /hpctl: pull FAILED: ImagePullBackOff: nginx:nope not found\n$/);
    });

    it('fails when the process does not run in time', async () => {
      startAs = { status: 'STARTING' };
      const res = await run(['start', '--wait', '--timeout', '0.3', await specFile('wait-slow.json', spec('stuck'))]);
      assert.equal(res.code, 1);
      assert.match(res.stderr, /hpctl: stuck is still STARTING after \d+s \(--timeout 0\.3\)\n$/);
    });

    it('stops waiting on Ctrl-C, leaving the process as it is', async () => {
      startAs = { status: 'STARTING' };
      let interrupt = () => {};
      const onInterrupt = (handler: () => void) => {
        interrupt = handler;
        return () => {};
      };
      const pending = run(['start', '--wait', '--timeout', '30', await specFile('wait-int.json', spec('patient'))], { onInterrupt });
      setTimeout(() => interrupt(), 100);
      const res = await pending;
      assert.equal(res.code, 130);
      assert.match(res.stderr, /stopped waiting; patient was STARTING after \d+s and is left as it is\n$/);
      assert.equal(runtime.processes.get('patient')?.status, 'STARTING');
    });

    it('waits for each of several files and reports the one that did not run', async () => {
      startAs = { status: 'STARTING', becomes: { status: 'EXITED', exit_code: 1 } };
      const res = await run(['start', '--wait', await specFile('w/a.json', spec('wa')), await specFile('w/b.json', spec('wb'))]);
      assert.equal(res.code, 1);
      assert.match(res.stderr, /wa exited with code 1 before it ran\n.*a\.json: did not run \(see above\)\n/);
      assert.match(res.stderr, /hpctl: 2 of 2 spec files failed\n$/);
    });

    it('refuses a timeout that is not a number', async () => {
      assert.equal((await run(['start', '--wait', '--timeout', 'soon', 'x.json'])).code, 2);
    });
  });

  describe('logs', () => {
    const started = async (name: string) => {
      await run(['start', await specFile(`${name}.json`, spec(name))]);
    };

    it('prints the log, with --tail, --since and --timestamps passed to the server', async () => {
      await started('web');
      runtime.setLog('web', 'old\n', new Date(Date.now() - 3_600_000));
      runtime.appendLog('web', 'one\ntwo\n');
      assert.deepEqual(await run(['logs', 'web']), { code: 0, stdout: 'old\none\ntwo\n', stderr: '' });
      assert.equal((await run(['logs', 'web', '--tail', '1'])).stdout, 'two\n');
      assert.equal((await run(['logs', 'web', '--since', '10m'])).stdout, 'one\ntwo\n');
      assert.match((await run(['logs', 'web', '--tail', '1', '--timestamps'])).stdout, /^\S+Z two\n$/);
    });

    it('follows with -f until the process ends', async () => {
      await started('tail');
      runtime.setLog('tail', 'first\n');
      let out = '';
      const pending = main(['-s', server, 'logs', '-f', 'tail'], { stdout: (t) => void (out += t), stderr: () => {}, env: {} });
      while (!out.includes('first')) await new Promise((r) => setTimeout(r, 5));
      runtime.appendLog('tail', 'second\n');
      while (!out.includes('second')) await new Promise((r) => setTimeout(r, 5));
      runtime.exit('tail', 0);
      assert.equal(await pending, 0);
      assert.equal(out, 'first\nsecond\n');
    });

    it('ends a follow on Ctrl-C quietly, and the server lets go of it', async () => {
      await started('ctrlc');
      runtime.setLog('ctrlc', 'hello\n');
      let interrupt = () => {};
      let out = '';
      let err = '';
      const pending = main(['-s', server, 'logs', '-f', 'ctrlc'], {
        stdout: (t) => void (out += t),
        stderr: (t) => void (err += t),
        env: {},
        onInterrupt: (handler) => {
          interrupt = handler;
          return () => {};
        },
      });
      while (!out.includes('hello')) await new Promise((r) => setTimeout(r, 5));
      assert.equal(runtime.openFollows, 1);
      interrupt();
      assert.equal(await pending, 130);
      assert.equal(err, '');
      while (runtime.openFollows > 0) await new Promise((r) => setTimeout(r, 5));
    });

    it('prints the error body for a missing process or a bad --since, and refuses a bad --tail', async () => {
      const missing = await run(['logs', 'nope']);
      assert.equal(missing.code, 1);
      assert.equal(JSON.parse(missing.stderr).code, 'process_not_found');
      await started('web2');
      const since = await run(['logs', 'web2', '--since', 'yesterday']);
      assert.equal(since.code, 1);
      assert.match(JSON.parse(since.stderr).details, /since: expected an ISO 8601 date-time/);
      assert.equal((await run(['logs', 'web2', '--tail', '-3'])).code, 2);
    });
  });
});

describe('the EXPIRES column', () => {
  const NOW = Date.parse('2026-12-01T00:00:00Z');
  const proc = (name: string, expires?: string): ProcessInfo => ({
    process_name: name,
    group: null,
    socket_addresses: [],
    created: new Date(NOW - 60_000).toISOString(),
    status: 'RUNNING',
    ...(expires === undefined ? {} : { expires }),
  });

  it('shows how long is left when some process has an expiry, and is absent otherwise', () => {
    const rows = table(
      [proc('brief', new Date(NOW + 4 * 60_000 + 5_000).toISOString()), proc('due', new Date(NOW - 1).toISOString()), proc('forever')],
      NOW,
    )
      .trimEnd()
      .split('\n');
    assert.match(rows[0]!, /^NAME +GROUP +STATUS +ADDRESSES +AGE +EXPIRES$/);
    assert.match(rows[1]!, /^brief .* 1m +in 4m$/);
    assert.match(rows[2]!, /^due .* due$/);
    assert.match(rows[3]!, /^forever .* -$/);
    assert.match(table([proc('forever')], NOW), /^NAME +GROUP +STATUS +ADDRESSES +AGE\n/);
  });

  it('shows the time itself with -o wide, for every listing', () => {
    const expires = new Date(NOW + 3_600_000).toISOString();
    const rows = table([proc('brief', expires), proc('forever')], NOW, { wide: true }).split('\n');
    assert.match(rows[0]!, /^NAME +GROUP +STATUS +ADDRESSES +AGE +CREATED +EXPIRES +REASON$/);
    assert.ok(rows[1]!.includes(expires), rows[1]);
    assert.match(table([proc('forever')], NOW, { wide: true }), /EXPIRES/);
  });

  it('says how long is left in the largest whole unit', () => {
    const left = (ms: number) => timeLeft(new Date(NOW + ms).toISOString(), NOW);
    assert.deepEqual(
      [left(1000), left(90_000), left(3 * 3_600_000), left(0), left(-5), timeLeft(undefined, NOW)],
      ['in 1s', 'in 1m', 'in 3h', 'due', 'due', '-'],
    );
  });
});
