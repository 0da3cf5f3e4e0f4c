// What the fault tests share: an in-process server with its logs captured, a small HTTP client,
// and a second Docker daemon of the test's own, for tests that stop an Engine or cull everything
// on it (neither may touch the Engine that everyone else uses).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { after } from 'node:test';
import { Writable } from 'node:stream';
import Dockerode from 'dockerode';
import type { FastifyBaseLogger } from 'fastify';
import { pino } from 'pino';
import { type RunningServer, startServer } from '../../src/server/start-server.ts';
import { TEST_IMAGE, dockerLack, randomId } from '../support/docker.ts';
import { type Lack, skipOrFail } from '../support/needs.ts';
import { writeConfig } from '../support/server-process.ts';

export interface LogLine {
  level: number;
  msg?: string;
  [key: string]: unknown;
}

/** A pino logger whose every line is kept, parsed, for assertions. */
export function captureLogger(): { logger: FastifyBaseLogger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  let partial = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const parts = (partial + chunk.toString()).split('\n');
      partial = parts.pop() ?? '';
      for (const part of parts) if (part.trim() !== '') lines.push(JSON.parse(part) as LogLine);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, sink) as FastifyBaseLogger, lines };
}

/** pino's numeric levels. */
export const WARN = 40;

/** The real server, in this process, on a free port, from a config file with this YAML. */
export async function startInProcess(yaml: string, logger: FastifyBaseLogger): Promise<RunningServer> {
  const configPath = await writeConfig(yaml);
  return startServer({
    configPath,
    host: '127.0.0.1',
    port: 0,
    logger,
    env: {},
    password: () => Promise.reject(new Error('no secret store password in these tests')),
  });
}

export interface Answer {
  status: number;
  /** The parsed JSON: a process, a list, {stopped} or an error body. */
  body: any;
}

export async function call(base: string, method: string, path: string, body?: unknown): Promise<Answer> {
  const init: RequestInit = { method };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { 'content-type': 'application/json' };
  }
  const res = await fetch(base + path, init);
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
}

