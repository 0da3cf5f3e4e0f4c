// What every scenario shares: the Engine (raw, through dockerode), Hydroplane servers as child
// processes, unique names, and cleanup of everything the run made, also after failures and Ctrl-C.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { HydroplaneClient } from '../../src/client.ts';
import { PROCESS_LABEL } from '../../src/labels.ts';
import { containerCreateOptions } from '../../src/runtimes/docker/container-options.ts';
import { ProcessSpec, type ProcessSpecInput } from '../../src/spec/process-spec.ts';
import { freePort } from '../../test/support/net.ts';
import { pool, sleep } from './stats.ts';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const HYDROPLANE_BIN = join(ROOT, 'dist/cli/hydroplane.js');
/** Set in the environment of every process the bench starts, to the run's id: what finds strays. */
export const RUN_MARKER = 'HYDROPLANE_BENCH_RUN';
export const IMAGE = process.env.HYDROPLANE_TEST_IMAGE ?? 'hydroplane-test/busybox:latest';

export interface ServerChild {
  pid: number;
  url: string;
  client: HydroplaneClient;
  /** From spawn to the first 200 on /health (or the spawn's readyPath). */
  readyMs: number;
  /**
   * The CPU time its threads had used at that first answer (cpuMs): unlike readyMs, barely moved
   * by other processes on the machine, so a start-up change shows in it through a busy machine's noise.
   */
  readyCpuMs: number;
  output(): string;
  rssMb(): Promise<number>;
  stop(): Promise<void>;
}

export interface SpawnOptions {
  /** The runtime section; defaults to docker on the bench network, stop_grace_seconds 0. */
  runtime?: Record<string, unknown>;
  nodeArgs?: string[];
  /** Another build of the server (an A/B comparison): its dist/cli/hydroplane.js. */
  bin?: string;
  /** A command other than the hydroplane server (the bare Node baseline). */
  command?: (port: number) => string[];
  /** What to execute instead of this Node (bin/hydroplane, the README's launcher), given `command`'s arguments. */
  file?: string;
  /** Ready means a first 200 on this path; /health by default. */
  readyPath?: string;
  /** More environment for the server. */
  env?: Record<string, string>;
}

export interface CommandRun {
  ms: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** VmRSS of a live process, in MB (10^6 bytes). */
export async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!kb) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return (Number(kb[1]) * 1024) / 1e6;
}

/**
 * The CPU time a live process's threads have run, in ms: the sum of each thread's run time in
 * /proc/PID/task/TID/schedstat (its first field, in ns, the scheduler's own account, not ticks).
 * A thread that has already ended is not counted; Node's own threads (V8's workers, libuv's pool)
 * live as long as the process.
 */
export async function cpuMs(pid: number): Promise<number> {
  let ns = 0;
  for (const tid of await readdir(`/proc/${pid}/task`)) {
    try {
      ns += Number((await readFile(`/proc/${pid}/task/${tid}/schedstat`, 'utf8')).split(' ')[0]);
    } catch {
      // the thread ended between the two reads
    }
  }
  return ns / 1e6;
}

/**
 * For the probes that fill an Engine outside a Bench (list-probe, semi-space-probe): removes every
 * container whose name has `prefix`, 16 at a time, then their network; the number removed.
 */
export async function removeProbeContainers(docker: Dockerode, prefix: string, network: string): Promise<number> {
  const ids = (await docker.listContainers({ all: true, filters: { name: [prefix] } })).map((c) => c.Id);
  await pool(ids, 16, (id) => docker.getContainer(id).remove({ force: true, v: true }));
  // Docker 20.10 may refuse an emptied network ("has active endpoints"): left, as the bench's own.
  await docker
    .getNetwork(network)
    .remove()
    .catch(() => {});
  return ids.length;
}

export class Bench {
  readonly id = randomBytes(4).toString('hex');
  /** Every container and network of this run is named with it. */
  readonly prefix = `hp-bench-${this.id}-`;
  readonly network = `${this.prefix}net`;
  readonly docker = new Dockerode();
  tmp = '';
  #count = 0;
  readonly #children = new Set<ChildProcess>();
  readonly #closers = new Set<() => Promise<void>>();
  #cleaned: Promise<void> | undefined;

