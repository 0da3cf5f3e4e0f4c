// The Docker list at one size, narrower than `--scale`: Hydroplane's GET /process against the raw
// label-filtered GET /containers/json, alternated call by call, with one or more builds of the
// server alternated round by round, and each server's memory before and after the lists.
//
//   node bench/list-probe.ts fill 500            # 500 processes made raw (16 in flight), left running
//   node bench/list-probe.ts measure [--rounds=4] [--calls=20] [--cpu-prof=DIR] [--env=K=V] BIN...
//   node bench/list-probe.ts public              # one more, with a port published on 0.0.0.0
//   node bench/list-probe.ts inproc [--rounds=4] [--calls=20]  # the runtime's list in this process, no server
//   node bench/list-probe.ts clean               # removes them and the network
//
// BIN is a dist/cli/hydroplane.js (this checkout's by default). The containers carry the name
// prefix below; `clean` finds them by it.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBareHopChild } from './lib/bare-hop-child.ts';
import Dockerode from 'dockerode';
import { HydroplaneClient } from '../src/client.ts';
import { DockerRuntimeConfig } from '../src/config/schema.ts';
import { DockerRuntime } from '../src/runtimes/docker/docker-runtime.ts';
import { MemorySecretStore } from '../test/support/memory-secret-store.ts';
import { PROCESS_LABEL } from '../src/labels.ts';
import { containerCreateOptions } from '../src/runtimes/docker/container-options.ts';
import { ProcessSpec } from '../src/spec/process-spec.ts';
import { freePort } from '../test/support/net.ts';
import { HYDROPLANE_BIN, IMAGE, removeProbeContainers } from './lib/harness.ts';
import type { MemoryReport } from './lib/memory-report.ts';
import { startReportingServer } from './lib/reporting-server.ts';
import { cv, median, pool, sleep, timed } from './lib/stats.ts';

const PREFIX = 'hp-listprobe-';
const NETWORK = `${PREFIX}net`;
const GROUP = `${PREFIX}g`;
const docker = new Dockerode();

const [command = 'measure', ...rest] = process.argv.slice(2);
const flags = new Map<string, string[]>();
const positional: string[] = [];
for (const arg of rest) {
  const m = /^--([^=]+)(?:=(.*))?$/.exec(arg);
  if (m) flags.set(m[1]!, [...(flags.get(m[1]!) ?? []), m[2] ?? '']);
  else positional.push(arg);
}
const flag = (name: string, fallback: string) => flags.get(name)?.at(-1) ?? fallback;

async function fill(count: number): Promise<void> {
  await docker.createNetwork({ Name: NETWORK, Driver: 'bridge', CheckDuplicate: true }).catch((err: { statusCode?: number }) => {
    if (err.statusCode !== 409) throw err;
  });
  const present = (await docker.listContainers({ all: true, filters: { name: [PREFIX] } })).length;
  const names = Array.from({ length: Math.max(0, count - present) }, (_, i) => `${PREFIX}s${present + i}`);
  const started = performance.now();
  await pool(names, 16, async (name) => {
    const spec = ProcessSpec.parse({ process_name: name, group: GROUP, container: { image_uri: IMAGE, command: ['sleep', '3600'] } });
    const container = await docker.createContainer(containerCreateOptions(spec, new Map(), { network: NETWORK }));
    await container.start();
  });
  console.log(`${names.length} made in ${((performance.now() - started) / 1000).toFixed(1)} s; ${present + names.length} present`);
}

/** One process of the group with a port published on every interface: its list answers name the host's address. */
async function addPublic(): Promise<void> {
  const spec = ProcessSpec.parse({
    process_name: `${PREFIX}public`,
    group: GROUP,
    has_public_ip: true,
    container: { image_uri: IMAGE, command: ['sleep', '3600'], ports: [{ container_port: 8080, host_port: await freePort() }] },
  });
  const container = await docker.createContainer(containerCreateOptions(spec, new Map(), { network: NETWORK }));
  await container.start();
  console.log(`${spec.process_name} made`);
}

async function clean(): Promise<void> {
  console.log(`${await removeProbeContainers(docker, PREFIX, NETWORK)} removed`);
}