/** Counts of each value: [201, 409, 409] -> {201: 1, 409: 2}. */
export function tally<T extends string | number>(values: T[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[String(v)] = (out[String(v)] ?? 0) + 1;
  return out;
}

// How to provide what the second daemon needs, after what is missing (needs.ts).
const SECOND_ENGINE_HOW =
  'run them as root with dockerd, docker and ip (iproute2) on the PATH, and the main Engine with the test image: they start a second dockerd of their own';

/** The host's own Engine, in which the nested Engine 26 of scripts/engine-docker26.sh runs. */
const HOST_ENGINE = 'unix:///var/run/docker.sock';

/**
 * Where the second daemon runs. 'host': this machine's dockerd, beside the host's Engine (when
 * DOCKER_HOST is unset or that Engine). 'docker26': the nested Engine 26's own dockerd, in its
 * container and network namespace (scripts/engine-docker26.sh exec or run set HYDROPLANE_ENGINE),
 * so that the daemon that stops and starts is an Engine 26. Anything else: none.
 */
export type SecondEnginePlace = 'host' | 'docker26';

export function secondEnginePlace(): SecondEnginePlace | undefined {
  const host = process.env.DOCKER_HOST;
  if (!host || host === HOST_ENGINE) return 'host';
  if (process.env.HYDROPLANE_ENGINE === 'docker26' && host.startsWith('unix://')) return 'docker26';
  return undefined;
}

/** The Engine that DOCKER_HOST names, described, when it is not this machine's own daemon. */
export function otherEngine(): string | undefined {
  const host = process.env.DOCKER_HOST;
  if (!host || host === HOST_ENGINE) return undefined;
  const name = process.env.HYDROPLANE_ENGINE;
  return name ? `${name} (${host})` : host;
}

let secondEngineLack: Promise<Lack | undefined> | undefined;

/** Undefined when a second daemon can run here; else what is missing. */
function secondEngineMissing(): Promise<Lack | undefined> {
  secondEngineLack ??= (async () => {
    const main = await dockerLack();
    if (main !== undefined) return main;
    const missing = (() => {
      if (process.getuid?.() !== 0) return 'not running as root';
      if (secondEnginePlace() === 'host' && spawnSync('dockerd', ['--version']).status !== 0) return 'no dockerd on the PATH';
      if (spawnSync('docker', ['--version']).status !== 0) return 'no docker command on the PATH (to copy the test image)';
      if (spawnSync('ip', ['-V']).status !== 0) return "no 'ip' command (iproute2), to make the second daemon's bridge";
      return undefined;
    })();
    return missing === undefined ? undefined : { missing, toEnable: SECOND_ENGINE_HOW };
  })();
  return secondEngineLack;
}

/** For `describe(..., { skip })`: false, or why to skip; in CI (CI set), a failure instead (needs.ts). */
export async function secondEngineSkip(): Promise<string | false> {
  // A decision, not something missing: so no failure in CI. Podman has no daemon that its
  // containers die with, and a second Podman service shares the first one's storage and bridges.
  if (secondEnginePlace() === undefined) {
    return `DOCKER_HOST names ${otherEngine()}: these tests stop and start a second dockerd of their own, on the host's Engine or in the nested Engine 26; there is none for this Engine (see the file's header)`;
  }
  return skipOrFail('fault tests', [await secondEngineMissing()]);
}

/**
 * A dockerd of the test's own, beside the main one: its own socket, data root, exec root (and so
 * its own containerd), pidfile and config file. It must not touch the main daemon's docker0 nor
 * its firewall: `--iptables=false`, and a default bridge of its own made here. Two flags that look
 * right delete the host's docker0, the main daemon's (dockerd's removeDefaultBridgeInterface):
 * `--bridge none`, at every start, and `--default-address-pool`, at every restart (when it clears
 * its stale default network). Its other networks take free subnets of the usual pools: dockerd
 * skips those that a route of this machine (the main daemon's bridges included) already covers.
 * Published ports work (through docker-proxy), but containers on one of its bridge networks cannot
 * reach each other when the host filters bridged traffic (br_netfilter) with a FORWARD policy of
 * DROP, as the main daemon sets it: only a daemon with iptables on adds the ACCEPT rules for that.
 *
 * Under the nested Engine 26 (secondEnginePlace() 'docker26'), it is that Engine's dockerd, started
 * with `docker exec` in the Engine's container: the test already runs in its network namespace, so
 * bridge and published ports are there; its socket, pidfile, config and log sit in the folder that
 * the container shares with the host (beside DOCKER_HOST's socket), its data root in the Engine's
 * volume, its containers' cgroups under the Engine's cgroup parent, and containerd namespaces of
 * its own. Removing the Engine (engine-docker26.sh stop) removes whatever this could not.
 *
 * Registered with `after`: the daemon, whatever it left running, its mounts, its bridge and its
 * folders always go, even when a test fails.
 */
export class SecondEngine {
  readonly id = randomId();
  readonly place = secondEnginePlace() ?? 'host';
  /** Socket, pidfile, config and log: as this process sees the folder, and as the daemon does. */
  readonly dir = this.place === 'host' ? `/tmp/hp-fault-${this.id}` : `${dirname(socketOf(process.env.DOCKER_HOST!))}/hp-fault-${this.id}`;
  readonly #innerDir = this.place === 'host' ? this.dir : `/run/hydroplane-engine/hp-fault-${this.id}`;
  readonly #dataRoot = this.place === 'host' ? `${this.dir}/root` : `/var/lib/docker/hp-fault-${this.id}`;
  readonly #execRoot = this.place === 'host' ? `${this.dir}/exec` : `/run/hp-fault-${this.id}`;
  /** The nested Engine's container, and its PID on this machine (once started). */
  readonly #container = process.env.ENGINE_DOCKER26_NAME ?? 'hydroplane-engine-docker26';
  #containerPid: number | undefined;
  readonly socket = `${this.dir}/docker.sock`;
  readonly host = `unix://${this.socket}`;
  readonly docker = new Dockerode({ socketPath: this.socket });
  /** Its default bridge: an interface name of at most 15 characters. */
  readonly bridge = `hpf${this.id}`;
  /** What the daemon is, once started: for the tests' diagnostics. */
  version = '';
  #child: ChildProcess | undefined;
  #exited: Promise<void> | undefined;
  readonly #hadDocker0 = hasDocker0();
  readonly #onExit = () => this.#removeEverything();
  readonly #onSignal = (signal: NodeJS.Signals) => {
    this.#removeEverything();
    process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
  };

  constructor() {
    after(() => this.destroy());
    // Last resorts when the test process ends without running its hooks: exit() from somewhere, or
    // a signal (the test runner's, a Ctrl-C). A leftover dockerd would break whatever runs next.
    process.on('exit', this.#onExit);
    process.once('SIGTERM', this.#onSignal);
    process.once('SIGINT', this.#onSignal);
  }

  /**
   * The daemon's PID on this machine while it runs. A method, not a getter: each call looks
   * again, and TypeScript would carry a narrowed getter's value past a start or a stop.
   */
  currentPid(): number | undefined {
    if (this.place === 'host') return this.#child?.exitCode === null && this.#child.signalCode === null ? this.#child.pid : undefined;
    // The nested daemon is no child of ours (docker exec -d): found by its socket.
    const wanted = `unix://${this.#innerDir}/docker.sock`;
    for (const other of safeReaddir('/proc')) {
      if (!/^\d+$/.test(other)) continue;
      const argv = safeRead(`/proc/${other}/cmdline`).split('\0');
      if (argv[0]?.endsWith('dockerd') && argv.includes(wanted) && !safeRead(`/proc/${other}/stat`).includes(') Z ')) return Number(other);
    }
    return undefined;
  }

  args(): string[] {
    return [
      '--host',
      `unix://${this.#innerDir}/docker.sock`,
      '--data-root',
      this.#dataRoot,
      '--exec-root',
      this.#execRoot,
      '--pidfile',
      `${this.#innerDir}/docker.pid`,
      '--config-file',
      `${this.#innerDir}/daemon.json`,
      '--bridge',
      this.bridge,
      '--iptables=false',
      '--ip-forward=false',
      // Containers that ignore SIGTERM must not hold a daemon shutdown for the default 15 s.
      '--shutdown-timeout',
      '2',
      ...(this.place === 'host'
        ? []
        : [
            // Not the host Engine's /docker/<id> (the cgroup tree is the host's), nor the nested
            // Engine's containerd namespaces, should it share its containerd.
            '--cgroup-parent',
            `/${this.#container}/hp-fault-${this.id}`,
            '--containerd-namespace',
            `hp-fault-${this.id}`,
            '--containerd-plugins-namespace',
            `hp-fault-${this.id}-plugins`,
          ]),
    ];
  }

  /** Starts the daemon (again) and waits until it answers. */
  async start(): Promise<void> {
    assert.equal(this.currentPid(), undefined, 'the second daemon is already running');
    await mkdir(this.dir, { recursive: true });
    // Its own (empty) config, so that /etc/docker/daemon.json (say, its "hosts") does not apply.
    await writeFile(`${this.dir}/daemon.json`, '{}\n');
    if (!hasLink(this.bridge)) this.#makeBridge();
    let exited: () => boolean;
    if (this.place === 'host') {
      const log = openSync(`${this.dir}/dockerd.log`, 'a');
      const child = spawn('dockerd', this.args(), { stdio: ['ignore', log, log] });
      closeSync(log);
      this.#child = child;
      this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
      exited = () => child.exitCode !== null || child.signalCode !== null;
    } else {
      const inspected = spawnSync('docker', ['-H', HOST_ENGINE, 'inspect', '--format', '{{.State.Pid}}', this.#container], {
        encoding: 'utf8',
      });
      assert.equal(inspected.status, 0, `the nested Engine's container ${this.#container}: ${inspected.stderr}`);
      this.#containerPid = Number(inspected.stdout.trim());
      const script = 'mkdir -p "$1" && log=$2 && shift 2 && exec dockerd "$@" >>"$log" 2>&1';
      const launched = spawnSync(
        'docker',
        [
          '-H',
          HOST_ENGINE,
          'exec',
          '-d',
          this.#container,
          'sh',
          '-c',
          script,
          'sh',
          this.#dataRoot,
          `${this.#innerDir}/dockerd.log`,
          ...this.args(),
        ],
        { encoding: 'utf8' },
      );
      assert.equal(launched.status, 0, `docker exec dockerd in ${this.#container}: ${launched.stderr}`);
      const since = Date.now();
      // Give docker exec a moment to start it before "not running" means "exited".
      exited = () => Date.now() - since > 3000 && this.currentPid() === undefined;
    }
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (exited()) assert.fail(`the second dockerd exited at start-up:\n${await this.logTail()}`);
      try {
        await this.docker.ping();
        break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) assert.fail(`the second dockerd did not answer within 30 s:\n${await this.logTail()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const pidfile = Number((await readFile(`${this.dir}/docker.pid`, 'utf8')).trim());
    const pid = this.currentPid();
    assert.ok(pid !== undefined, 'the second dockerd answers but its process is not found');
    // In the nested Engine's PID namespace the pidfile holds the PID as seen there (NSpid's last).
    assert.equal(
      pidfile,
      Number(/^NSpid:.*?(\d+)\s*$/m.exec(safeRead(`/proc/${pid}/status`))?.[1] ?? pid),
      'the pidfile names the daemon that was started',
    );
    this.assertDocker0Kept();
    // The daemon that these tests stop is an Engine of the version the other tests use.
    const [mine, main] = await Promise.all([this.docker.version(), new Dockerode().version()]);
    assert.equal(
      `${mine.Version} (API ${mine.ApiVersion})`,
      `${main.Version} (API ${main.ApiVersion})`,
      "the second daemon is the main Engine's version",
    );
    this.version = `Docker Engine ${mine.Version} (API ${mine.ApiVersion}), ${this.place === 'host' ? "beside the host's Engine" : 'in the nested Engine 26'}`;
  }

  /** Fails when the main daemon's docker0 was there before this daemon and is gone now. */
  assertDocker0Kept(): void {
    assert.ok(!this.#hadDocker0 || hasDocker0(), "the second dockerd deleted the main daemon's docker0");
  }

  /** SIGTERM to the daemon, as an init system would; resolves once it has exited. */
  async stop(): Promise<void> {
    const pid = this.currentPid();
    if (pid === undefined) return;
    if (this.place === 'host') {
      const child = this.#child!;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await this.#exited;
      clearTimeout(timer);
      return;
    }
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + 20_000;
    while (this.currentPid() !== undefined) {
      if (Date.now() > deadline) process.kill(pid, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Copies the test image from the main Engine (the Engine of DOCKER_HOST). */
  async loadTestImage(): Promise<void> {
    const save = spawn('docker', ['save', TEST_IMAGE], { stdio: ['ignore', 'pipe', 'pipe'] });
    const load = spawn('docker', ['-H', this.host, 'load', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
    save.stdout.pipe(load.stdin);
    let errors = '';
    save.stderr.on('data', (d) => (errors += d));
    load.stderr.on('data', (d) => (errors += d));
    const codes = await Promise.all([save, load].map((p) => new Promise<number | null>((resolve) => p.once('exit', resolve))));
    assert.deepEqual(codes, [0, 0], `docker save | docker load failed: ${errors}`);
  }

  async logTail(lines = 30): Promise<string> {
    const text = await readFile(`${this.dir}/dockerd.log`, 'utf8').catch(() => '');
    return text.split('\n').slice(-lines).join('\n');
  }

  /** Everything goes: containers, the daemon, its containerd and shims, mounts, the bridge, the folder. */
  async destroy(): Promise<void> {
    if (this.currentPid() !== undefined) {
      // Gracefully first, so that the daemon unmounts and unplugs what it made.
      const containers = await this.docker.listContainers({ all: true }).catch(() => []);
      await Promise.all(
        containers.map((c) =>
          this.docker
            .getContainer(c.Id)
            .remove({ force: true })
            .catch(() => {}),
        ),
      );
      await this.stop();
    }
    this.#removeEverything();
    process.off('exit', this.#onExit);
    process.off('SIGTERM', this.#onSignal);
    process.off('SIGINT', this.#onSignal);
    this.assertDocker0Kept();
  }

  /** A path of the daemon's as this process reaches it (through the nested Engine's root). */
  #seen(path: string): string {
    return this.place === 'host' ? path : `/proc/${this.#containerPid}/root${path}`;
  }

  /** The forceful, synchronous part of destroy(), also fit for an exit handler. */
  #removeEverything(): void {
    if (this.place === 'docker26' && this.#containerPid === undefined) {
      rmSync(this.dir, { recursive: true, force: true });
      return; // never started
    }
    this.#killEverything();
    if (this.place === 'host') {
      for (const mount of mountsUnder('/proc/self/mountinfo', [this.dir])) spawnSync('umount', ['-l', mount]);
    } else {
      const pid = String(this.#containerPid);
      for (const mount of mountsUnder(`/proc/${pid}/mountinfo`, [this.#dataRoot, this.#execRoot])) {
        spawnSync('nsenter', ['-t', pid, '-m', '--', 'umount', '-l', mount]);
      }
    }
    // The daemon leaves the bridges of its networks behind even when it stops gracefully (they
    // outlive a restart); their names are in its network store.
    const store = safeRead(this.#seen(`${this.#dataRoot}/network/files/local-kv.db`), 'latin1');
    const bridges = new Set([this.bridge, ...[...store.matchAll(/"BridgeName":"([\w.-]{1,15})"/g)].map((m) => m[1]!)]);
    for (const bridge of bridges) if (hasLink(bridge)) spawnSync('ip', ['link', 'delete', bridge]);
    if (this.place === 'docker26') {
      for (const path of [this.#dataRoot, this.#execRoot]) rmSync(this.#seen(path), { recursive: true, force: true });
      for (const controller of safeReaddir('/sys/fs/cgroup')) {
        spawnSync(
          'find',
          [`/sys/fs/cgroup/${controller}/${this.#container}/hp-fault-${this.id}`, '-depth', '-type', 'd', '-exec', 'rmdir', '{}', '+'],
          { stdio: 'ignore' },
        );
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** A bridge on a /24 of 10.214.0.0/16 that no route of this network namespace uses yet. */
  #makeBridge(): void {
    const routes = spawnSync('ip', ['-4', 'route'], { encoding: 'utf8' }).stdout;
    const free = Array.from({ length: 256 }, (_, i) => i).filter((i) => !routes.includes(`10.214.${i}.`));
    const octet = free[Math.floor(Math.random() * free.length)];
    assert.ok(octet !== undefined, 'no free /24 in 10.214.0.0/16 for the second daemon');
    for (const args of [
      ['link', 'add', this.bridge, 'type', 'bridge'],
      ['addr', 'add', `10.214.${octet}.1/24`, 'dev', this.bridge],
      ['link', 'set', this.bridge, 'up'],
    ]) {
      const r = spawnSync('ip', args, { encoding: 'utf8' });
      assert.equal(r.status, 0, `ip ${args.join(' ')}: ${r.stderr}`);
    }
  }

  /** SIGKILL to the daemon and to every process that still belongs to it. Synchronous. */
  #killEverything(): void {
    const pid = this.currentPid();
    if (pid !== undefined) process.kill(pid, 'SIGKILL');
    const containerIds = safeReaddir(this.#seen(`${this.#dataRoot}/containers`));
    const mark = `hp-fault-${this.id}`;
    for (const other of safeReaddir('/proc')) {
      if (!/^\d+$/.test(other) || Number(other) === process.pid) continue;
      const cmdline = safeRead(`/proc/${other}/cmdline`);
      const cgroup = safeRead(`/proc/${other}/cgroup`);
      // Its containerd and shims name our folders; container processes sit in cgroups named by id.
      if (cmdline.includes(mark) || containerIds.some((id) => cgroup.includes(id))) {
        try {
          process.kill(Number(other), 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  }
}

/** The path of a unix:// address. */
function socketOf(address: string): string {
  return address.replace(/^unix:\/\//, '');
}

/** Whether this network namespace has that interface (/sys/class/net shows the host's namespace). */
function hasLink(name: string): boolean {
  return spawnSync('ip', ['link', 'show', name], { stdio: 'ignore' }).status === 0;
}

function hasDocker0(): boolean {
  return hasLink('docker0');
}

function safeReaddir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

function safeRead(path: string, encoding: BufferEncoding = 'utf8'): string {
  try {
    return readFileSync(path, encoding);
  } catch {
    return '';
  }
}

/** Mount points under these folders in a mountinfo file, deepest first. */
function mountsUnder(mountinfo: string, dirs: string[]): string[] {
  return safeRead(mountinfo)
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((point) => dirs.some((dir) => point === dir || point.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
}
