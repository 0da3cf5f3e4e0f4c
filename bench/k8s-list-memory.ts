// Where a Kubernetes server's RSS goes after lists: a server (the build in dist/, or --bin) on the
// Kubernetes runtime against the API stand-in filled with --count processes (raw Deployments with
// Hydroplane's labels, as the kscale scenario makes them), its memory as it sees it itself
// (bench/lib/memory-report.ts: VmRSS, process.memoryUsage(), V8's heap spaces) idle, after
// --lists lists and as many group lists, and after a full GC.
//
//   node bench/k8s-list-memory.ts [--count=500] [--lists=20] [--bin=dist/cli/hydroplane.js]
//   HYDROPLANE_NODE_ARGS=--max-semi-space-size=16 node bench/k8s-list-memory.ts   (V8 flags for the server)
import { AppsV1Api, KubeConfig } from '@kubernetes/client-node';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { labelSelector } from '../src/labels.ts';
import { deploymentManifest } from '../src/runtimes/kubernetes/manifests.ts';
import { ProcessSpec } from '../src/spec/process-spec.ts';
import { startKubeStandin } from '../test/support/kube-standin/index.ts';
import { HYDROPLANE_BIN } from './lib/harness.ts';
import type { MemoryReport as Report } from './lib/memory-report.ts';
import { startReportingServer } from './lib/reporting-server.ts';

const option = (name: string, fallback: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const count = Number(option('count', '500'));
const lists = Number(option('lists', '20'));
const bin = option('bin', HYDROPLANE_BIN);
const group = 'g';

const standin = await startKubeStandin({ podStartDelayMs: 10 });
const dir = await mkdtemp(join(tmpdir(), 'hp-k8s-memory-'));
try {
  const kc = new KubeConfig();
  kc.loadFromFile(standin.kubeconfigPath);
  const apps = kc.makeApiClient(AppsV1Api);
  const names = Array.from({ length: count }, (_, i) => `p${i}`);
  for (let i = 0; i < names.length; i += 16) {
    await Promise.all(
      names.slice(i, i + 16).map((name) =>
        apps.createNamespacedDeployment({
          namespace: 'default',
          body: deploymentManifest(
            ProcessSpec.parse({ process_name: name, group, container: { image_uri: 'busybox', command: ['sleep', '3600'] } }),
            'default',
          ),
        }),
      ),
    );
  }
  await standin.controls.settle();

  const runtime = { runtime_type: 'kubernetes', kubeconfig: standin.kubeconfigPath, namespace: 'default' };
  const nodeArgs = [...(process.env.HYDROPLANE_NODE_ARGS ?? '').split(' ').filter(Boolean), '--expose-gc'];
  const server = await startReportingServer({ bin, runtime, dir, nodeArgs });
  process.on('exit', () => {
    try {
      process.kill(server.pid, 'SIGKILL');
    } catch {
      // it has already ended
    }
  });
  const url = server.url;
  const report = (gc: boolean) => server.memory({ gc });
  const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
  const show = (label: string, r: Report) => {
    const s = (name: string) => `${mb(r.spaces[name]?.size ?? 0)}/${mb(r.spaces[name]?.used ?? 0)}`;
    console.log(
      `${label.padEnd(9)} VmRSS ${mb(r.rss)} MB | heap ${mb(r.memory.heapTotal)} (used ${mb(r.memory.heapUsed)}), ` +
        `external ${mb(r.memory.external)} (array buffers ${mb(r.memory.arrayBuffers)}) | spaces size/used: ` +
        `new ${s('new_space')}, old ${s('old_space')}, large objects ${s('large_object_space')}, code ${s('code_space')}`,
    );
    return r;
  };
  const list = async (path: string, expected: number) => {
    const answer = await fetch(url + path);
    const body = (await answer.json()) as unknown[];
    if (!answer.ok || body.length !== expected) throw new Error(`${path}: ${answer.status}, ${JSON.stringify(body).slice(0, 200)}`);
  };

  await sleep(1000);
  const idle = show('idle', await report(false));
  for (let i = 0; i < 2; i++) await list('/process', count);
  const times: number[] = [];
  for (let i = 0; i < lists; i++) {
    for (const path of ['/process', `/group/${group}`]) {
      const started = performance.now();
      await list(path, count);
      times.push(performance.now() - started);
    }
  }
  times.sort((a, b) => a - b);
  const after = show('after', await report(false));
  show('after gc', await report(true));
  console.log(
    `${count} processes (label ${labelSelector({ group })}): VmRSS +${mb(after.rss - idle.rss)} MB after ${lists} lists and ` +
      `${lists} group lists; their p50 ${times[times.length >> 1]!.toFixed(1)} ms`,
  );
  await server.stop();
} finally {
  await standin.close();
  await rm(dir, { recursive: true, force: true });
}
