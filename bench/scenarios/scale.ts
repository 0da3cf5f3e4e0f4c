// Hydroplane's cost as the number of processes grows (issue 17): at each size (100, 500 and 1,000
// by default), on Docker and on the Kubernetes stand-in, every figure beside the raw call measured
// in the same run. Processes are made raw, with Hydroplane's labels (to Hydroplane they are its
// own), a bounded number at a time; each size is filled twice, since both sides' group stops need
// all of them present.
import { readdirSync } from 'node:fs';
import { startBareHopChild, startKubeHopChild } from '../lib/bare-hop-child.ts';
import { AppsV1Api, CoreV1Api, KubeConfig, type V1Deployment } from '@kubernetes/client-node';
import { ProcessCuller } from '../../src/culler/process-culler.ts';
import { PROCESS_LABEL, labelSelector } from '../../src/labels.ts';
import { GROUP_CONCURRENCY } from '../../src/runtimes/bounded.ts';
import { DockerRuntime } from '../../src/runtimes/docker/docker-runtime.ts';
import { createRuntime } from '../../src/runtimes/index.ts';
import { networkFullness, toEngineError } from '../../src/runtimes/docker/errors.ts';
import { LIST_PAGE, everyPage } from '../../src/runtimes/kubernetes/api-client.ts';
import { deploymentManifest } from '../../src/runtimes/kubernetes/manifests.ts';
import { DockerRuntimeConfig } from '../../src/config/schema.ts';
import { ProcessSpec, type ProcessSpecInput } from '../../src/spec/process-spec.ts';
import { SILENT_LOGGER } from '../../src/runtimes/logger.ts';
import { startKubeStandin } from '../../test/support/kube-standin/index.ts';
import { MemorySecretStore } from '../../test/support/memory-secret-store.ts';
import type { Context } from '../lib/context.ts';
import type { ServerChild } from '../lib/harness.ts';
import { cv, median, pool, sleep, timed } from '../lib/stats.ts';
import { mb, ratioRow, type Row } from '../lib/table.ts';
import { dashboardAtScale } from './dashboard.ts';

/** Creates in flight while filling: the Engine's create+start does not go faster with more (16 or 32: the same). */
const FILL_CONCURRENCY = 16;

/** What one backend offers the scale scenario: the raw calls beside Hydroplane's, and the filling. */
interface Backend {
  /** 'Docker' or 'Kubernetes stand-in', in the rows' names. */
  label: string;
  /** Makes one process raw, with Hydroplane's labels; returns its raw handle (container id, name). */
  make(spec: ProcessSpecInput): Promise<string>;
  /** Why the backend refuses more processes, when `err` says so (a full network); else undefined. */
  limitOf(err: unknown): string | undefined;
  rawList(group?: string): Promise<unknown>;
  /** How many processes of the group the backend holds, asked raw. */
  rawCount(group: string): Promise<number>;
  rawGet(handle: string, name: string): Promise<unknown>;
  /** The same read through a bare Node server that only forwards it (bench/lib/bare-hop.ts), where there is one. */
  hopGet?: (handle: string, name: string) => Promise<unknown>;
  rawStart(spec: ProcessSpecInput): Promise<string>;
  rawStop(handle: string): Promise<void>;
  /** Starts, then stops, timed on each side at each size: a start of a few milliseconds needs more than one of a few hundred. */
  startStops: number;
  /** The raw start and stop through a bare Node server that makes the same call (bench/lib/kube-hop.ts), where there is one. */
  hopStartStop?: { start(spec: ProcessSpecInput): Promise<string>; stop(handle: string): Promise<void> };
  /** One pass of the culler over every process (nothing old enough to stop), in this process. */
  cullerPass(): Promise<unknown>;
}

