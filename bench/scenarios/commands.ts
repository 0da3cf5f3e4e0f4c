// The commands as the README runs them from a checkout: `bin/hpctl list` and `bin/hydroplane`
// (sh launchers that exec the project's Node 24 on dist/cli/), timed from spawn as a person at a
// shell waits for them, against the Docker CLI on the same Engine; and `npx hpctl list`, the
// README's former way, for comparison. Issue 14's targets are absolute: under 0.5 s and 1 s.
import { join } from 'node:path';
import { PROCESS_LABEL } from '../../src/labels.ts';
import type { Context } from '../lib/context.ts';
import { ROOT, type CommandRun } from '../lib/harness.ts';
import { cv, median, pool } from '../lib/stats.ts';
import { ms, ratioRow } from '../lib/table.ts';

const HPCTL = join(ROOT, 'bin/hpctl');
const HYDROPLANE = join(ROOT, 'bin/hydroplane');
/** The Docker CLI from PATH (it honours DOCKER_HOST, as the servers do). */
const DOCKER = 'docker';

/** A command that failed, or did not list every one of `names`, is a broken benchmark, not a number. */
function checked(what: string, run: CommandRun, names: readonly string[]): number {
  if (run.code !== 0) throw new Error(`${what} exited ${run.code}: ${(run.stderr || run.stdout).trim().slice(0, 300)}`);
  const missing = names.filter((n) => !run.stdout.includes(n));
  if (missing.length > 0) throw new Error(`${what} did not list ${missing.join(', ')}: ${run.stdout.slice(0, 300)}`);
  return run.ms;
}

export async function readmeCommands(ctx: Context): Promise<void> {
  const { bench, sizes, server } = ctx;
  ctx.progress(`the README's commands: ${sizes.commandProcesses} processes to list`);
  const group = `${bench.prefix}cmd`;
  const names = Array.from({ length: sizes.commandProcesses }, () => bench.name('c'));
  // Made raw, with Hydroplane's labels: to the server they are its own.
  await pool(names, 4, (name) => bench.rawStart(bench.spec(name, group)));

  const env = { HYDROPLANE_SERVER: new URL(server.url).host };
  const dockerPs = () => bench.runCommand(DOCKER, ['ps', '-a', '--filter', `label=${PROCESS_LABEL}`]);
  const hpctlList = () => bench.runCommand(HPCTL, ['list'], env);
  // bin/hydroplane as the README starts it, with the timed server's config (the run's network) and a free port.
  const config = await bench.writeConfig({ runtime_type: 'docker', network: bench.network, stop_grace_seconds: 0 });
  const serverFirstAnswer = async (env: Record<string, string> = {}) => {
    const started = await bench.spawnServer({
      env,
      file: HYDROPLANE,
      command: (port) => ['-c', config, '-p', String(port)],
      readyPath: '/process',
    });
    await started.stop();
    return started.readyMs;
  };

  // Untimed first runs, as on a fresh clone: the server's first start with an empty compile cache
  // (bin/hydroplane turns Node's on; NODE_COMPILE_CACHE puts it in the run's folder), then the
  // page cache and the compile cache are warm, as after any first call.
  const first = {
    docker: (await dockerPs()).ms,
    hpctl: checked('bin/hpctl list', await hpctlList(), names),
    server: await serverFirstAnswer({ NODE_COMPILE_CACHE: join(bench.tmp, 'fresh-compile-cache') }),
  };

  const raw = { list: [] as number[], server: [] as number[] };
  const hp = { list: [] as number[], server: [] as number[] };
  for (let i = 0; i < sizes.commandReps; i++) {
    ctx.progress(`the README's commands ${i + 1}/${sizes.commandReps}`);
    const pairs = [
      [
        async () => raw.list.push(checked('docker ps', await dockerPs(), names)),
        async () => hp.list.push(checked('bin/hpctl list', await hpctlList(), names)),
      ],
      [async () => raw.server.push(checked('docker ps', await dockerPs(), names)), async () => hp.server.push(await serverFirstAnswer())],
    ];
    // Each side goes first as often as the other.
    for (const pair of pairs) {
      if (i % 2 === 1) pair.reverse();
      for (const side of pair) await side();
    }
  }

  ctx.progress(`npx hpctl list × ${sizes.npxRuns}`);
  const npx: number[] = [];
  const npxRaw: number[] = [];
  for (let i = 0; i < sizes.npxRuns; i++) {
    npxRaw.push(checked('docker ps', await dockerPs(), names));
    npx.push(checked('npx hpctl list', await bench.runCommand('npx', ['hpctl', 'list'], env), names));
  }

  const n = `median of ${sizes.commandReps}`;
  const listRow = ratioRow(
    `bin/hpctl list: spawn → exit (${n}; raw = docker ps)`,
    median(raw.list),
    median(hp.list),
    undefined,
    Math.max(cv(raw.list), cv(hp.list)),
  );
  ctx.rows.push({ ...listRow, target: '< 500 ms absolute', verdict: median(hp.list) < 500 ? 'met' : 'missed' });
  const serverRow = ratioRow(
    `bin/hydroplane: spawn → first 200 on GET /process (${n}; raw = docker ps)`,
    median(raw.server),
    median(hp.server),
    undefined,
    Math.max(cv(raw.server), cv(hp.server)),
  );
  ctx.rows.push({ ...serverRow, target: '< 1000 ms absolute', verdict: median(hp.server) < 1000 ? 'met' : 'missed' });
  const npxRow = ratioRow(
    `npx hpctl list: spawn → exit (median of ${sizes.npxRuns}; raw = docker ps)`,
    median(npxRaw),
    median(npx),
    undefined,
    Math.max(cv(npxRaw), cv(npx)),
  );
  ctx.rows.push({ ...npxRow, target: "(the README's former way)", verdict: 'info' });

  ctx.notes.push(
    `README's commands (${sizes.commandProcesses} processes): bin/hpctl list ${hp.list.map(ms).join(', ')} (first, untimed: ${ms(first.hpctl)}); ` +
      `bin/hydroplane to its first GET /process ${hp.server.map(ms).join(', ')} (first, untimed, empty compile cache: ${ms(first.server)}); docker ps ${[...raw.list, ...raw.server].map(ms).join(', ')} (first, untimed: ${ms(first.docker)}); ` +
      `npx hpctl list ${npx.map(ms).join(', ')}`,
  );
  await Promise.all(
    names.map((name) =>
      bench.docker
        .getContainer(name)
        .remove({ force: true, v: true })
        .catch(() => {}),
    ),
  );
}
