// What the tests that need a real Docker Engine share: whether there is one, unique names, and
// cleanup that runs even when a test fails.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { type Socket, connect } from 'node:net';
import { after, type TestContext } from 'node:test';
import { inspect } from 'node:util';
import Dockerode from 'dockerode';
import { engineConnection } from '../../src/runtimes/docker/connection.ts';
import { DockerRuntime, type DockerRuntimeOptions } from '../../src/runtimes/docker/docker-runtime.ts';
import { DockerRuntimeConfig } from '../../src/config/schema.ts';
import type { SecretStore } from '../../src/secrets/secret-store.ts';
import { MemorySecretStore } from './memory-secret-store.ts';
import { type Lack, runOrSkip, skipOrFail } from './needs.ts';

export const TEST_IMAGE = process.env.HYDROPLANE_TEST_IMAGE ?? 'hydroplane-test/busybox:latest';
export const NAME_PREFIX = 'hp-test-';
const HOW_TO_ENABLE = 'bash scripts/ensure-docker.sh && bash scripts/build-test-image.sh';

let problem: Promise<string | undefined> | undefined;

/** Undefined when the Engine answers and has the test image; else what is missing. */
export function dockerProblem(): Promise<string | undefined> {
  problem ??= (async () => {
    const docker = new Dockerode();
    try {
      await docker.ping();
    } catch (err) {
      return `no Docker Engine answers (${(err as Error).message})`;
    }
    try {
      await docker.getImage(TEST_IMAGE).inspect();
    } catch {
      return `the Docker Engine has no image ${TEST_IMAGE}`;
    }
    return undefined;
  })();
  return problem;
}

/** What a test lacks without the Engine and its test image (needs.ts), or undefined. */
export async function dockerLack(): Promise<Lack | undefined> {
  const missing = await dockerProblem();
  return missing === undefined ? undefined : { missing, toEnable: HOW_TO_ENABLE };
}

/**
 * For `describe(name, { skip: await dockerSkip() }, ...)`: false when Docker can run the tests,
 * else the reason to skip. In CI (CI set) a missing Engine fails the file loudly instead.
 */
export async function dockerSkip(): Promise<string | false> {
  return skipOrFail('Docker tests', [await dockerLack()]);
}

/** In a test: true when Docker can run it; else skips it (or, in CI, fails it). */
export async function requireDocker(t: TestContext): Promise<boolean> {
  return runOrSkip(t, 'Docker tests', [await dockerLack()]);
}

/** The Engine that the tests run against (DOCKER_HOST, else the local socket), as GET /version names it. */
export interface EngineInfo {
  kind: 'docker' | 'podman';
  /** "20.10.24+dfsg1", "26.1.5+dfsg1", "4.3.1" (Podman's own version). */
  version: string;
  /** The Docker API version it serves: "1.41", "1.45". */
  apiVersion: string;
  /** The major version of `version`: 20, 26, 4. */
  major: number;
}

let info: Promise<EngineInfo> | undefined;

/**
 * What Engine this is, for the few assertions whose honest answer differs by Engine (each one
 * documented in src/runtimes/docker/README.md). The runtime itself does not ask.
 */
export function engineInfo(): Promise<EngineInfo> {
  info ??= (async () => {
    const v = (await new Dockerode().version()) as Dockerode.DockerVersion & { Components?: Array<{ Name?: string }> };
    const podman = (v.Components ?? []).some((c) => /podman/i.test(c.Name ?? ''));
    return { kind: podman ? 'podman' : 'docker', version: v.Version, apiVersion: v.ApiVersion, major: Number.parseInt(v.Version, 10) };
  })();
  return info;
}

/** A raw connection to the Engine that DOCKER_HOST names (unix socket or tcp), as the tests' Dockerode makes. */
export function connectToEngine(): Socket {
  const { options } = engineConnection(undefined);
  return options.socketPath ? connect(options.socketPath) : connect(Number(options.port), String(options.host));
}

export function randomId(): string {
  return randomBytes(4).toString('hex');
}

/**
 * One test file's share of the Engine: a name prefix, its own network (so that a user's
 * `hydroplane` network is never touched), and cleanup, registered with `after`, that removes
 * every container named with the prefix or attached to the network, then the network.
 * Call at the top level of a test file.
 */
export class DockerTestRun {
  readonly id = randomId();
  readonly prefix = `${NAME_PREFIX}${this.id}-`;
  readonly network = `${this.prefix}net`;
  readonly docker = new Dockerode();
  #count = 0;

  constructor() {
    after(() => this.cleanup());
  }

  /** A process name unique to this run: hp-test-<run>-<tag><n>. */
  name(tag = 'p'): string {
    this.#count += 1;
    return `${this.prefix}${tag}${this.#count}`;
  }

  config(overrides: Partial<DockerRuntimeConfig> = {}): DockerRuntimeConfig {
    return DockerRuntimeConfig.parse({
      runtime_type: 'docker',
      network: this.network,
      stop_grace_seconds: 1,
      request_timeout_seconds: 20,
      ...overrides,
    });
  }

  runtime(options: Partial<DockerRuntimeOptions> & { config?: Partial<DockerRuntimeConfig>; secrets?: SecretStore } = {}): DockerRuntime {
    return new DockerRuntime({ ...options, config: this.config(options.config), secrets: options.secrets ?? new MemorySecretStore() });
  }

  /** Removes every container of this run. Safe to call more than once, and after failures. */
  async cleanupContainers(): Promise<void> {
    const [byNetwork, all] = await Promise.all([
      this.docker.listContainers({ all: true, filters: { network: [this.network] } }).catch(() => []),
      this.docker.listContainers({ all: true }).catch(() => []),
    ]);
    const ids = new Set(byNetwork.map((c) => c.Id));
    for (const c of all) if (c.Names.some((n) => n.startsWith(`/${this.prefix}`))) ids.add(c.Id);
    await Promise.all(
      [...ids].map((id) =>
        this.docker
          .getContainer(id)
          .remove({ force: true, v: true })
          .catch(() => {}),
      ),
    );
  }

  async cleanup(): Promise<void> {
    await this.cleanupContainers();
    await this.docker
      .getNetwork(this.network)
      .remove()
      .catch(() => {});
  }
}

export { freePort } from './net.ts';

export interface EngineRequest {
  method: string;
  /** The path as dockerode dials it, before its query. */
  path: string;
  /** The query parameters, as the Engine receives them. */
  query: URLSearchParams;
}

/** A Dockerode whose every Engine request is recorded. */
export function countingDocker(): { docker: Dockerode; requests: EngineRequest[] } {
  const docker = new Dockerode();
  const requests: EngineRequest[] = [];
  const dial = docker.modem.dial.bind(docker.modem);
  docker.modem.dial = (options, callback) => {
    // As docker-modem builds the query: objects go as JSON.
    const query = new URLSearchParams();
    const params = (options.options?._query ?? options.options ?? {}) as Record<string, unknown>;
    for (const [key, value] of Object.entries(params)) {
      if (key !== '_body') query.set(key, typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value));
    }
    requests.push({ method: options.method ?? 'GET', path: options.path.replace(/\?$/, ''), query });
    dial(options, callback);
  };
  return { docker, requests };
}

/** Polls `probe` until it returns something other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}${last === undefined ? '' : ` (last error: ${described(last)})`}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** An error as String() shows it ("Error: ..."); anything else thrown, as util.inspect does. */
function described(thrown: unknown): string {
  return thrown instanceof Error ? String(thrown) : inspect(thrown);
}