/** CPU time (user + system) of a process, in ms, from /proc (clock ticks of 10 ms). */
function cpuMs(pid: number): { user: number; system: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return { user: Number(fields[11]) * 10, system: Number(fields[12]) * 10 };
}

/** RSS and its parts (anonymous, file-backed) from /proc, in MB. */
function procMemory(pid: number): { rss: number; anon: number; file: number } {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? Number.NaN) / 1000;
  return { rss: kb('Rss'), anon: kb('Anonymous'), file: kb('Rss') - kb('Anonymous') };
}

/** The server's memory as it sees it, in MB: V8's heap, buffers, and the resident parts of its young and old generations. */
function inMb({ memory, spaces }: MemoryReport): Record<string, number> {
  const mb = (n: number | undefined) => Math.round((n ?? Number.NaN) / 1e5) / 10;
  return {
    heapUsed: mb(memory.heapUsed),
    heapTotal: mb(memory.heapTotal),
    external: mb(memory.external),
    arrayBuffers: mb(memory.arrayBuffers),
    newResident: mb(spaces['new_space']?.resident),
    oldResident: mb(spaces['old_space']?.resident),
  };
}

async function spawnServer(bin: string, dir: string, cpuProf: string | undefined, env: Record<string, string>) {
  const server = await startReportingServer({
    bin,
    runtime: { runtime_type: 'docker', network: NETWORK, stop_grace_seconds: 0 },
    dir,
    nodeArgs: cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`] : [],
    env,
  });
  return { ...server, client: new HydroplaneClient(server.url), memory: async () => inMb(await server.memory()) };
}

/** bench/lib/bare-hop.ts as a child process, on the default Engine socket. */
const startHop = () => startBareHopChild('/var/run/docker.sock');

async function measure(): Promise<void> {
  const bins = positional.length > 0 ? positional : [HYDROPLANE_BIN];
  const rounds = Number(flag('rounds', '4'));
  const calls = Number(flag('calls', '20'));
  const cpuProf = flags.has('cpu-prof') ? flag('cpu-prof', '') : undefined;
  const env = Object.fromEntries((flags.get('env') ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  // --group: the probe's own group on both sides (GET /process?group=), leaving out other users' processes.
  const group = flags.has('group') ? GROUP : undefined;
  const label = group === undefined ? [PROCESS_LABEL] : [PROCESS_LABEL, `hydroplane/group-id=${group}`];
  const rawList = () => docker.listContainers({ all: true, filters: { label } });
  const hpList = (client: HydroplaneClient) => client.list(group);
  // --hop: a third side, the raw list through a bare Node server that only forwards it (bench/lib/bare-hop.ts).
  const hop = flags.has('hop') ? await startHop() : undefined;
  const query = `all=true&filters=${encodeURIComponent(JSON.stringify({ label }))}`;
  const hopList = async () => {
    const res = await fetch(`${hop!.url}/containers/json?${query}`);
    if (!res.ok) throw new Error(`the bare hop answered ${res.status}`);
    return res.json();
  };
  const dir = mkdtempSync(join(tmpdir(), 'hp-listprobe-'));
  const results = new Map<string, { ratio: number[]; raw: number[]; hp: number[]; rss: number[]; cpu: number[] }>();
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? bins : [...bins].reverse();
    for (const bin of order) {
      const server = await spawnServer(bin, dir, cpuProf, env);
      await sleep(1000);
      const idle = { ...procMemory(server.pid), ...(await server.memory()) };
      const n = (await hpList(server.client)).length;
      await rawList();
      const raw: number[] = [];
      const hp: number[] = [];
      const hopped: number[] = [];
      // CPU: the server's over the lists, this process's over each side's calls.
      const serverCpu0 = cpuMs(server.pid);
      let rawCpu = 0;
      let hpClientCpu = 0;
      const withCpu = async (work: () => Promise<unknown>, add: (us: number) => void) => {
        const c0 = process.cpuUsage();
        const { ms } = await timed(work);
        const c = process.cpuUsage(c0);
        add((c.user + c.system) / 1000);
        return ms;
      };
      for (let i = 0; i < calls; i++) {
        const sides = [
          async () => raw.push(await withCpu(rawList, (ms) => (rawCpu += ms))),
          async () =>
            hp.push(
              await withCpu(
                () => hpList(server.client),
                (ms) => (hpClientCpu += ms),
              ),
            ),
        ];
        if (hop) sides.splice(i % 3, 0, async () => hopped.push((await timed(hopList)).ms));
        if (i % 2 === 1) sides.reverse();
        for (const side of sides) await side();
      }
      const serverCpu1 = cpuMs(server.pid);
      const serverUser = (serverCpu1.user - serverCpu0.user) / calls;
      const serverSystem = (serverCpu1.system - serverCpu0.system) / calls;
      const serverCpu = serverUser + serverSystem;
      const after = { ...procMemory(server.pid), ...(await server.memory()) };
      await server.stop();
      const r = results.get(bin) ?? { ratio: [], raw: [], hp: [], rss: [], cpu: [] };
      results.set(bin, r);
      r.raw.push(median(raw));
      r.hp.push(median(hp));
      r.ratio.push(median(hp) / median(raw));
      r.rss.push(after.rss - idle.rss);
      r.cpu.push(serverCpu);
      const fmt = (m: Record<string, number>) =>
        Object.entries(m)
          .map(([k, v]) => `${k} ${v.toFixed(1)}`)
          .join(', ');
      console.log(
        `round ${round} ${bin} (${n} listed): raw p50 ${median(raw).toFixed(1)} ms (cv ${(cv(raw) * 100).toFixed(0)}%), ` +
          `hydroplane p50 ${median(hp).toFixed(1)} ms (cv ${(cv(hp) * 100).toFixed(0)}%), ratio ${(median(hp) / median(raw)).toFixed(2)}\n` +
          (hop ? `  through the bare hop: p50 ${median(hopped).toFixed(1)} ms (cv ${(cv(hopped) * 100).toFixed(0)}%)\n` : '') +
          `  CPU per list: server ${serverCpu.toFixed(1)} ms (user ${serverUser.toFixed(1)}, system ${serverSystem.toFixed(1)}); here, raw side ${(rawCpu / calls).toFixed(1)} ms, hydroplane side (the client) ${(hpClientCpu / calls).toFixed(1)} ms\n` +
          `  idle:  ${fmt(idle)}\n  after: ${fmt(after)}\n  RSS +${(after.rss - idle.rss).toFixed(1)} MB`,
      );
    }
  }
  hop?.stop();
  for (const [bin, r] of results) {
    const span = (xs: number[], digits = 2) =>
      `${Math.min(...xs).toFixed(digits)}-${Math.max(...xs).toFixed(digits)} (median ${median(xs).toFixed(digits)})`;
    console.log(
      `${bin}: ratio ${span(r.ratio)}; raw ${span(r.raw, 1)} ms; hydroplane ${span(r.hp, 1)} ms; RSS after − idle ${span(r.rss, 1)} MB; server CPU per list ${span(r.cpu, 1)} ms`,
    );
  }
}

/** The runtime's list in this process (no server, no hop) against the raw list, alternated. */
async function inProcess(): Promise<void> {
  const calls = Number(flag('calls', '20'));
  const rounds = Number(flag('rounds', '4'));
  const runtime = new DockerRuntime({
    config: DockerRuntimeConfig.parse({ runtime_type: 'docker', network: NETWORK, stop_grace_seconds: 0 }),
    secrets: new MemorySecretStore(),
  });
  const label = [PROCESS_LABEL, `hydroplane/group-id=${GROUP}`];
  const rawList = () => docker.listContainers({ all: true, filters: { label } });
  await runtime.list({ group: GROUP });
  for (let round = 0; round < rounds; round++) {
    const raw: number[] = [];
    const rt: number[] = [];
    for (let i = 0; i < calls; i++) {
      const sides = [
        async () => raw.push((await timed(rawList)).ms),
        async () => rt.push((await timed(() => runtime.list({ group: GROUP }))).ms),
      ];
      if (i % 2 === 1) sides.reverse();
      for (const side of sides) await side();
    }
    console.log(
      `in process: raw p50 ${median(raw).toFixed(1)} ms, runtime.list p50 ${median(rt).toFixed(1)} ms, ratio ${(median(rt) / median(raw)).toFixed(2)}`,
    );
  }
}

if (command === 'inproc') await inProcess();
else if (command === 'public') await addPublic();
else if (command === 'fill') await fill(Number(positional[0] ?? '500'));
else if (command === 'clean') await clean();
else await measure();
