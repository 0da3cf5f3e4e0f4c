// The benchmark's smoke mode still works: it runs every scenario at the smallest sizes, prints the
// table, exits 0 and leaves nothing behind, on the Engine or as a process, also when interrupted.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import Dockerode from 'dockerode';
import { dockerSkip } from '../support/docker.ts';
import { RUN_MARKER } from '../../bench/lib/harness.ts';
import { ROOT } from '../support/server-process.ts';

describe('npm run bench -- --smoke', { skip: await dockerSkip() }, () => {
  it('prints the table, exits 0 and cleans up', { timeout: 180_000 }, async () => {
    const { code, stdout, stderr } = await runBench();
    assert.equal(code, 0, `exit code ${code}\n${stderr}\n${stdout}`);

    assert.match(
      stdout,
      /^Engine: (Docker Engine \S+ \(API|Podman \S+ \(Docker API) \d+\.\d+\) at \S+/m,
      'the table names the Engine it measured',
    );
    assert.match(stdout, /^\| scenario +\| raw +\| hydroplane +\| ratio +\| target +\| result +\| cv +\|$/m);
    for (const scenario of [
      'sequential start',
      'concurrent starts',
      'group stop',
      'list during a burst',
      'list at',
      'Engine calls per list',
      'cold start',
      'RSS idle',
      'fastify alone',
      'hung runtime',
      'Kubernetes API calls per list',
      'Kubernetes API calls per get',
      'Kubernetes API calls per start',
      'Kubernetes API calls per stop',
      'bin/hpctl list',
      'bin/hydroplane: spawn',
      'npx hpctl list',
      'Docker: list at 4 processes',
      'Docker: group list of 4',
      'Docker: get with 4 present',
      'Docker: server RSS after the lists at 4',
      'Docker: start with 4 present',
      'Docker: stop with 4 present',
      "Docker: the culler's pass over 4",
      'Docker: /metrics answer with 4 present',
      'Docker: group stop of 4',
      'dashboard with 4 rows',
      'Kubernetes stand-in: list at 4 processes',
      'Kubernetes stand-in: group stop of 4',
    ]) {
      assert.match(stdout, new RegExp(`^\\| [^|]*${scenario}`, 'm'), `no row for '${scenario}'`);
    }
    assert.doesNotMatch(stdout, /\*\*error\*\*/, 'a scenario failed');
    assert.match(stdout, /^SMOKE run/m);

    await assertNothingLeft(stderr);
  });

  for (const [scenario, progress] of [
    ['sequential starts', /sequential starts/],
    ['cold starts', /cold start 1\//],
  ] as const) {
    // The run goes through the scenarios before this one first: minutes on a machine that other work loads.
    it(`cleans up when interrupted in the middle of a scenario (${scenario})`, { timeout: 300_000 }, async () => {
      const { code, stderr } = await runBench((child, line) => {
        if (progress.test(line)) child.kill('SIGINT');
      });
      assert.equal(code, 130, stderr);
      assert.match(stderr, /SIGINT: cleaning up/);
      await assertNothingLeft(stderr);
    });
  }
});

async function runBench(
  onProgress?: (child: ChildProcess, progress: string) => void,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['bench/run.ts', '--smoke'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => {
    stderr += d;
    onProgress?.(child, String(d));
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  return { code, stdout, stderr };
}

/** The processes still running with the run's marker in their environment (servers it started). */
function strayProcesses(runId: string): string[] {
  const strays: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(`${RUN_MARKER}=${runId}`)) {
        strays.push(`${pid}: ${readFileSync(`/proc/${pid}/cmdline`, 'latin1').replaceAll('\0', ' ').slice(0, 120)}`);
      }
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return strays;
}

async function assertNothingLeft(progress: string): Promise<void> {
  const [, prefix, runId] = /names and network (hp-bench-([0-9a-f]+)-)/.exec(progress) ?? [];
  assert.ok(prefix && runId, `no run prefix in the progress output:\n${progress}`);
  assert.deepEqual(strayProcesses(runId), [], 'processes left behind');
  const docker = new Dockerode();
  assert.deepEqual(await docker.listContainers({ all: true, filters: { name: [prefix] } }), [], 'containers left behind');
  // Docker 20.10 may refuse to remove an empty network whose endpoint count it did not bring down
  // after concurrent removals ("has active endpoints"); the bench did its part if nothing is on it.
  for (const network of await docker.listNetworks({ filters: { name: [prefix] } })) {
    const inspected = (await docker.getNetwork(network.Id).inspect()) as { Containers?: Record<string, unknown> };
    assert.deepEqual(Object.keys(inspected.Containers ?? {}), [], `containers left on the network ${network.Name}`);
  }
}
