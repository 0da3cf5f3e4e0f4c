// Where a Kubernetes server's RSS goes after lists: a server (the build in dist/, or --bin) on the
// Kubernetes runtime against the API stand-in filled with --count processes (raw Deployments with
// Hydroplane's labels, as the kscale scenario makes them), its memory as it sees it itself
// (bench/lib/memory-report.ts: VmRSS, process.memoryUsage(), V8's heap spaces) idle, after
// --lists lists and as many group lists, and after a full GC.
//
//   node bench/k8s-list-memory.ts [--count=500] [--lists=20] [--bin=dist/cli/hydroplane.js]
//   HYDROPLANE_NODE_ARGS=--max-semi-space-size=16 node bench/k8s-list-memory.ts   (V8 flags for the server)
import { AppsV1Api, KubeConfig } from '@kubernetes/client-node';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { labelSelector } from '../src/labels.ts';
import { deploymentManifest } from '../src/runtimes/kubernetes/manifests.ts';
import { ProcessSpec } from '../src/spec/process-spec.ts';
import { startKubeStandin } from '../test/support/kube-standin/index.ts';
import { freePort } from '../test/support/net.ts';
import { HYDROPLANE_BIN } from './lib/harness.ts';
import { MEMORY_REPORT_HOOK, memoryReport, type MemoryReport as Report } from './lib/memory-report.ts';

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

  const config = join(dir, 'config.yml');
  const runtime = { runtime_type: 'kubernetes', kubeconfig: standin.kubeconfigPath, namespace: 'default' };
  await writeFile(config, JSON.stringify({ secret_store: { secret_store_type: 'none' }, runtime }));
  const reportFile = join(dir, 'memory.json');
  const port = await freePort();
  const nodeArgs = (process.env.HYDROPLANE_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const server = spawn(
    process.execPath,
    [...nodeArgs, '--expose-gc', '--import', MEMORY_REPORT_HOOK, bin, '-c', config, '-p', String(port)],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, MEMORY_REPORT_FILE: reportFile, LOG_LEVEL: 'warn' },
    },
  );
  process.on('exit', () => server.kill('SIGKILL'));
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    const up = await fetch(`${url}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    if (server.exitCode !== null) throw new Error(`the server exited with ${server.exitCode}`);
    await sleep(50);
  }
  const report = (gc: boolean) => memoryReport(server.pid!, reportFile, { gc });
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
  server.kill('SIGTERM');
} finally {
  await standin.close();
  await rm(dir, { recursive: true, force: true });
}
