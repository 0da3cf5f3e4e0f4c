// Kubernetes API calls per list, against the API stand-in of the tests (which counts requests).
// Through a real server when the server can run the Kubernetes runtime; else the runtime itself,
// in this process. Anything missing gives a TODO row, never a made-up number.
import type { Context } from '../lib/context.ts';
import type { ServerChild } from '../lib/harness.ts';
import { pool } from '../lib/stats.ts';
import type { ProcessSpecInput } from '../../src/spec/process-spec.ts';

interface Side {
  via: string;
  start(spec: ProcessSpecInput): Promise<unknown>;
  list(): Promise<unknown[]>;
}

export async function kubernetesCallsPerList(ctx: Context): Promise<void> {
  const { bench, sizes } = ctx;
  const levels = sizes.kubeLevels;
  const scenario = `Kubernetes API calls per list at ${levels.join(' / ')} processes`;
  ctx.progress('Kubernetes API calls per list');
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
    side = { via: 'through the server', start: (spec) => client.start(spec), list: () => client.list() };
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
      side = { via: `the runtime in-process: ${reason}`, start: (spec) => runtime.start(ProcessSpec.parse(spec)), list: () => runtime.list() };
    } catch (err) {
      ctx.rows.push({ scenario, raw: '—', hydroplane: `TODO: the Kubernetes runtime is not usable here yet (${(err as Error).message.split('\n')[0]})`, target: 'constant in processes', verdict: 'TODO' });
      return;
    }
  }

  try {
    const counts: number[] = [];
    let made = 0;
    for (const level of levels) {
      const specs = Array.from({ length: level - made }, () => bench.spec(bench.name('k'), `${bench.prefix}kube`));
      await pool(specs, 10, (spec) => side.start(spec));
      made = level;
      await standin.controls.settle();
      standin.controls.resetRequests();
      const listed = await side.list();
      counts.push(standin.controls.count());
      if (listed.length !== level) throw new Error(`listed ${listed.length} processes, expected ${level}`);
    }
    ctx.rows.push({
      scenario: `${scenario} (${side.via})`,
      raw: '—',
      hydroplane: counts.join(' / '),
      target: 'constant in processes',
      verdict: counts.every((c) => c === counts[0]) ? 'met' : 'missed',
    });
  } catch (err) {
    ctx.rows.push({ scenario: `${scenario} (${side.via})`, raw: '—', hydroplane: `TODO: failed (${(err as Error).message.split('\n')[0]})`, target: 'constant in processes', verdict: 'TODO' });
  } finally {
    await server?.stop();
  }
}
