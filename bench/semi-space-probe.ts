// The server's memory, list time and cold start under V8's young-generation settings, on either
// runtime: for each size, round by round, one server per setting (the order alternating), each
// timed from spawn to its first 200 on /health, its memory read from inside
// (bench/lib/memory-report.ts) 1 s after that and again after the lists (2 unmeasured, then
// --lists whole lists and as many group lists, alternated, each --concurrency at once, their p50),
// and with --settle=S1,S2... again after S1, S2... seconds idle.
//
//   node bench/semi-space-probe.ts docker [--sizes=100,500,1000] [--rounds=3] [--lists=20] \
//     [--settings=,--max-semi-space-size=8,...] [--settle=10,30] [--concurrency=1] [--gc] [--keep] [--out=FILE.jsonl]
//   node bench/semi-space-probe.ts kubernetes [...the same]
//   node bench/semi-space-probe.ts clean          # the Docker containers and network it made
//
// A setting is the server's Node options, space-separated ('' for none). Each setting has its own
// compile-cache folder (XDG_CACHE_HOME), filled by one unmeasured start, so that every measured
// start finds its code cached, as a user's second start does, whatever flags change V8's cache
// key. Docker: the containers are made raw with Hydroplane's labels and the name prefix below (16
// in flight) on the local Engine, in a network of their own, and removed at the end unless
// --keep. Kubernetes: the test stand-in in this process, filled with Deployments.
import { AppsV1Api, KubeConfig } from '@kubernetes/client-node';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { containerCreateOptions } from '../src/runtimes/docker/container-options.ts';
import { deploymentManifest } from '../src/runtimes/kubernetes/manifests.ts';
import { ProcessSpec } from '../src/spec/process-spec.ts';
import { startKubeStandin } from '../test/support/kube-standin/index.ts';
import { HYDROPLANE_BIN, IMAGE, removeProbeContainers } from './lib/harness.ts';
import type { MemoryReport } from './lib/memory-report.ts';
import { startReportingServer } from './lib/reporting-server.ts';
import { median, pool, sleep } from './lib/stats.ts';

const PREFIX = 'hp-semispace-';
const NETWORK = `${PREFIX}net`;
const GROUP = `${PREFIX}g`;

const [command = 'docker', ...rest] = process.argv.slice(2);
const option = (name: string, fallback: string) => rest.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const sizes = option('sizes', '100,500,1000').split(',').map(Number);
const rounds = Number(option('rounds', '3'));
const lists = Number(option('lists', '20'));
const settle = option('settle', '').split(',').filter(Boolean).map(Number);
const settings = option(
  'settings',
  ',--max-semi-space-size=1,--max-semi-space-size=2,--max-semi-space-size=4,--max-semi-space-size=8,--max-semi-space-size=16',
).split(',');
const bin = option('bin', HYDROPLANE_BIN);
const out = option('out', '');
const concurrency = Number(option('concurrency', '1'));
const keep = rest.includes('--keep');
const fullGc = rest.includes('--gc');

interface Fill {
  /** Makes the processes up to `count`. */
  to(count: number): Promise<void>;
  runtime: Record<string, unknown>;
  close(): Promise<void>;
}

async function dockerFill(): Promise<Fill> {
  const docker = new Dockerode();
  await docker.createNetwork({ Name: NETWORK, Driver: 'bridge', CheckDuplicate: true }).catch((err: { statusCode?: number }) => {
    if (err.statusCode !== 409) throw err;
  });
  return {
    runtime: { runtime_type: 'docker', network: NETWORK, stop_grace_seconds: 0 },
    async to(count) {
      const present = (await docker.listContainers({ all: true, filters: { name: [PREFIX] } })).length;
      const names = Array.from({ length: Math.max(0, count - present) }, (_, i) => `${PREFIX}s${present + i}`);
      await pool(names, 16, async (name) => {
        const spec = ProcessSpec.parse({ process_name: name, group: GROUP, container: { image_uri: IMAGE, command: ['sleep', '36000'] } });
        const container = await docker.createContainer(containerCreateOptions(spec, new Map(), { network: NETWORK }));
        await container.start();
      });
    },
    close: () => (keep ? Promise.resolve() : cleanDocker()),
  };
}

async function cleanDocker(): Promise<void> {
  console.log(`${await removeProbeContainers(new Dockerode(), PREFIX, NETWORK)} containers removed`);
}

async function kubernetesFill(): Promise<Fill> {
  const standin = await startKubeStandin({ podStartDelayMs: 10 });
  const kc = new KubeConfig();
  kc.loadFromFile(standin.kubeconfigPath);
  const apps = kc.makeApiClient(AppsV1Api);
  let present = 0;
  return {
    runtime: { runtime_type: 'kubernetes', kubeconfig: standin.kubeconfigPath, namespace: 'default' },
    async to(count) {
      const names = Array.from({ length: Math.max(0, count - present) }, (_, i) => `p${present + i}`);
      await pool(names, 16, (name) =>
        apps.createNamespacedDeployment({
          namespace: 'default',
          body: deploymentManifest(
            ProcessSpec.parse({ process_name: name, group: GROUP, container: { image_uri: 'busybox', command: ['sleep', '3600'] } }),
            'default',
          ),
        }),
      );
      present = Math.max(present, count);
      await standin.controls.settle();
    },
    close: () => standin.close(),
  };
}

const dir = mkdtempSync(join(tmpdir(), 'hp-semispace-'));
const mb = (bytes: number) => bytes / 1e6;

