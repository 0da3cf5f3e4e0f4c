// `npm run bench`: Hydroplane's cost over the raw Docker Engine, both measured in one run, printed
// as one table. `npm run bench -- --smoke` (or BENCH_SMOKE=1): smallest sizes, one repetition.
//
//   --smoke            prove it works, quickly (CI)
//   --only=a,b         run only these scenarios: seq, concurrent, burst, lists, calls, cold, hung, kube, commands,
//                      scale (Docker), kscale (the Kubernetes stand-in)
//   --scale[=N,M]      run only the scale scenarios (scale, kscale), at 100, 500 and 1,000 processes
//                      or at the sizes given; the full run leaves them out (about 15 minutes), the
//                      smoke run has them at 4
//   --profile          run the timed server under --cpu-prof; the profile's folder is printed
//   --no-build         do not rebuild dist/ when src/ is newer
//   --engine=E         measure on another Engine (or BENCH_ENGINE=E): host (DOCKER_HOST, else the
//                      local socket), docker26 (scripts/engine-docker26.sh), podman
//                      (scripts/engine-podman.sh); the bench runs again under that script
//
// Progress goes to stderr, the table and notes to stdout. Exits 0 whatever the numbers; 1 when
// the benchmark itself broke (no Engine, a scenario that threw).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { type Context, FULL, SMOKE } from './lib/context.ts';
import { startEngineProxy } from '../test/support/engine-proxy.ts';
import { Bench, HYDROPLANE_BIN, IMAGE, ROOT, watchOtherActivity } from './lib/harness.ts';
import { renderTable, type Row } from './lib/table.ts';
import { readmeCommands } from './scenarios/commands.ts';
import { kubernetesCallsPerOperation } from './scenarios/kubernetes.ts';
import { engineCallsPerVerb, listsAtLevels } from './scenarios/lists.ts';
import { scaleDocker, scaleKubernetes } from './scenarios/scale.ts';
import { coldStartAndRss, hungRuntime } from './scenarios/server.ts';
import { concurrentStartsAndGroupStop, listDuringBurst, sequentialStarts } from './scenarios/starts.ts';

const args = process.argv.slice(2);
const smoke = args.includes('--smoke') || ['1', 'true'].includes(process.env.BENCH_SMOKE ?? '');
const only = args
  .find((a) => a.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');
const profile = args.includes('--profile');
const build = !args.includes('--no-build');
const scaleArg = args.find((a) => a === '--scale' || a.startsWith('--scale='));
const scaleLevels = scaleArg?.startsWith('--scale=')
  ? scaleArg
      .slice('--scale='.length)
      .split(',')
      .map((n) => Number(n))
  : undefined;
const sizes = { ...(smoke ? SMOKE : FULL), ...(scaleLevels ? { scaleLevels } : {}) };
/** Scenarios that only --scale, --only or the smoke run choose. */
const ON_REQUEST = new Set(['scale', 'kscale']);
const ENGINES = ['host', 'docker26', 'podman'] as const;
const engineArg = args.find((a) => a.startsWith('--engine='))?.slice('--engine='.length) ?? (process.env.BENCH_ENGINE || undefined);

const SCENARIOS: Array<[string, (ctx: Context) => Promise<void>]> = [
  ['seq', sequentialStarts],
  ['concurrent', concurrentStartsAndGroupStop],
  ['burst', listDuringBurst],
  ['lists', listsAtLevels],
  ['calls', engineCallsPerVerb],
  ['cold', coldStartAndRss],
  ['hung', hungRuntime],
  ['kube', kubernetesCallsPerOperation],
  ['commands', readmeCommands],
  ['scale', scaleDocker],
  ['kscale', scaleKubernetes],
];

const runStart = performance.now();
const progress = (message: string) =>
  process.stderr.write(`bench [${((performance.now() - runStart) / 1000).toFixed(0).padStart(4)} s] ${message}\n`);

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

/**
 * Runs this bench again under the script of another Engine (which sets DOCKER_HOST and
 * HYDROPLANE_ENGINE): with `exec` when that Engine already runs (it is left running: someone may
 * be using it), else with `run` (started, and removed at the end). Resolves with its exit code.
 */
async function runOnEngine(engine: 'docker26' | 'podman'): Promise<number> {
  const script = join(ROOT, `scripts/engine-${engine}.sh`);
  const running = spawnSync('bash', [script, 'status'], { stdio: 'ignore' }).status === 0;
  const rest = args.filter((a) => !a.startsWith('--engine='));
  process.stderr.write(
    `bench: on ${engine}: bash scripts/engine-${engine}.sh ${running ? 'exec' : 'run'} node bench/run.ts ${rest.join(' ')}\n`,
  );
  // In a process group of its own, to which a signal to this process (a Ctrl-C included) is passed
  // on once: the bench inside cleans up, then the script stops the Engine when run started it.
  const child = spawn('bash', [script, running ? 'exec' : 'run', process.execPath, join(ROOT, 'bench/run.ts'), ...rest], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, BENCH_ENGINE: '' },
    detached: true,
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // already gone
      }
    });
  }
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal === 'SIGINT' ? 130 : 1))));
}

