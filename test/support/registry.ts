// A real private registry for the tests: Debian's docker-registry (the distribution registry) on
// 127.0.0.1 with htpasswd auth, which the Engine treats as an insecure registry, so plain HTTP
// works. Images go in through the Engine API with credentials, so no `docker login` state is
// written to ~/.docker.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestContext } from 'node:test';
import Dockerode from 'dockerode';
import { TEST_IMAGE, dockerLack, freePort } from './docker.ts';
import { type Lack, runOrSkip, skipOrFail } from './needs.ts';

const execFileAsync = promisify(execFile);

export const REGISTRY_BIN = process.env.HYDROPLANE_TEST_REGISTRY_BIN ?? '/usr/bin/docker-registry';

export interface TestRegistry {
  /** host:port, the domain part of an image reference. */
  host: string;
  username: string;
  password: string;
  /** Everything the registry wrote, for failure messages. */
  output(): string;
  /** Stops the registry and removes its folder. Safe to call more than once. */
  close(): Promise<void>;
}

async function executable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}

async function htpasswdAvailable(): Promise<boolean> {
  try {
    await execFileAsync('htpasswd', ['-Bbn', 'probe', 'probe']);
    return true;
  } catch {
    return false;
  }
}

let lacks: Promise<Array<Lack | undefined>> | undefined;

/** What keeps a registry from starting, or the Engine from pushing to and pulling from it. */
function registryLacks(): Promise<Array<Lack | undefined>> {
  lacks ??= (async () => [
    (await executable(REGISTRY_BIN))
      ? undefined
      : { missing: `${REGISTRY_BIN} is not installed (Debian's docker-registry)`, toEnable: 'apt-get install -y docker-registry' },
    (await htpasswdAvailable())
      ? undefined
      : { missing: 'htpasswd is not installed (apache2-utils)', toEnable: 'apt-get install -y apache2-utils' },
    await dockerLack(),
  ])();
  return lacks;
}

/**
 * For `describe(name, { skip: await registrySkip() }, ...)`: false when the tests can run, else
 * the reason to skip. In CI (CI set) anything missing fails the file loudly instead.
 */
export async function registrySkip(): Promise<string | false> {
  return skipOrFail('registry tests', await registryLacks());
}

/** In a test: true when it can run; else skips it (or, in CI, fails it). */
export async function requireRegistry(t: TestContext): Promise<boolean> {
  return runOrSkip(t, 'registry tests', await registryLacks());
}