interface Run {
  runtime: string;
  size: number;
  setting: string;
  round: number;
  coldMs: number;
  /** How many processes the whole list answered (on Docker, other users' Hydroplane containers too). */
  listed: number;
  listP50: number;
  idle: MemoryReport;
  after: MemoryReport;
  /** With --settle: the memory again after each number of seconds idle. */
  settled: { seconds: number; report: MemoryReport }[];
  afterGc?: MemoryReport;
}

async function runServer(fill: Fill, setting: string, measure: boolean): Promise<Omit<Run, 'runtime' | 'size' | 'round'> | undefined> {
  const server = await startReportingServer({
    bin,
    runtime: fill.runtime,
    dir,
    nodeArgs: setting.split(' ').filter(Boolean),
    env: { XDG_CACHE_HOME: join(dir, `cache-${settings.indexOf(setting)}`) },
  });
  const url = server.url;
  try {
    const coldMs = server.readyMs;
    if (!measure) return undefined;
    await sleep(1000);
    const idle = await server.memory();
    const list = async (path: string) => {
      const answer = await fetch(url + path);
      const body = (await answer.json()) as unknown[];
      if (!answer.ok || !Array.isArray(body)) throw new Error(`${path}: ${answer.status}, ${JSON.stringify(body).slice(0, 200)}`);
      return body.length;
    };
    const paths = ['/process', `/group/${GROUP}`];
    let listed = 0;
    for (const path of paths) listed = Math.max(listed, await list(path));
    const times: number[] = [];
    const timedList = async (path: string) => {
      const t0 = performance.now();
      await list(path);
      times.push(performance.now() - t0);
    };
    for (let i = 0; i < lists; i++) {
      for (const path of i % 2 === 0 ? paths : [...paths].reverse()) {
        await Promise.all(Array.from({ length: concurrency }, () => timedList(path)));
      }
    }
    const after = await server.memory();
    // V8's memory reducer, which runs once the server is idle, is what a server left alone gets.
    const settled: { seconds: number; report: MemoryReport }[] = [];
    for (const seconds of settle) {
      await sleep((seconds - (settled.at(-1)?.seconds ?? 0)) * 1000);
      settled.push({ seconds, report: await server.memory() });
    }
    // --gc: and after a full GC, where the server has one (a setting with --expose-gc, or an --import that sets globalThis.gc).
    const afterGc = fullGc ? await server.memory({ gc: true }) : undefined;
    return { setting, coldMs, listed, listP50: median(times), idle, after, settled, ...(afterGc ? { afterGc } : {}) };
  } finally {
    await server.stop();
  }
}

const span = (xs: number[], digits = 1) =>
  `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}-${Math.max(...xs).toFixed(digits)})`;

function summary(runs: Run[]): void {
  console.log(`\n${command}: median (min-max) over ${rounds} rounds; MB; ms`);
  console.log(
    'size | setting | idle RSS | after − idle | settled − idle | list p50 | cold start | new space idle → after | old space idle → after',
  );
  for (const size of sizes) {
    for (const setting of settings) {
      const rs = runs.filter((r) => r.size === size && r.setting === setting);
      if (rs.length === 0) continue;
      const space = (r: MemoryReport, name: string) => mb(r.spaces[name]?.size ?? 0);
      console.log(
        [
          size,
          setting || '(unset)',
          span(rs.map((r) => mb(r.idle.rss))),
          span(rs.map((r) => mb(r.after.rss - r.idle.rss))),
          settle.map((seconds, i) => `+${seconds} s: ${span(rs.map((r) => mb(r.settled[i]!.report.rss - r.idle.rss)))}`).join(', '),
          span(rs.map((r) => r.listP50)),
          span(
            rs.map((r) => r.coldMs),
            0,
          ),
          `${span(rs.map((r) => space(r.idle, 'new_space')))} → ${span(rs.map((r) => space(r.after, 'new_space')))}`,
          `${span(rs.map((r) => space(r.idle, 'old_space')))} → ${span(rs.map((r) => space(r.after, 'old_space')))}`,
        ].join(' | '),
      );
    }
  }
}

if (command === 'clean') {
  await cleanDocker();
} else {
  const fill = command === 'kubernetes' ? await kubernetesFill() : await dockerFill();
  const runs: Run[] = [];
  try {
    await fill.to(1);
    for (const setting of settings) await runServer(fill, setting, false);
    for (const size of sizes) {
      const t0 = performance.now();
      await fill.to(size);
      console.log(`${size} processes (${((performance.now() - t0) / 1000).toFixed(0)} s to make)`);
      for (let round = 0; round < rounds; round++) {
        const order = round % 2 === 0 ? settings : [...settings].reverse();
        for (const setting of order) {
          const r = { runtime: command, size, round, ...(await runServer(fill, setting, true))! };
          runs.push(r);
          if (out) appendFileSync(out, `${JSON.stringify(r)}\n`);
          const ns = (m: MemoryReport) => mb(m.spaces['new_space']?.size ?? 0).toFixed(1);
          console.log(
            `  round ${round} ${setting || '(unset)'} (${r.listed} listed): cold ${r.coldMs.toFixed(0)} ms, idle ${mb(r.idle.rss).toFixed(1)} MB, ` +
              `after +${mb(r.after.rss - r.idle.rss).toFixed(1)}` +
              r.settled
                .map((s) => `, +${s.seconds} s idle: +${mb(s.report.rss - r.idle.rss).toFixed(1)} (new space ${ns(s.report)})`)
                .join('') +
              (r.afterGc ? `, after a full GC +${mb(r.afterGc.rss - r.idle.rss).toFixed(1)} (new space ${ns(r.afterGc)})` : '') +
              ` MB, list p50 ${r.listP50.toFixed(1)} ms, new space ${ns(r.idle)} → ${ns(r.after)} MB, load ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]}`,
          );
        }
      }
    }
  } finally {
    summary(runs);
    await fill.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