/** The JSON of a bare hop's answer (undefined for a 204); a failed call throws, as a client's would. */
async function fetchOk(url: string, init?: RequestInit): Promise<unknown> {
  const res = await fetch(url, init);
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${url}: the bare hop answered ${res.status}: ${await res.text()}`);
  return res.status === 204 ? undefined : res.json();
}

/** Reads the server's open descriptors (sockets, files) from /proc. */
function openFds(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return Number.NaN;
  }
}

/** Log follows held open at once to measure what one costs in descriptors. */
const FOLLOWS = 10;

/**
 * What the server holds open per log follow and per concurrent request: its descriptors with
 * FOLLOWS follows open against before, and at the peak of 20 concurrent lists.
 */
async function descriptorCosts(ctx: Context, label: string, server: ServerChild, names: string[]): Promise<void> {
  const before = openFds(server.pid);
  const abort = new AbortController();
  const streams = await Promise.all(names.map((name) => server.client.logs(name, { follow: true }, abort.signal)));
  // Reading keeps each stream flowing; they end when aborted.
  const reading = streams.map(async (stream) => {
    try {
      for await (const _ of stream) {
        // the chunks do not matter here
      }
    } catch {
      // aborted
    }
  });
  await sleep(300);
  const withFollows = openFds(server.pid);
  abort.abort();
  await Promise.all(reading);
  await sleep(300);
  const idle = openFds(server.pid);
  let peak = idle;
  const sampler = setInterval(() => (peak = Math.max(peak, openFds(server.pid))), 2);
  await Promise.all(Array.from({ length: 20 }, () => server.client.list()));
  clearInterval(sampler);
  ctx.notes.push(
    `${label}: descriptors of the server: ${before} at rest; ${withFollows} with ${names.length} log follows open ` +
      `(${((withFollows - before) / names.length).toFixed(1)} per follow: the client's connection and the runtime's); ` +
      `${peak} at the peak of 20 concurrent lists (${((peak - idle) / 20).toFixed(1)} per request in flight)`,
  );
}

/** p50 of `calls` alternating calls of each side, the side going first alternating too. */
async function alternate(calls: number, raw: () => Promise<unknown>, hp: () => Promise<unknown>): Promise<{ raw: number[]; hp: number[] }> {
  const out = { raw: [] as number[], hp: [] as number[] };
  for (let i = 0; i < calls; i++) {
    const sides = [async () => out.raw.push((await timed(raw)).ms), async () => out.hp.push((await timed(hp)).ms)];
    if (i % 2 === 1) sides.reverse();
    for (const side of sides) await side();
  }
  return out;
}

const noise = (a: readonly number[], b: readonly number[]) => Math.max(cv(a), cv(b));

/**
 * Fills `group` up to `count` processes (FILL_CONCURRENCY at a time). Stops at the first refusal
 * that is a limit of the backend, and says which and at what count; other failures throw.
 */
async function fill(
  ctx: Context,
  backend: Backend,
  group: string,
  count: number,
): Promise<{ handles: Array<{ handle: string; name: string }>; limit?: string }> {
  const handles: Array<{ handle: string; name: string }> = [];
  let limit: string | undefined;
  const specs = Array.from({ length: count }, () => ctx.bench.spec(ctx.bench.name('s'), group));
  const started = performance.now();
  await pool(specs, FILL_CONCURRENCY, async (spec) => {
    if (limit !== undefined) return;
    // Interrupted: the cleanup is removing what was made; making more would outlive it.
    if (ctx.bench.cleaning) throw new Error('interrupted: the bench is cleaning up');
    try {
      handles.push({ handle: await backend.make(spec), name: spec.process_name });
    } catch (err) {
      const why = backend.limitOf(err);
      if (why === undefined) throw err;
      limit ??= why;
    }
    if (handles.length % 100 === 0) ctx.progress(`${backend.label}: ${handles.length} of ${count} processes made`);
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  ctx.progress(`${backend.label}: ${handles.length} processes made in ${seconds} s`);
  return { handles, ...(limit === undefined ? {} : { limit }) };
}

/** Everything measured at one size, on one backend, with `server` on that backend. */
async function measureSize(
  ctx: Context,
  backend: Backend,
  server: ServerChild,
  size: number,
  index: number,
  idleRss: number,
  options: { dashboard: boolean },
): Promise<void> {
  const { bench, sizes } = ctx;
  const calls = sizes.scaleCalls;
  const group = `${bench.prefix}x${index}`;
  const tag = `${backend.label}, ${size}`;
  ctx.progress(`${backend.label}: filling to ${size} processes`);
  let made = await fill(ctx, backend, group, size);
  const n = made.handles.length;
  if (made.limit !== undefined) {
    ctx.notes.push(`${backend.label}: the fill to ${size} stopped at ${n} processes: ${made.limit}; measured at ${n}`);
  }
  const at = n === size ? `${size}` : `${n} of ${size} (${made.limit})`;
  const push = (row: Row) => ctx.rows.push(row);
  // A figure measured on both sides: p50 against p50, judged by `limit` (undefined: information).
  const pushPair = (scenario: string, pair: { raw: number[]; hp: number[] }, limit: number | undefined) =>
    push(ratioRow(scenario, median(pair.raw), median(pair.hp), limit, noise(pair.raw, pair.hp)));

  // Warm both sides at this size.
  for (let i = 0; i < 2; i++) await Promise.all([server.client.list(), backend.rawList()]);

  ctx.progress(`${tag}: lists and gets`);
  const listed = await server.client.list(group);
  if (listed.length !== n) throw new Error(`${backend.label}: the group lists ${listed.length} processes, ${n} were made`);
  const everything = (await server.client.list()).length;
  if (everything > n)
    ctx.notes.push(`${tag}: the lists held ${everything} processes, ${everything - n} of them not the bench's (other users')`);
  const list = await alternate(
    calls,
    () => backend.rawList(),
    () => server.client.list(),
  );
  pushPair(`${backend.label}: list at ${at} processes, p50 of ${calls}`, list, 1.3);
  const groupList = await alternate(
    calls,
    () => backend.rawList(group),
    () => server.client.list(group),
  );
  pushPair(`${backend.label}: group list of ${at}, p50 of ${calls}`, groupList, 1.3);
  let k = 0;
  const pick = () => made.handles[(k++ * 7919) % n]!;
  const get = await alternate(
    calls,
    () => {
      const p = pick();
      return backend.rawGet(p.handle, p.name);
    },
    () => server.client.get(pick().name),
  );
  pushPair(`${backend.label}: get with ${at} present, p50 of ${calls}`, get, 1.3);
  if (backend.hopGet) {
    const hopGet = backend.hopGet;
    const hop = await alternate(
      calls,
      () => {
        const p = pick();
        return hopGet(p.handle, p.name);
      },
      () => server.client.get(pick().name),
    );
    pushPair(
      `${backend.label}: get with ${at} present vs the same reads through a bare Node server (the hop alone), p50 of ${calls}`,
      hop,
      undefined,
    );
  }
  const rssAfter = await server.rssMb();
  const fdsAfter = openFds(server.pid);
  push({
    scenario: `${backend.label}: server RSS after the lists at ${at} vs idle`,
    raw: mb(idleRss),
    hydroplane: mb(rssAfter),
    target: '≤ idle + 20 MB',
    verdict: rssAfter - idleRss <= 20 ? 'met' : 'missed',
  });
  ctx.notes.push(`${tag}: the server had ${fdsAfter} descriptors open after the lists`);

  ctx.progress(`${tag}: starts and stops`);
  const startStops = backend.startStops;
  const startGroup = `${bench.prefix}x${index}s`;
  // Starts, then stops, of `other` and of Hydroplane, alternating call by call; a row for each.
  const againstHydroplane = async (
    other: { start(spec: ProcessSpecInput): Promise<string>; stop(handle: string): Promise<void> },
    prefix: string,
    rows: { start: string; stop: string },
    limit: number | undefined,
  ) => {
    const handles: string[] = [];
    const names: string[] = [];
    const starts = await alternate(
      startStops,
      async () => handles.push(await other.start(bench.spec(bench.name(prefix), startGroup))),
      async () => {
        const spec = bench.spec(bench.name('sh'), startGroup);
        await server.client.start(spec);
        names.push(spec.process_name);
      },
    );
    pushPair(rows.start, starts, limit);
    const stops = await alternate(
      startStops,
      () => other.stop(handles.shift()!),
      () => server.client.stop(names.shift()!),
    );
    pushPair(rows.stop, stops, limit);
  };
  await againstHydroplane(
    { start: (spec) => backend.rawStart(spec), stop: (handle) => backend.rawStop(handle) },
    'sr',
    {
      start: `${backend.label}: start with ${at} present, p50 of ${startStops}`,
      stop: `${backend.label}: stop with ${at} present, p50 of ${startStops}`,
    },
    1.05,
  );
  if (backend.hopStartStop) {
    const hop = backend.hopStartStop;
    // Hydroplane's side is warm from the rows above; the hop's first creates and deletes are not.
    for (let i = 0; i < 5; i++) await hop.stop(await hop.start(bench.spec(bench.name('sk'), startGroup)));
    const through = `the same call through a bare Node server (the hop alone), p50 of ${startStops}`;
    await againstHydroplane(
      hop,
      'sk',
      {
        start: `${backend.label}: start with ${at} present vs ${through}`,
        stop: `${backend.label}: stop with ${at} present vs ${through}`,
      },
      undefined,
    );
  }

  ctx.progress(`${tag}: the culler's pass and /metrics`);
  const culler = await alternate(
    calls,
    () => backend.rawList(),
    () => backend.cullerPass(),
  );
  pushPair(`${backend.label}: the culler's pass over ${at} (nothing to stop) vs a raw list, p50 of ${calls}`, culler, undefined);
  const metrics: number[] = [];
  for (let i = 0; i < calls; i++) {
    metrics.push(
      (
        await timed(async () => {
          const res = await fetch(`${server.url}/metrics`);
          if (!res.ok) throw new Error(`/metrics answered ${res.status}`);
          await res.text();
        })
      ).ms,
    );
  }
  // A scrape is one list of the runtime (for the process gauges) and the text: beside a raw list.
  const rawLists: number[] = [];
  for (let i = 0; i < calls; i++) rawLists.push((await timed(() => backend.rawList())).ms);
  pushPair(
    `${backend.label}: /metrics answer with ${at} present (one list inside) vs a raw list, p50 of ${calls}`,
    { raw: rawLists, hp: metrics },
    undefined,
  );
  if (index === 0)
    await descriptorCosts(
      ctx,
      backend.label,
      server,
      made.handles.slice(0, FOLLOWS).map((h) => h.name),
    );

  if (options.dashboard) await dashboardAtScale(ctx, server, n);

  // Group stop of all of them against a raw stop+remove of as many, GROUP_CONCURRENCY in flight on
  // both sides; each side with its own fill, the side going first alternating with the size.
  const rawStop = async () => {
    const handles = made.handles.map((h) => h.handle);
    ctx.progress(`${tag}: raw stop+remove of ${handles.length}`);
    const { ms: t } = await timed(() => pool(handles, GROUP_CONCURRENCY, (h) => backend.rawStop(h)));
    if ((await backend.rawCount(group)) !== 0) throw new Error(`${backend.label}: the raw stop left processes behind`);
    return t;
  };
  const hpStop = async () => {
    ctx.progress(`${tag}: group stop of ${made.handles.length}`);
    let peak = openFds(server.pid);
    const sampler = setInterval(() => (peak = Math.max(peak, openFds(server.pid))), 20);
    const { ms: t, value } = await timed(() => server.client.stopGroup(group));
    clearInterval(sampler);
    if (value.stopped.length !== made.handles.length)
      throw new Error(`${backend.label}: the group stop stopped ${value.stopped.length} of ${made.handles.length}`);
    ctx.notes.push(`${tag}: the server's open descriptors during the group stop peaked at ${peak} (${fdsAfter} before)`);
    return t;
  };
  const refill = async () => {
    ctx.progress(`${tag}: filling again for the other side's stop`);
    const again = await fill(ctx, backend, group, made.handles.length);
    if (again.handles.length !== made.handles.length)
      throw new Error(`${backend.label}: the second fill made ${again.handles.length} of ${made.handles.length}`);
    made = again;
  };
  let rawMs: number;
  let hpMs: number;
  if (index % 2 === 0) {
    rawMs = await rawStop();
    await refill();
    hpMs = await hpStop();
  } else {
    hpMs = await hpStop();
    await refill();
    rawMs = await rawStop();
  }
  push(
    ratioRow(`${backend.label}: group stop of ${at} vs raw stop+remove, ${GROUP_CONCURRENCY} in flight each`, rawMs, hpMs, 1.1, Number.NaN),
  );
}