/** "Docker Engine 26.1.5 (API 1.45)" or "Podman 4.3.1 (Docker API 1.41)", and where it answers. */
async function engineName(bench: Bench): Promise<string> {
  const version = await bench.docker.version().catch(() => undefined);
  if (version === undefined) return 'Engine: ? (no answer to /version)';
  const podman = version.Components?.find((c) => /podman/i.test(c.Name));
  const name = podman
    ? `Podman ${podman.Version} (Docker API ${version.ApiVersion})`
    : `Docker Engine ${version.Version} (API ${version.ApiVersion})`;
  const where = process.env.DOCKER_HOST || 'unix:///var/run/docker.sock';
  const how = process.env.HYDROPLANE_ENGINE ? `, through scripts/engine-${process.env.HYDROPLANE_ENGINE}.sh` : '';
  return `Engine: ${name} at ${where}${how}`;
}

async function machine(bench: Bench): Promise<string> {
  const version = await bench.docker.version().catch(() => undefined);
  const gib = (totalmem() / 2 ** 30).toFixed(1);
  return `${availableParallelism()} CPUs (nproc), ${gib} GiB memory, Node ${process.version}, ${process.platform} ${version?.KernelVersion ?? ''}`.trim();
}

async function main(): Promise<number> {
  const bench = new Bench();
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\nbench: ${signal}: cleaning up what the run made...\n`);
    void bench.cleanup().finally(() => process.exit(130));
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
        { cause: err },
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
      if (!only && scaleArg !== undefined && !ON_REQUEST.has(name)) continue;
      if (!only && scaleArg === undefined && !smoke && ON_REQUEST.has(name)) continue;
      const othersBefore = activity.count();
      try {
        await scenario(ctx);
        othersDuring.push(`${name} ${activity.count() - othersBefore}`);
      } catch (err) {
        broke = true;
        progress(`scenario '${name}' failed: ${(err as Error).stack ?? String(err)}`);
        rows.push({
          scenario: `${name}: the scenario failed`,
          raw: '—',
          hydroplane: (err as Error).message.split('\n')[0]!.slice(0, 120),
          target: '',
          verdict: 'error',
        });
        await bench.sweep();
      }
    }
    await countingServer.stop();
    await server.stop();
    if (profileDir) notes.push(`CPU profile of the timed server: ${profileDir}`);
    activity.stop();
    const loadEnd = loadavg();
    const seconds = ((performance.now() - runStart) / 1000).toFixed(0);
    console.log(await engineName(bench));
    console.log('');
    console.log(renderTable(rows));
    console.log('');
    console.log(
      `${smoke ? 'SMOKE run (smallest sizes, one repetition: proves it works, measures nothing)' : 'Full run'}, ${new Date().toISOString()}, ${seconds} s`,
    );
    console.log(`machine: ${await machine(bench)}`);
    console.log(
      `load average (1, 5, 15 min): ${loadStart.map((l) => l.toFixed(2)).join(', ')} at the start; ${loadEnd.map((l) => l.toFixed(2)).join(', ')} at the end; ` +
        `${activity.count()} container events on the Engine were not this run's (other users)`,
    );
    console.log(`other users' container events during each scenario: ${othersDuring.join(', ')}`);
    console.log(
      'cv: coefficient of variation of the repeated measures behind a figure (per-repetition medians, or the calls of one list level), the noisier side',
    );
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

if (scaleLevels !== undefined && (scaleLevels.length === 0 || !scaleLevels.every((n) => Number.isInteger(n) && n >= 1))) {
  process.stderr.write(`bench: ${scaleArg}: give numbers of processes, whole and at least 1, separated by commas (--scale=100,500)\n`);
  process.exitCode = 2;
} else if (engineArg !== undefined && !(ENGINES as readonly string[]).includes(engineArg)) {
  process.stderr.write(`bench: --engine=${engineArg}: not one of ${ENGINES.join(', ')}\n`);
  process.exitCode = 2;
} else if ((engineArg === 'docker26' || engineArg === 'podman') && process.env.HYDROPLANE_ENGINE !== engineArg) {
  process.exitCode = await runOnEngine(engineArg);
} else {
  if (engineArg === 'host' && process.env.HYDROPLANE_ENGINE) {
    process.stderr.write(`bench: --engine=host inside scripts/engine-${process.env.HYDROPLANE_ENGINE}.sh: run it outside\n`);
    process.exitCode = 2;
  } else {
    process.exitCode = await main();
  }
}