  /** Whether the cleanup has begun (a signal, or the end): scenarios make nothing more. */
  get cleaning(): boolean {
    return this.#cleaned !== undefined;
  }

  async init(): Promise<void> {
    this.tmp = await mkdtemp(join(tmpdir(), 'hp-bench-'));
    await this.docker.createNetwork({ Name: this.network, Driver: 'bridge', CheckDuplicate: true });
  }

  /** A process name unique to this run. */
  name(tag: string): string {
    this.#count += 1;
    return `${this.prefix}${tag}${this.#count}`;
  }

  spec(name: string, group?: string, hostPort?: number): ProcessSpecInput {
    return {
      process_name: name,
      ...(group === undefined ? {} : { group }),
      container: {
        image_uri: IMAGE,
        command: ['sleep', '3600'],
        ports: hostPort === undefined ? [] : [{ container_port: 8080, host_port: hostPort }],
      },
    };
  }

  /** The very body that Hydroplane sends to POST /containers/create for this spec. */
  createOptions(spec: ProcessSpecInput): Dockerode.ContainerCreateOptions {
    return containerCreateOptions(ProcessSpec.parse(spec), new Map(), { network: this.network });
  }

  /** The raw side of a start: create, then start. Returns the container's id. */
  async rawStart(spec: ProcessSpecInput): Promise<string> {
    const container = await this.docker.createContainer(this.createOptions(spec));
    await container.start();
    return container.id;
  }

  /** The raw side of a stop, with Hydroplane's semantics at stop_grace_seconds 0. */
  async rawStop(id: string): Promise<void> {
    const container = this.docker.getContainer(id);
    await container.stop({ t: 0 });
    await container.remove({ force: true, v: true });
  }

  /** The raw side of a list: the same label filter as Hydroplane's. */
  rawList(group?: string): Promise<Dockerode.ContainerInfo[]> {
    const label = group === undefined ? [PROCESS_LABEL] : [PROCESS_LABEL, `hydroplane/group-id=${group}`];
    return this.docker.listContainers({ all: true, filters: { label } });
  }

  async writeConfig(runtime: Record<string, unknown>): Promise<string> {
    this.#count += 1;
    const file = join(this.tmp, `config-${this.#count}.yml`);
    // JSON is YAML.
    await writeFile(file, JSON.stringify({ secret_store: { secret_store_type: 'none' }, runtime }, null, 2));
    return file;
  }