/** The scale scenario on the Docker Engine, with a server of its own (its idle RSS is the baseline). */
export async function scaleDocker(ctx: Context): Promise<void> {
  const { bench, sizes } = ctx;
  const server = await bench.spawnServer();
  const hop = await startBareHop(bench);
  const runtime = new DockerRuntime({
    config: DockerRuntimeConfig.parse({ runtime_type: 'docker', network: bench.network, stop_grace_seconds: 0 }),
    secrets: new MemorySecretStore(),
  });
  const culler = new ProcessCuller({ runtime, maxAgeMs: 365 * 86_400_000, intervalMs: 3_600_000, logger: SILENT_LOGGER });
  const backend: Backend = {
    label: 'Docker',
    make: (spec) => bench.rawStart(spec),
    limitOf: (err) => {
      const full = networkFullness(toEngineError(err));
      if (full === 'addresses') return `the network's subnet has no free address (${bench.network})`;
      if (full === 'bridge') return `the network's Linux bridge has no free port (1,023 at most; ${bench.network})`;
      return undefined;
    },
    rawList: (group) => bench.rawList(group),
    rawCount: async (group) => (await bench.rawList(group)).length,
    rawGet: (handle) => bench.docker.getContainer(handle).inspect(),
    ...(hop ? { hopGet: (handle: string) => fetchOk(`${hop.url}/containers/${handle}/json`) } : {}),
    rawStart: (spec) => bench.rawStart(spec),
    rawStop: (handle) => bench.rawStop(handle),
    startStops: sizes.scaleStartStops,
    cullerPass: () => culler.cullOnce(),
  };
  try {
    await sleep(1000);
    const idleRss = await server.rssMb();
    for (const [index, size] of sizes.scaleLevels.entries()) {
      await measureSize(ctx, backend, server, size, index, idleRss, { dashboard: index === sizes.scaleLevels.length - 1 });
      await bench.sweep();
    }
  } finally {
    await server.stop();
    hop?.stop();
  }
}

