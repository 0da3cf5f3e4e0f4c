// Kubernetes API calls per operation (list, get, start, stop) at several numbers of processes,
// and per group stop, against the API stand-in of the tests (which counts requests). Through a
// real server when the server can run the Kubernetes runtime; else the runtime itself, in this
// process. Anything missing gives a TODO row, never a made-up number.
import type { Context } from '../lib/context.ts';
import type { ServerChild } from '../lib/harness.ts';
import { pool } from '../lib/stats.ts';
import type { ProcessSpecInput } from '../../src/spec/process-spec.ts';

interface Side {
  via: string;
  start(spec: ProcessSpecInput): Promise<unknown>;
  list(): Promise<unknown[]>;
  get(name: string): Promise<unknown>;
  stop(name: string): Promise<unknown>;
  stopGroup(group: string): Promise<unknown>;
}

/** The operations counted at each level; start and stop are of one more process, with a port. */
const OPERATIONS = ['list', 'get', 'start', 'stop'] as const;

export async function kubernetesCallsPerList(ctx: Context): Promise<void> {
  const { bench, sizes } = ctx;
  const levels = sizes.kubeLevels;
  const scenario = `Kubernetes API calls per operation at ${levels.join(' / ')} processes`;
  ctx.progress('Kubernetes API calls per operation');
  let api;
  try {
    const { startKubeStandin } = await import('../../test/support/kube-standin/index.ts');
    api = await startKubeStandin({ podStartDelayMs: 10 });
  } catch (err) {
    ctx.rows.push({ scenario, raw: '—', hydroplane: `TODO: no Kubernetes API stand-in with request counts (${(err as Error).message})`, target: 'constant in processes', verdict: 'TODO' });
    return;
  }
  const standin = api;
  bench.onCleanup(() => standin.close());

  let side: Side;
  let server: ServerChild | undefined;
  const runtimeConfig = { runtime_type: 'kubernetes', kubeconfig: standin.kubeconfigPath, namespace: 'default' };
  try {
    server = await bench.spawnServer({ runtime: runtimeConfig });
    const { client } = server;
    side = {
      via: 'through the server',
      start: (spec) => client.start(spec),
      list: () => client.list(),
      get: (name) => client.get(name),
      stop: (name) => client.stop(name),
      stopGroup: (group) => client.stopGroup(group),
    };
  } catch (serverErr) {
    try {
      const [{ kubernetesRuntimeFromConfig }, { KubernetesRuntimeConfig }, { ProcessSpec }, { NoneSecretStore }] = await Promise.all([
        import('../../src/runtimes/kubernetes/cluster.ts'),
        import('../../src/spec/config.ts'),
        import('../../src/spec/process-spec.ts'),
        import('../../src/secrets/none-secret-store.ts'),
      ]);
      const runtime = kubernetesRuntimeFromConfig(KubernetesRuntimeConfig.parse(runtimeConfig), { secrets: new NoneSecretStore() });
      const reason = /not available/.test((serverErr as Error).message) ? 'the server does not offer runtime_type kubernetes yet' : 'the server did not start';
      side = {
        via: `the runtime in-process: ${reason}`,
        start: (spec) => runtime.start(ProcessSpec.parse(spec)),
        list: () => runtime.list(),
        get: (name) => runtime.get(name),
        stop: (name) => runtime.stop(name),
        stopGroup: (group) => runtime.stopGroup(group),
      };
    } catch (err) {
      ctx.rows.push({ scenario, raw: '—', hydroplane: `TODO: the Kubernetes runtime is not usable here yet (${(err as Error).message.split('\n')[0]})`, target: 'constant in processes', verdict: 'TODO' });
      return;
    }
  }

  try {
    const counts = Object.fromEntries(OPERATIONS.map((op) => [op, [] as number[]])) as Record<(typeof OPERATIONS)[number], number[]>;
    /** The API calls that one operation makes, once the stand-in's controllers are idle. */
    const calls = async (op: () => Promise<unknown>): Promise<number> => {
      await standin.controls.settle();
      standin.controls.resetRequests();
      await op();
      return standin.controls.count();
    };
    const group = `${bench.prefix}kube`;
    let made = 0;
    for (const level of levels) {
      const specs = Array.from({ length: level - made }, () => bench.spec(bench.name('k'), group));
      await pool(specs, 10, (spec) => side.start(spec));
      made = level;
      let listed: unknown[] = [];
      counts.list.push(await calls(async () => (listed = await side.list())));
      if (listed.length !== level) throw new Error(`listed ${listed.length} processes, expected ${level}`);
      counts.get.push(await calls(() => side.get(specs[0]?.process_name ?? bench.name('none'))));
      const probe = bench.spec(bench.name('kp'), `${bench.prefix}kprobe`, 8080);
      counts.start.push(await calls(() => side.start(probe)));
      counts.stop.push(await calls(() => side.stop(probe.process_name)));
    }
    for (const op of OPERATIONS) {
      ctx.rows.push({
        scenario: `Kubernetes API calls per ${op} at ${levels.join(' / ')} processes (${side.via})`,
        raw: '—',
        hydroplane: counts[op].join(' / '),
        target: 'constant in processes',
        verdict: counts[op].every((c) => c === counts[op][0]) ? 'met' : 'missed',
      });
    }
    const groupStop = await calls(() => side.stopGroup(group));
    ctx.notes.push(`Kubernetes: a group stop of ${made} processes made ${groupStop} API calls: its lists, then each process's own deletes`);
  } catch (err) {
    ctx.rows.push({ scenario: `${scenario} (${side.via})`, raw: '—', hydroplane: `TODO: failed (${(err as Error).message.split('\n')[0]})`, target: 'constant in processes', verdict: 'TODO' });
  } finally {
    await server?.stop();
  }
}