  /** Starts a server (the compiled hydroplane, as users run it) and waits for its first 200 on /health. */
  async spawnServer(options: SpawnOptions = {}): Promise<ServerChild> {
    const port = await freePort();
    let args: string[];
    if (options.command) {
      args = options.command(port);
    } else {
      const runtime = options.runtime ?? { runtime_type: 'docker', network: this.network, stop_grace_seconds: 0 };
      args = [...(options.nodeArgs ?? []), options.bin ?? HYDROPLANE_BIN, '-c', await this.writeConfig(runtime), '-p', String(port)];
    }
    const url = `http://127.0.0.1:${port}`;
    // A scenario still running when a signal starts the cleanup must not leave a child behind it.
    if (this.#cleaned) throw new Error('the bench is cleaning up: no new server');
    const started = performance.now();
    const env = { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'info', ...options.env, [RUN_MARKER]: this.id };
    const child = spawn(options.file ?? process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    this.#children.add(child);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    void exited.then(() => this.#children.delete(child));
    // Kept short, and always drained: a full pipe would stall the server.
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-20_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);

    let readyMs: number | undefined;
    while (readyMs === undefined) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`the server exited (${child.exitCode ?? child.signalCode}) before answering:\n${output}`);
      try {
        const res = await fetch(`${url}${options.readyPath ?? '/health'}`, { signal: AbortSignal.timeout(2000) });
        await res.arrayBuffer();
        if (res.ok) readyMs = performance.now() - started;
      } catch {
        // not listening yet
      }
      if (readyMs === undefined) {
        if (performance.now() - started > 30_000) {
          child.kill('SIGKILL');
          throw new Error(`the server did not answer ${options.readyPath ?? '/health'} within 30 s:\n${output}`);
        }
        await sleep(5);
      }
    }
    const pid = child.pid!;
    const readyCpuMs = await cpuMs(pid);
    return {
      pid,
      url,
      client: new HydroplaneClient(url),
      readyMs,
      readyCpuMs,
      output: () => output,
      rssMb: () => rssMb(pid),
      stop: async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(killer);
        }
      },
    };
  }

  /**
   * Runs a short command (hpctl, docker ps) to its end: wall time from spawn to exit, as a shell's
   * `time` would see it. Killed at cleanup like the servers, and after 30 s.
   */
  async runCommand(file: string, args: string[], env: Record<string, string> = {}): Promise<CommandRun> {
    if (this.#cleaned) throw new Error('the bench is cleaning up: no new command');
    const started = performance.now();
    const child = spawn(file, args, {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env, [RUN_MARKER]: this.id },
    });
    this.#children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout = (stdout + d.toString()).slice(-20_000)));
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20_000)));
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (c) => resolve(c));
    }).finally(() => {
      clearTimeout(killer);
      this.#children.delete(child);
    });
    return { ms: performance.now() - started, code, stdout, stderr };
  }

  /** Something to close at cleanup (a proxy, a socket server, a stand-in). */
  onCleanup(close: () => Promise<void>): void {
    this.#closers.add(close);
  }

  /** Removes every container of this run (by name, and by network). */
  async sweep(): Promise<number> {
    const [byName, byNetwork] = await Promise.all([
      this.docker.listContainers({ all: true, filters: { name: [this.prefix] } }).catch(() => []),
      this.docker.listContainers({ all: true, filters: { network: [this.network] } }).catch(() => []),
    ]);
    const ids = new Set([...byName, ...byNetwork].map((c) => c.Id));
    await pool([...ids], 8, (id) =>
      this.docker
        .getContainer(id)
        .remove({ force: true, v: true })
        .catch(() => {}),
    );
    return ids.size;
  }

  /**
   * Retried for up to 10 s, for endpoints the Engine is still releasing. Docker 20.10 can also keep
   * a network's endpoint count after many concurrent removals ("has active endpoints" with no
   * container attached; seen with the tests' networks too): such an empty network stays until
   * dockerd restarts, and is named on stderr.
   */
  async #removeNetwork(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.docker.getNetwork(this.network).remove();
        return;
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode === 404) return;
        if (attempt >= 10) {
          process.stderr.write(
            `bench: could not remove the network ${this.network} (it has no containers left): ${(err as Error).message}\n`,
          );
          return;
        }
      }
      await sleep(1000);
      await this.sweep();
    }
  }

  /** Everything this run made: child servers, sockets, containers, the network, the temp folder. Idempotent. */
  cleanup(): Promise<void> {
    this.#cleaned ??= (async () => {
      await Promise.all(
        [...this.#children].map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              child.once('exit', () => resolve());
              child.kill('SIGTERM');
              setTimeout(() => child.kill('SIGKILL'), 3000).unref();
            }),
        ),
      );
      await Promise.all([...this.#closers].map((close) => close().catch(() => {})));
      await this.sweep();
      // A create still in flight when the sweep listed would escape it.
      await sleep(1000);
      await this.sweep();
      await this.#removeNetwork();
      if (this.tmp) await rm(this.tmp, { recursive: true, force: true });
    })();
    return this.#cleaned;
  }
}

/** Counts container events on the Engine that are not this run's: other people's activity. */
export async function watchOtherActivity(bench: Bench): Promise<{ count: () => number; stop: () => void }> {
  let others = 0;
  const stream = (await bench.docker.getEvents({
    filters: { type: ['container'], event: ['create', 'start', 'die', 'destroy'] },
  })) as NodeJS.ReadableStream & {
    destroy?: () => void;
  };
  let buffered = '';
  stream.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      try {
        const event = JSON.parse(line) as { Actor?: { Attributes?: { name?: string } } };
        if (!event.Actor?.Attributes?.name?.startsWith(bench.prefix)) others++;
      } catch {
        // a partial line
      }
    }
  });
  stream.on('error', () => {});
  return { count: () => others, stop: () => stream.destroy?.() };
}
