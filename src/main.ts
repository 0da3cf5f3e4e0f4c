// The server's process: configuration -> secret store -> runtime -> app -> listen, plus the
// culler and a graceful close. Everything it needs from the outside comes in as options, so tests
// can start a real server in-process.
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { ProcessCuller } from './culler/process-culler.ts';
import { createRuntime } from './runtimes/index.ts';
import type { Runtime } from './runtimes/runtime.ts';
import { openSecretStore } from './secrets/index.ts';
import { buildApp } from './server/app.ts';
import { loadConfig } from './server/config-file.ts';
import { VERSION } from './version.ts';

export interface ServerOptions {
  configPath: string;
  host: string;
  port: number;
  logger?: FastifyBaseLogger;
  /** Asked only when the config uses the local secret store. */
  password: () => Promise<string>;
}

export interface RunningServer {
  app: FastifyInstance;
  runtime: Runtime;
  /** The address it listens on, e.g. http://127.0.0.1:8000 */
  url: string;
  close(): Promise<void>;
}

export function makeLogger(level = process.env['LOG_LEVEL'] ?? 'info'): FastifyBaseLogger {
  return pino({ level: level.toLowerCase(), base: { name: 'hydroplane' } }) as FastifyBaseLogger;
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const logger = options.logger ?? makeLogger();
  const config = await loadConfig(options.configPath);
  const secrets = await openSecretStore(config.secret_store, options.password);
  const runtime = await createRuntime(config.runtime, { secrets, logger });
  const app = await buildApp({ runtime, logger, version: VERSION });
  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (error) {
    await runtime.close();
    throw error;
  }

  let culler: ProcessCuller | undefined;
  if (config.process_culling) {
    const { max_age_minutes, culling_interval_minutes } = config.process_culling;
    culler = new ProcessCuller({ runtime, logger, maxAgeMs: max_age_minutes * 60_000, intervalMs: culling_interval_minutes * 60_000 });
    culler.start();
    logger.info({ max_age_minutes, culling_interval_minutes }, 'process culler started');
  }

  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  logger.info({ runtime: runtime.type, secret_store: secrets.type, config: options.configPath }, `Hydroplane ${VERSION} listening on http://${host}:${port}`);

  return {
    app,
    runtime,
    url: `http://${host}:${port}`,
    async close() {
      await culler?.stop();
      await app.close();
      await runtime.close();
    },
  };
}