function registryConfig(root: string, port: number): string {
  return [
    'version: 0.1',
    'log:',
    '  level: info',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${JSON.stringify(join(root, 'storage'))}`,
    'http:',
    `  addr: 127.0.0.1:${port}`,
    'auth:',
    '  htpasswd:',
    '    realm: hydroplane-test',
    `    path: ${JSON.stringify(join(root, 'htpasswd'))}`,
    '',
  ].join('\n');
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/**
 * Starts a registry that wants a login, on a free port of 127.0.0.1, with a random user and
 * password. Resolves once `GET /v2/` answers 401, that is once it serves and checks credentials.
 */
export async function startRegistry(options: { timeoutMs?: number } = {}): Promise<TestRegistry> {
  const root = await mkdtemp(join(tmpdir(), 'hp-registry-'));
  const username = `hp-user-${randomBytes(3).toString('hex')}`;
  const password = `hp-regpass-${randomBytes(12).toString('hex')}`;
  try {
    // bcrypt: the registry refuses any other htpasswd hash.
    const { stdout } = await execFileAsync('htpasswd', ['-Bbn', username, password]);
    await writeFile(join(root, 'htpasswd'), stdout, { mode: 0o600 });
    // A free port may be taken between the probe and the registry's bind: try another then.
    let lastOutput = '';
    for (let attempt = 1; attempt <= 3; attempt++) {
      const port = await freePort();
      const configFile = join(root, 'config.yml');
      await writeFile(configFile, registryConfig(root, port));
      const child = spawn(REGISTRY_BIN, ['serve', configFile], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      const keep = (d: Buffer) => {
        // All of it (tests look for requests in it), up to a bound that a test run never reaches.
        output = (output + d.toString()).slice(-4_000_000);
      };
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
      const host = `127.0.0.1:${port}`;
      const ready = await waitUntilServing(host, child, spawnError, options.timeoutMs ?? 15_000);
      if (ready === true) {
        let closed: Promise<void> | undefined;
        return {
          host,
          username,
          password,
          output: () => output,
          close() {
            closed ??= stopChild(child).then(() => rm(root, { recursive: true, force: true }));
            return closed;
          },
        };
      }
      await stopChild(child);
      lastOutput = `${ready}\n${output}`;
      if (!/address already in use/i.test(output)) break;
    }
    throw new Error(`docker-registry did not start: ${lastOutput}`);
  } catch (err) {
    await rm(root, { recursive: true, force: true });
    throw err;
  }
}

/** True once GET /v2/ answers 401; else why not (the process ended, or the time ran out). */
async function waitUntilServing(host: string, child: ChildProcess, spawnError: Promise<Error>, timeoutMs: number): Promise<true | string> {
  const deadline = Date.now() + timeoutMs;
  let failed: string | undefined;
  void spawnError.then((err) => (failed = `cannot run ${REGISTRY_BIN}: ${err.message}`));
  let last = '';
  for (;;) {
    if (failed) return failed;
    if (child.exitCode !== null || child.signalCode !== null) return `docker-registry exited (${child.exitCode ?? child.signalCode})`;
    try {
      const res = await fetch(`http://${host}/v2/`, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      if (res.status === 401) return true;
      last = `GET /v2/ answered ${res.status}, not 401: is auth configured?`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) return `no 401 from http://${host}/v2/ within ${timeoutMs} ms (last: ${last})`;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Follows an Engine progress stream to its end; rejects with the first error it reports. */
function followProgress(docker: Dockerode, stream: NodeJS.ReadableStream): Promise<void> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(stream, (err: Error | null, events: Array<{ error?: string; errorDetail?: { message?: string } }>) => {
      if (err) return reject(err);
      const failed = events.find((e) => e.error !== undefined || e.errorDetail !== undefined);
      if (failed) return reject(new Error(failed.errorDetail?.message ?? failed.error));
      resolve();
    });
  });
}

/**
 * Puts `source` (the test image by default) into the registry as `<host>/<repository>:<tag>`
 * through the Engine API, then removes that local tag so that starting the image needs a pull.
 * Returns the image reference.
 */
export async function pushImage(
  registry: TestRegistry,
  options: { repository?: string; tag?: string; source?: string; docker?: Dockerode } = {},
): Promise<string> {
  const docker = options.docker ?? new Dockerode();
  const repo = `${registry.host}/${options.repository ?? 'private/busybox'}`;
  const tag = options.tag ?? `t-${randomBytes(4).toString('hex')}`;
  const ref = `${repo}:${tag}`;
  await docker.getImage(options.source ?? TEST_IMAGE).tag({ repo, tag });
  try {
    const image = docker.getImage(ref);
    const stream = await image.push({
      authconfig: { username: registry.username, password: registry.password, serveraddress: registry.host },
    });
    await followProgress(docker, stream);
  } finally {
    await removeLocalImage(ref, docker);
  }
  return ref;
}

/**
 * Removes one image reference from the Engine: only the name goes while another name (the test
 * image's) holds the same image. Never by ID, never forced, so the test image stays.
 */
export async function removeLocalImage(ref: string, docker: Dockerode = new Dockerode()): Promise<void> {
  try {
    await docker.getImage(ref).remove();
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode !== 404) throw err;
  }
}

/** Whether the Engine has this image reference. */
export async function hasLocalImage(ref: string, docker: Dockerode = new Dockerode()): Promise<boolean> {
  return docker
    .getImage(ref)
    .inspect()
    .then(
      () => true,
      () => false,
    );
}
