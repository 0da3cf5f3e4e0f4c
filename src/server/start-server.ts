// The server's process: configuration -> secret store -> runtime -> app -> listen, plus the
// culler (when configured), the expiry sweeper (always) and a graceful close. Everything it needs
// from the outside comes in as options, so tests can start a real server in-process.
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { ExpirySweeper, SWEEP_INTERVAL_MS } from '../culler/expiry-sweeper.ts';
import { ProcessCuller } from '../culler/process-culler.ts';
import { tokenProblem } from '../api-token.ts';
import { HydroplaneError } from '../errors.ts';
import { createRuntime } from '../runtimes/index.ts';
import type { Runtime } from '../runtimes/runtime.ts';
import { openSecretStore } from '../secrets/index.ts';
import { readConfigSecret } from '../secrets/resolve.ts';
import type { SecretStore } from '../secrets/secret-store.ts';
import type { ServerConfig } from '../config/schema.ts';
import { makeLogger } from './logger.ts';
import { isLoopbackHost } from './loopback.ts';
import { buildApp, type ConnectionTimeouts } from './app.ts';
import { builtInConfig, loadConfig } from '../config/load.ts';
import { VERSION } from '../version.ts';

export interface ServerOptions {
  /** The YAML config file; undefined: the built-in defaults (the local Docker Engine, no secret store). */
  configPath: string | undefined;
  host: string;
  port: number;
  logger?: FastifyBaseLogger;
  /** Asked only when the config uses the local secret store. */
  password: () => Promise<string>;
  /** The environment, for HYDROPLANE_API_TOKEN. */
  env?: NodeJS.ProcessEnv;
  /** Listen on a non-loopback address without an API token. */
  allowUnauthenticated?: boolean;
  /** false: the API only, without the web dashboard at /. */
  dashboard?: boolean;
  /** Connection limits; the defaults are buildApp's. */
  timeouts?: Partial<ConnectionTimeouts>;
  /** How often expired processes are looked for, in ms; default SWEEP_INTERVAL_MS (tests make it shorter). */
  expirySweepIntervalMs?: number;
}

export interface RunningServer {
  app: FastifyInstance;
  runtime: Runtime;
  /** The address it listens on, e.g. http://127.0.0.1:8000 */
  url: string;
  close(): Promise<void>;
}

export const API_TOKEN_ENV = 'HYDROPLANE_API_TOKEN';

/** The ports that the Fetch standard blocks ("bad ports"): no browser opens a page or makes a request there. */
const BROWSER_REFUSED_PORTS = new Set([
  1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109, 110, 111, 113, 115, 117,
  119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636,
  989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
]);

async function resolveApiToken(config: ServerConfig, secrets: SecretStore, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const fromEnv = env[API_TOKEN_ENV];
  if (fromEnv !== undefined) {
    if (fromEnv.trim() === '') throw new HydroplaneError('invalid_config', `${API_TOKEN_ENV} is set but empty`);
    return sendable(fromEnv.trim(), API_TOKEN_ENV);
  }
  if (!config.api_token) return undefined;
  return sendable(await readConfigSecret(secrets, config.api_token, 'api_token'), "the config's api_token");
}

