// `npm run bench`: Hydroplane's cost over the raw Docker Engine, both measured in one run, printed
// as one table. `npm run bench -- --smoke` (or BENCH_SMOKE=1): smallest sizes, one repetition.
//
//   --smoke            prove it works, quickly (CI)
//   --only=a,b         run only these scenarios: seq, concurrent, burst, lists, calls, cold, hung, kube
//   --profile          run the timed server under --cpu-prof; the profile's folder is printed
//   --no-build         do not rebuild dist/ when src/ is newer
//
// Progress goes to stderr, the table and notes to stdout. Exits 0 whatever the numbers; 1 when
// the benchmark itself broke (no Engine, a scenario that threw).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { type Context, FULL, SMOKE } from './lib/context.ts';
import { startEngineProxy } from '../test/support/engine-proxy.ts';
import { Bench, HYDROPLANE_BIN, IMAGE, ROOT, watchOtherActivity } from './lib/harness.ts';
import { renderTable, type Row } from './lib/table.ts';
import { kubernetesCallsPerOperation } from './scenarios/kubernetes.ts';
import { engineCallsPerVerb, listsAtLevels } from './scenarios/lists.ts';
import { coldStartAndRss, hungRuntime } from './scenarios/server.ts';
import { concurrentStartsAndGroupStop, listDuringBurst, sequentialStarts } from './scenarios/starts.ts';

const args = process.argv.slice(2);
const smoke = args.includes('--smoke') || ['1', 'true'].includes(process.env.BENCH_SMOKE ?? '');
const only = args.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
const profile = args.includes('--profile');
const build = !args.includes('--no-build');
const sizes = smoke ? SMOKE : FULL;

const SCENARIOS: Array<[string, (ctx: Context) => Promise<void>]> = [
  ['seq', sequentialStarts],
  ['concurrent', concurrentStartsAndGroupStop],
  ['burst', listDuringBurst],
  ['lists', listsAtLevels],
  ['calls', engineCallsPerVerb],
  ['cold', coldStartAndRss],
  ['hung', hungRuntime],
  ['kube', kubernetesCallsPerOperation],
];

const runStart = performance.now();
const progress = (message: string) => process.stderr.write(`bench [${((performance.now() - runStart) / 1000).toFixed(0).padStart(4)} s] ${message}\n`);

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/** The server runs from dist/, as users run it: rebuild it (npm run build) when src/ is newer. */
function ensureBuilt(): void {
  if (existsSync(HYDROPLANE_BIN) && statSync(HYDROPLANE_BIN).mtimeMs >= newestMtime(join(ROOT, 'src'))) return;
  progress('building dist/ (npm run build)');
  const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}${build.stderr}`);
}

async function machine(bench: Bench): Promise<string> {
  const version = await bench.docker.version().catch(() => undefined);
  const gib = (totalmem() / 2 ** 30).toFixed(1);
  return `${availableParallelism()} CPUs (nproc), ${gib} GiB memory, Docker Engine ${version?.Version ?? '?'} (API ${version?.ApiVersion ?? '?'}), Node ${process.version}, ${process.platform} ${version?.KernelVersion ?? ''}`.trim();
}

async function main(): Promise<number> {
  const bench = new Bench();
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\nbench: ${signal}: cleaning up what the run made...\n`);
    bench.cleanup().finally(() => process.exit(130));
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);

  const rows: Row[] = [];
  const notes: string[] = [];
  let broke = false;
  const loadStart = loadavg();
  try {
    try {
      await bench.docker.ping();
      await bench.docker.getImage(IMAGE).inspect();
    } catch (err) {
      throw new Error(
        `the benchmark needs a Docker Engine with the image ${IMAGE} (${(err as Error).message}); ` +
          'run: bash scripts/ensure-docker.sh && bash scripts/build-test-image.sh',
      );
    }
    if (build) ensureBuilt();
    progress(`${smoke ? 'smoke run' : 'full run'}; names and network ${bench.prefix}*`);
    await bench.init();
    const activity = await watchOtherActivity(bench);

    const profileDir = profile ? mkdtempSync(join(tmpdir(), 'hp-bench-profile-')) : undefined;
    const server = await bench.spawnServer(profileDir ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] } : {});
    const proxy = await startEngineProxy(join(bench.tmp, 'counting-engine.sock'));
    bench.onCleanup(() => proxy.close());
    const countingServer = await bench.spawnServer({
      runtime: { runtime_type: 'docker', docker_host: `unix://${proxy.socketPath}`, network: bench.network, stop_grace_seconds: 0 },
    });
    const ctx: Context = { bench, sizes, server, counting: { server: countingServer, proxy }, rows, notes, progress };

    // Warm both paths (JIT, the image and network lookups) before anything is timed.
    progress('warming up');
    for (let i = 0; i < (smoke ? 1 : 3); i++) {
      const raw = await bench.rawStart(bench.spec(bench.name('warm')));
      await bench.rawStop(raw);
      const spec = bench.spec(bench.name('warm'));
      await server.client.start(spec);
      await server.client.stop(spec.process_name);
    }

    const othersDuring: string[] = [];
    for (const [name, scenario] of SCENARIOS) {
      if (interrupted) break;
      if (only && !only.includes(name)) continue;
      const othersBefore = activity.count();
      try {
        await scenario(ctx);
        othersDuring.push(`${name} ${activity.count() - othersBefore}`);
      } catch (err) {
        broke = true;
        progress(`scenario '${name}' failed: ${(err as Error).stack ?? String(err)}`);
        rows.push({ scenario: `${name}: the scenario failed`, raw: '—', hydroplane: (err as Error).message.split('\n')[0]!.slice(0, 120), target: '', verdict: 'error' });
        await bench.sweep();
      }
    }
    await countingServer.stop();
    await server.stop();
    if (profileDir) notes.push(`CPU profile of the timed server: ${profileDir}`);
    activity.stop();
    const loadEnd = loadavg();
    const seconds = ((performance.now() - runStart) / 1000).toFixed(0);
    console.log(renderTable(rows));
    console.log('');
    console.log(`${smoke ? 'SMOKE run (smallest sizes, one repetition: proves it works, measures nothing)' : 'Full run'}, ${new Date().toISOString()}, ${seconds} s`);
    console.log(`machine: ${await machine(bench)}`);
    console.log(
      `load average (1, 5, 15 min): ${loadStart.map((l) => l.toFixed(2)).join(', ')} at the start; ${loadEnd.map((l) => l.toFixed(2)).join(', ')} at the end; ` +
        `${activity.count()} container events on the Engine were not this run's (other users)`,
    );
    console.log(`other users' container events during each scenario: ${othersDuring.join(', ')}`);
    console.log('cv: coefficient of variation of the repeated measures behind a figure (per-repetition medians, or the calls of one list level), the noisier side');
    for (const note of notes) console.log(note);
  } catch (err) {
    broke = true;
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  } finally {
    if (!interrupted) {
      progress('cleaning up');
      await bench.cleanup();
    }
  }
  return broke ? 1 : 0;
}

process.exitCode = await main();
