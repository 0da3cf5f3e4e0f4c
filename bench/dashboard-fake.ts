// The dashboard scenario (scenarios/dashboard.ts) without an Engine: the server over the in-memory
// runtime of the tests (test/support/fake-runtime.ts) holding N processes, listed as Docker lists
// them (no start and end times, so the page asks GET /process/{name} for them). It measures the
// page's own cost (first render, refreshes, long tasks) in minutes less than `--scale`, which
// fills an Engine. Needs the built dashboard (npm run build).
//
//   node bench/dashboard-fake.ts [--count=1000]
import { buildApp } from '../src/server/app.ts';
import { ProcessSpec } from '../src/spec/process-spec.ts';
import { DockerListRuntime } from '../test/support/docker-list-runtime.ts';
import { dashboardAtScale, type DashboardContext } from './scenarios/dashboard.ts';
import { renderTable } from './lib/table.ts';

const count = Number(process.argv.find((a) => a.startsWith('--count='))?.slice('--count='.length) ?? 1000);
if (!Number.isInteger(count) || count < 1) throw new Error(`--count must be a positive whole number, not ${count}`);

const runtime = new DockerListRuntime();
for (let i = 0; i < count; i++) {
  await runtime.start(
    ProcessSpec.parse({
      process_name: `bench-${String(i).padStart(4, '0')}`,
      group: `group-${i % 10}`,
      container: { image_uri: 'hydroplane-test/busybox:latest', command: ['sleep', '3600'], ports: [{ container_port: 8080 }] },
    }),
  );
}
const app = await buildApp({ runtime, dashboard: {} });
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
if (address === null || typeof address === 'string') throw new Error('the server has no TCP address');
const closers: Array<() => Promise<void>> = [];
const ctx: DashboardContext = {
  rows: [],
  notes: [],
  progress: (message) => process.stderr.write(`${message}\n`),
  bench: { onCleanup: (close) => void closers.push(close) },
};
try {
  await dashboardAtScale(ctx, { url: `http://127.0.0.1:${address.port}` }, count);
} finally {
  for (const close of closers) await close().catch(() => {});
  await app.close();
}
process.stdout.write(`${renderTable(ctx.rows)}\n\n${ctx.notes.map((n) => `- ${n}`).join('\n')}\n`);