/** `token`, unless no client could present it: then the server does not start. */
function sendable(token: string, source: string): string {
  const problem = tokenProblem(token);
  if (problem !== undefined) throw new HydroplaneError('invalid_config', `the API token from ${source} ${problem}`);
  return token;
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const logger = options.logger ?? (await makeLogger());
  const config = options.configPath === undefined ? builtInConfig() : await loadConfig(options.configPath);
  const secrets = await openSecretStore(config.secret_store, options.password);
  const apiToken = await resolveApiToken(config, secrets, options.env ?? process.env);
  if (!apiToken && !isLoopbackHost(options.host)) {
    if (!options.allowUnauthenticated) {
      throw new HydroplaneError(
        'invalid_config',
        `refusing to listen on ${options.host} without an API token: anyone who reaches it could start containers, ` +
          'which is root on this machine. Set HYDROPLANE_API_TOKEN (or api_token in the config), listen on 127.0.0.1, ' +
          'or pass --allow-unauthenticated if a proxy in front of the server checks access.',
      );
    }
    logger.warn(
      { host: options.host, allowed_hosts: config.allowed_hosts },
      'listening on a non-loopback address without an API token (--allow-unauthenticated); only loopback Hosts and allowed_hosts are answered',
    );
  }
  const runtime = await createRuntime(config.runtime, { secrets, logger });
  // The Host check holds loopback names to the port actually bound (port 0 picks one).
  const app = await buildApp({
    runtime,
    logger,
    version: VERSION,
    allowedHosts: config.allowed_hosts,
    fieldValidation: config.field_validation,
    maxEventStreams: config.max_event_streams,
    ...(options.timeouts ? { timeouts: options.timeouts } : {}),
    ...(apiToken ? { apiToken } : {}),
    ...(options.dashboard === false ? { dashboard: false } : {}),
  });
  logger.info(
    { runtime: runtime.type, secret_store: secrets.type, config: options.configPath ?? '(built-in defaults)' },
    `Hydroplane ${VERSION}: the ${runtime.type} runtime`,
  );
  // Said, not waited for: a runtime that comes later (a daemon still starting) is not an error.
  runtime.ping().then(
    () => logger.info({ runtime: runtime.type }, `the ${runtime.type} runtime answers`),
    (error: unknown) => {
      const why = error instanceof Error ? error.message : String(error);
      logger.warn(
        { runtime: runtime.type },
        `the ${runtime.type} runtime does not answer: ${why}; starting anyway, and GET /ready answers 503 until it does`,
      );
    },
  );
  try {
    // Fastify's own line, in our words, is the one that says where the server listens.
    await app.listen({ host: options.host, port: options.port, listenTextResolver: (address) => `listening on ${address}` });
  } catch (error) {
    await runtime.close();
    throw listenError(error, options.host, options.port);
  }

  let culler: ProcessCuller | undefined;
  if (config.process_culling) {
    const { max_age_minutes, culling_interval_minutes } = config.process_culling;
    culler = new ProcessCuller({ runtime, logger, maxAgeMs: max_age_minutes * 60_000, intervalMs: culling_interval_minutes * 60_000 });
    culler.start();
    logger.info({ max_age_minutes, culling_interval_minutes }, 'process culler started');
  }

  // Always on: a process's own lifetime (max_age_minutes) needs no config, and any server honours it.
  const sweepIntervalMs = options.expirySweepIntervalMs ?? SWEEP_INTERVAL_MS;
  const sweeper = new ExpirySweeper({ runtime, logger, intervalMs: sweepIntervalMs });
  sweeper.start();
  logger.debug({ interval_seconds: sweepIntervalMs / 1000 }, 'expiry sweeper started');

  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  if (options.dashboard !== false && BROWSER_REFUSED_PORTS.has(port)) {
    logger.warn(
      { port },
      `browsers refuse port ${port} (the Fetch standard's blocked ports), so the dashboard cannot be opened there; hpctl and curl reach it. Pick another port (-p) for the dashboard`,
    );
  }
  return {
    app,
    runtime,
    url: `http://${host}:${port}`,
    async close() {
      await culler?.stop();
      await sweeper.stop();
      await app.close();
      await runtime.close();
    },
  };
}

/** Why the server could not listen, in words that say what to change; other errors as they are. */
function listenError(error: unknown, host: string, port: number): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  const at = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const why =
    code === 'EADDRINUSE'
      ? 'another program listens there: stop it, or pass another port with -p'
      : code === 'EACCES'
        ? `port ${port} needs privileges that this user lacks (below 1024: root or CAP_NET_BIND_SERVICE): pass another port with -p`
        : code === 'EADDRNOTAVAIL'
          ? `${host} is not an address of this machine: -H takes one of its own (127.0.0.1, ::1, or 0.0.0.0 for all)`
          : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
            ? `${host} names no host: -H takes an address or a name of this machine (127.0.0.1, localhost, 0.0.0.0)`
            : undefined;
  // The code stays in the message: what people search for, and what scripts (and the tests) look for.
  return why === undefined ? error : new HydroplaneError('invalid_config', `cannot listen on ${at} (${code}): ${why}`, { cause: error });
}
