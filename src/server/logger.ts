// The server's logger: pino, as JSON lines for programs (log collectors, journald, `jq`) or as
// readable lines for a person at a terminal (time, level, message, the few fields that matter),
// through pino-pretty, which is loaded only then.
import { Writable } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import { pino } from 'pino';
import { HydroplaneError } from '../errors.ts';
import { shown } from '../spec/shown.ts';
import { logDestination } from './log-destination.ts';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export const LOG_FORMATS = ['auto', 'json', 'text'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Fields that a text line leaves out: pino's own, and what a request line already says. */
const NOT_SHOWN = ['pid', 'hostname', 'name', 'reqId', 'method', 'path', 'status', 'ms'];

/** A request line as text: "GET /process 200 3.1ms"; any other line: its message. */
function textMessage(log: Record<string, unknown>, messageKey: string): string {
  const message = typeof log[messageKey] === 'string' ? log[messageKey] : '';
  if (message !== 'request' || typeof log['method'] !== 'string') return message;
  return `${log['method']} ${String(log['path'])} ${String(log['status'])} ${String(log['ms'])}ms`;
}

/**
 * The server's logger at `level` (LOG_LEVEL; unset or empty: info) in `format` (auto: text on a
 * terminal, JSON otherwise). An unknown level is a one-line config error, not pino's stack trace.
 */
export async function makeLogger(
  level = process.env['LOG_LEVEL'] || 'info',
  format: LogFormat = 'auto',
  terminal = process.stdout.isTTY,
): Promise<FastifyBaseLogger> {
  const wanted = level.trim().toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(wanted)) {
    throw new HydroplaneError('invalid_config', `LOG_LEVEL is '${shown(level, 40)}'; expected one of ${LOG_LEVELS.join(', ')}`);
  }
  const options = { level: wanted, base: { name: 'hydroplane' } };
  const destination = logDestination();
  if (format === 'json' || (format === 'auto' && !terminal)) return pino(options, destination) as FastifyBaseLogger;
  const { default: pretty } = await import('pino-pretty');
  const stream = pretty({
    colorize: terminal,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: NOT_SHOWN.join(','),
    singleLine: true,
    messageFormat: textMessage,
    // pino-pretty pipes into a stream: the same destination behind one.
    destination: new Writable({
      decodeStrings: false,
      write(chunk: string | Buffer, _encoding, done) {
        destination.write(String(chunk));
        done();
      },
    }),
  });
  return pino(options, stream) as FastifyBaseLogger;
}
