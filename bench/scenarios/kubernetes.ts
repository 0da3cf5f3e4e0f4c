// Kubernetes API calls per operation (list, get, start, stop) at several numbers of processes,
// and per group stop: a real server on the Kubernetes runtime, against the API stand-in of the
// tests, which counts the requests it answers.
import { startKubeStandin } from '../../test/support/kube-standin/index.ts';
import type { Context } from '../lib/context.ts';
import { pool } from '../lib/stats.ts';

/** The operations counted at each level; start and stop are of one more process, with a port. */
const OPERATIONS = ['list', 'get', 'start', 'stop'] as const;

export async function kubernetesCallsPerOperation(ctx: Context): Promise<void> {
  const { bench, sizes } = ctx;
  const levels = sizes.kubeLevels;
  ctx.progress('Kubernetes API calls per operation');
  const standin = await startKubeStandin({ podStartDelayMs: 10 });
  bench.onCleanup(() => standin.close());
  const server = await bench.spawnServer({
    runtime: { runtime_type: 'kubernetes', kubeconfig: standin.kubeconfigPath, namespace: 'default' },
  });
  const { client } = server;
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
      await pool(specs, 10, (spec) => client.start(spec));
      made = level;
      let listed: unknown[] = [];
      counts.list.push(await calls(async () => (listed = await client.list())));
      if (listed.length !== level) throw new Error(`listed ${listed.length} processes, expected ${level}`);
      counts.get.push(await calls(() => client.get(specs[0]!.process_name)));
      const probe = bench.spec(bench.name('kp'), `${bench.prefix}kprobe`, 8080);
      counts.start.push(await calls(() => client.start(probe)));
      counts.stop.push(await calls(() => client.stop(probe.process_name)));
    }
    for (const op of OPERATIONS) {
      ctx.rows.push({
        scenario: `Kubernetes API calls per ${op} at ${levels.join(' / ')} processes (through the server)`,
        raw: '—',
        hydroplane: counts[op].join(' / '),
        target: 'constant in processes',
        verdict: counts[op].every((c) => c === counts[op][0]) ? 'met' : 'missed',
      });
    }
    const groupStop = await calls(() => client.stopGroup(group));
    ctx.notes.push(`Kubernetes: a group stop of ${made} processes made ${groupStop} API calls: its lists, then each process's own deletes`);
  } finally {
    await server.stop();
  }
}
