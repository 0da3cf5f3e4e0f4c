// `hydroplane`: the server's command line; src/cli/entry/hydroplane.ts is the executable.
import { existsSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { HydroplaneError } from '../errors.ts';
import { LOG_FORMATS, makeLogger, type LogFormat } from '../server/logger.ts';
import { startServer } from '../server/start-server.ts';
import { VERSION } from '../version.ts';
import { EXIT_ABORTED, PromptAborted, readPassword } from './password.ts';
import { escapeText } from './terminal-text.ts';

/** The original's default config file, read from the working folder when it is there. */
const DEFAULT_CONFIG_FILE = 'basic-config.yml';

function port(value: string): number {
  // Decimal digits only: Number() would take 1e3, 0x50 and ' 80' too.
  const n = /^\d{1,5}$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= 0 && n <= 65535)) throw new InvalidArgumentError('A port is a whole number from 0 to 65535, in decimal (0: any free port).');
  return n;
}

function host(value: string): string {
  if (value.trim() === '') throw new InvalidArgumentError('Give an address of this machine: 127.0.0.1, ::1, or 0.0.0.0 for all.');
  return value.trim();
}

export async function main(argv: string[] = process.argv): Promise<void> {
  const program = new Command('hydroplane')
    .description('Runs the Hydroplane REST server: start, list and stop containers on Docker or Kubernetes.')
    .version(VERSION)
    .option(
      '-c, --conf <file>',
      `configuration file (YAML); default: ${DEFAULT_CONFIG_FILE} when the folder has one, else the built-in defaults`,
    )
    .option('-H, --host <address>', 'address to listen on', host, '127.0.0.1')
    .option('-p, --port <port>', 'port to listen on', port, 8000)
    .option('--allow-unauthenticated', 'listen on a non-loopback address without an API token (only behind a proxy that checks access)')
    .option('--no-dashboard', 'serve the API only, without the web dashboard at /')
    .addOption(
      new Option('--log-format <format>', 'auto: readable lines on a terminal, JSON lines otherwise; json; text')
        .choices(LOG_FORMATS)
        .default('auto'),
    )
    .addHelpText(
      'after',
      '\nEnvironment:\n' +
        '  LOG_LEVEL                          trace, debug, info (default), warn, error\n' +
        "  HYDROPLANE_SECRET_STORE_PASSWORD   the local secret store's password (asked\n" +
        '                                     on the terminal otherwise)\n' +
        '  HYDROPLANE_API_TOKEN               the API token that clients must send\n' +
        '                                     (Authorization: Bearer ...)\n' +
        '  DOCKER_HOST                        the Docker Engine, unless the config names\n' +
        '                                     one\n',
    )
    // commander's own errors in the server's style: "hydroplane: what is wrong", then where to read more.
    .configureOutput({
      outputError: (text, write) => write(`${escapeText(text.replace(/^error: /, 'hydroplane: ').trimEnd(), { keepNewlines: true })}\n`),
    })
    .showHelpAfterError('(hydroplane --help says what each option takes)')
    .parse(argv);
  const opts = program.opts<{
    conf?: string;
    host: string;
    port: number;
    allowUnauthenticated?: boolean;
    dashboard: boolean;
    logFormat: LogFormat;
  }>();

  let logger;
  let server;
  try {
    logger = await makeLogger(undefined, opts.logFormat);
    const configPath = opts.conf ?? (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined);
    if (configPath === undefined) {
      logger.info(
        `no config file (no -c, and no ${DEFAULT_CONFIG_FILE} here): the built-in defaults apply, the local Docker Engine and no secret store`,
      );
    }
    server = await startServer({
      configPath,
      host: opts.host,
      port: opts.port,
      logger,
      password: () => readPassword('Secret store password: '),
      allowUnauthenticated: Boolean(opts.allowUnauthenticated),
      dashboard: opts.dashboard,
    });
  } catch (error) {
    if (error instanceof PromptAborted) {
      process.exitCode = EXIT_ABORTED;
      return;
    }
    const message = error instanceof HydroplaneError ? error.message : error instanceof Error ? error.message : String(error);
    // The message may quote the config or the command line: control characters shown escaped.
    process.stderr.write(`hydroplane: ${escapeText(message, { keepNewlines: true })}\n`);
    process.exitCode = 1;
    return;
  }

  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down: finishing requests in flight');
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'error while shutting down');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}