/**
 * bench/lib/bare-hop.ts as a child process, as the server is one: on the Engine's unix socket only
 * (DOCKER_HOST unix://..., or the default socket); undefined for an Engine over TCP.
 */
async function startBareHop(bench: Context['bench']): Promise<{ url: string; stop(): void } | undefined> {
  const host = process.env['DOCKER_HOST'];
  if (host !== undefined && !host.startsWith('unix://')) return undefined;
  const socket = host === undefined ? '/var/run/docker.sock' : host.slice('unix://'.length);
  const hop = await startBareHopChild(socket);
  bench.onCleanup(async () => hop.stop());
  return hop;
}

/** The scale scenario on the Kubernetes API stand-in (in this process), against the same calls made raw with client-node. */
export async function scaleKubernetes(ctx: Context): Promise<void> {
  const { bench, sizes } = ctx;
  const standin = await startKubeStandin({ podStartDelayMs: 10 });
  bench.onCleanup(() => standin.close());
  const server = await bench.spawnServer({
    runtime: { runtime_type: 'kubernetes', kubeconfig: standin.kubeconfigPath, namespace: 'default' },
  });
  const kc = new KubeConfig();
  kc.loadFromFile(standin.kubeconfigPath);
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const namespace = 'default';
  const runtime = await createRuntime(
    { runtime_type: 'kubernetes', kubeconfig: standin.kubeconfigPath, namespace },
    { secrets: new MemorySecretStore(), logger: SILENT_LOGGER },
  );
  const culler = new ProcessCuller({ runtime, maxAgeMs: 365 * 86_400_000, intervalMs: 3_600_000, logger: SILENT_LOGGER });
  const hop = await startKubeHopChild(standin.kubeconfigPath, namespace);
  bench.onCleanup(async () => hop.stop());
  const selector = (group?: string) => labelSelector(group === undefined ? {} : { group });
  // A stop deletes by name and uid, as Hydroplane's does for a process it has seen (the uid its
  // create answered): the precondition makes the delete's body, which costs the client and the
  // API server a little more than a delete without one (0.7 ms of a 4.3 ms delete here).
  const uids = new Map<string, string>();
  const makeDeployment = async (input: ProcessSpecInput) => {
    const body: V1Deployment = deploymentManifest(ProcessSpec.parse(input), namespace);
    const created = await apps.createNamespacedDeployment({ namespace, body });
    uids.set(input.process_name, created.metadata!.uid!);
    return input.process_name;
  };
  const backend: Backend = {
    label: 'Kubernetes stand-in',
    make: makeDeployment,
    limitOf: () => undefined,
    // What a client needs to know a process's state: its Deployment, pods and Service, every page.
    rawList: (group) =>
      Promise.all([
        everyPage((page) => apps.listNamespacedDeployment({ namespace, labelSelector: selector(group), ...page }), { pageSize: LIST_PAGE }),
        everyPage((page) => core.listNamespacedPod({ namespace, labelSelector: selector(group), ...page }), { pageSize: LIST_PAGE }),
        everyPage((page) => core.listNamespacedService({ namespace, labelSelector: selector(group), ...page }), { pageSize: LIST_PAGE }),
      ]),
    rawCount: async (group) => (await apps.listNamespacedDeployment({ namespace, labelSelector: selector(group) })).items.length,
    rawGet: (_handle, name) =>
      Promise.all([
        apps.readNamespacedDeployment({ namespace, name }),
        core.listNamespacedPod({ namespace, labelSelector: `${PROCESS_LABEL}=${name}` }),
        core.readNamespacedService({ namespace, name }).catch(() => undefined),
      ]),
    hopGet: (_handle, name) => fetchOk(`${hop.url}/processes/${name}`),
    rawStart: makeDeployment,
    rawStop: async (name) => {
      const uid = uids.get(name);
      uids.delete(name);
      await apps.deleteNamespacedDeployment({ namespace, name, propagationPolicy: 'Background', body: { preconditions: { uid } } });
    },
    startStops: sizes.scaleStartStops * 5,
    hopStartStop: {
      start: async (input) => {
        const body = deploymentManifest(ProcessSpec.parse(input), namespace);
        const created = (await fetchOk(`${hop.url}/deployments`, { method: 'POST', body: JSON.stringify(body) })) as V1Deployment;
        uids.set(input.process_name, created.metadata!.uid!);
        return input.process_name;
      },
      stop: async (name) => {
        const uid = uids.get(name);
        uids.delete(name);
        await fetchOk(`${hop.url}/deployments/${name}?uid=${uid}`, { method: 'DELETE' });
      },
    },
    cullerPass: () => culler.cullOnce(),
  };
  try {
    await sleep(1000);
    const idleRss = await server.rssMb();
    for (const [index, size] of sizes.scaleLevels.entries()) {
      await measureSize(ctx, backend, server, size, index, idleRss, { dashboard: false });
      await standin.controls.settle();
    }
  } finally {
    await server.stop();
    await runtime.close();
    hop.stop();
  }
}
