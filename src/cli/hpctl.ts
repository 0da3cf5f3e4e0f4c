#!/usr/bin/env node
// `hpctl`: the command line for a running Hydroplane server.
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { Command, InvalidArgumentError, Option } from 'commander';
import {
  ApiError,
  ConnectionError,
  ForeignAnswer,
  OversizeEvent,
  HydroplaneClient,
  serverUrl,
  type EventQuery,
  type Exchange,
  type FollowedEvent,
  type LogQuery,
} from '../client.ts';
import { withoutPassword } from '../address-text.ts';
import { readAtMost } from '../read-bounded.ts';
import { tokenProblem } from '../api-token.ts';
import type { ErrorBody } from '../errors.ts';
import type { ProcessInfo } from '../spec/process-info.ts';
import { VERSION } from '../version.ts';
import { isMain } from './is-main.ts';
import { handleOutputErrors } from './stdio.ts';
import { escapeText, line, safeJson, safeYaml, TerminalText } from './terminal-text.ts';

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  /** Calls `handler` on Ctrl-C until the returned function is called. Default: SIGINT. */
  onInterrupt?: (handler: () => void) => () => void;
  now?: () => number;
  /** Everything on standard input, for `start -`. Default: process.stdin. */
  readStdin?: () => Promise<string>;
  /** Waits before a reconnection (events). Default: a timer that Ctrl-C cuts short. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Whether stdout, stderr are terminals (a person reads them). Default: process.stdout/stderr.isTTY. */
  stdoutIsTerminal?: boolean;
  stderrIsTerminal?: boolean;
}

const defaultIo: Io = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  env: process.env,
  onInterrupt: (handler) => {
    process.once('SIGINT', handler);
    return () => process.off('SIGINT', handler);
  },
  stdoutIsTerminal: process.stdout.isTTY,
  stderrIsTerminal: process.stderr.isTTY,
  readStdin: () => readSpecText(process.stdin),
};

/**
 * The most hpctl reads of one spec: far above any spec (the server takes at most 1 MiB of JSON),
 * and far below what a wrong file (/dev/zero, a log that grows) would make it hold before failing.
 */
const SPEC_TEXT_MAX = 16 * 1024 * 1024;

class SpecTooLarge extends Error {}

/** All of `chunks` as UTF-8 text, or a SpecTooLarge error once past SPEC_TEXT_MAX bytes (the rest unread). */
async function readSpecText(chunks: AsyncIterable<Uint8Array | string>): Promise<string> {
  const bytes = await readAtMost(chunks, SPEC_TEXT_MAX);
  if (bytes === undefined) throw new SpecTooLarge();
  return bytes.toString('utf8');
}

/** What -o can ask for, in any case: json and yaml for programs, table and wide for people. */
const OUTPUTS = ['json', 'yaml', 'table', 'wide'] as const;
type Output = (typeof OUTPUTS)[number];

function outputOption(): Option {
  return new Option('-o, --output <format>', `${OUTPUTS.join(', ')} (wide: a table with more columns)`)
    .argParser((value: string): Output => {
      const format = value.toLowerCase();
      if (!(OUTPUTS as readonly string[]).includes(format)) throw new InvalidArgumentError(`expected one of ${OUTPUTS.join(', ')}`);
      return format as Output;
    })
    .default('json');
}

/** What apply's -o can ask for: a line a process for people (default), or json and yaml for programs. */
const APPLY_OUTPUTS = ['text', 'json', 'yaml'] as const;
type ApplyOutput = (typeof APPLY_OUTPUTS)[number];

/** What apply did to one process: what PUT answered, or pruned. */
type ApplyResult =
  (ProcessInfo & { outcome: 'created' | 'unchanged' | 'replaced' }) | { process_name: string; group: string; outcome: 'pruned' };

/** The spec file name that means standard input. */
const STDIN = '-';

/**
 * What is wrong with `address` (as -s or HYDROPLANE_SERVER give it) as a server's address, if
 * anything, in words that follow "-s is": an http(s) URL with a host, no credentials in it (the
 * token has its own flag, and a password must not be echoed), and not a bare number, which URL
 * parsing takes as an IPv4 address (8000 is 0.0.31.64) where a person meant a port.
 */
function addressProblem(address: string): string | undefined {
  let url: URL | undefined;
  try {
    url = new URL(serverUrl(address));
  } catch {
    url = undefined;
  }
  const quoted = `'${withoutPassword(address)}'`;
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    return `${quoted}, which is not a server address: give HOST:PORT, or http://HOST:PORT or https://HOST:PORT`;
  }
  if (url.username !== '' || url.password !== '') {
    return `${quoted}, with a user name or password in it, which hpctl does not send: give the address as HOST:PORT, and the server's API token with -t or HYDROPLANE_API_TOKEN`;
  }
  if (/^\d+$/.test(address)) {
    return `${quoted}, a number, which would be taken as the host ${url.hostname}: for a port on this machine, give localhost:${address}`;
  }
  return undefined;
}

/** The server hpctl talks to: -s, else HYDROPLANE_SERVER, else localhost:8000. */
export function serverAddress(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  return flag ?? env['HYDROPLANE_SERVER'] ?? 'localhost:8000';
}

class UsageError extends Error {}

/** A spec file that cannot be read or parsed: the command was right, its input was not (exit 1). */
class InputError extends Error {}

/** A failure already reported to the user; only the exit code is left to give. */
class Reported extends Error {
  readonly exitCode: number;
  constructor(exitCode: number) {
    super(`exit ${exitCode}`);
    this.exitCode = exitCode;
  }
}

/** --validate's modes as the server's fieldValidation names them. */
const FIELD_VALIDATION_OF = { strict: 'Strict', warn: 'Warn', ignore: 'Ignore' } as const;

/** The exit code of a command that Ctrl-C ended. */
const INTERRUPTED = 130;
/** How long one wait request lasts, so that progress shows in between. */
const WAIT_STEP_SECONDS = 3;

/** Runs hpctl; returns the exit code. */
export async function main(argv: string[], io: Io = defaultIo): Promise<number> {
  let debug = false;
  const program = new Command('hpctl')
    .description('Start, list and stop processes on a Hydroplane server.')
    .version(VERSION)
    .option('-s, --server <host:port>', 'the server (default: $HYDROPLANE_SERVER, else localhost:8000)')
    .option('-t, --token <token>', 'the API token, when the server needs one (default: $HYDROPLANE_API_TOKEN)')
    .option('-d, --debug', 'show each request and answer, and the full error')
    .exitOverride()
    // Usage errors echo the arguments: escaped like everything else hpctl prints as text.
    .configureOutput({
      writeOut: (t) => io.stdout(escapeText(t, { keepNewlines: true })),
      writeErr: (t) => io.stderr(escapeText(t, { keepNewlines: true })),
      // commander's own errors in hpctl's style: "hpctl: what is wrong", then where to read more.
      outputError: (t, write) =>
        write(`${t.replace(/^error: /, 'hpctl: ').trimEnd()}\n(hpctl --help, or hpctl COMMAND --help, says what each takes)\n`),
    })
    .addHelpText(
      'after',
      '\nEnvironment:\n  HYDROPLANE_SERVER      the server, when -s is not given\n  HYDROPLANE_API_TOKEN   the API token, when -t is not given\n',
    );

  const client = () => {
    const opts = program.opts<{ server?: string; token?: string }>();
    // Trimmed, as the server trims its own and the one presented (a token file's line end).
    const token = (opts.token ?? io.env['HYDROPLANE_API_TOKEN'])?.trim();
    const tokenIssue = token === undefined ? undefined : tokenProblem(token);
    if (tokenIssue !== undefined)
      throw new UsageError(`the API token from ${opts.token !== undefined ? '-t' : 'HYDROPLANE_API_TOKEN'} ${tokenIssue}`);
    const address = serverAddress(opts.server, io.env);
    const problem = addressProblem(address);
    if (problem !== undefined) throw new UsageError(`${opts.server !== undefined ? '-s' : 'HYDROPLANE_SERVER'} is ${problem}`);
    return new HydroplaneClient(address, {
      ...(token ? { token } : {}),
      ...(debug ? { onExchange: (exchange: Exchange) => say(exchangeText(exchange)) } : {}),
    });
  };
  /**
   * Errors from the server as its JSON body (what scripts read, as the original printed them) when
   * stderr is not a terminal or -o json was asked for; for a person at a terminal, as sentences.
   */
  let jsonErrors = io.stderrIsTerminal !== true;
  const serverError = (error: ApiError): TerminalText =>
    jsonErrors ? TerminalText.verbatim(safeJson(error.body)) : peopleError(error.body as ErrorBody);
  const print = (value: unknown) => io.stdout(`${safeJson(value, 2)}\n`);
  /** One process or a list, as -o asks. */
  const show = (value: ProcessInfo | ProcessInfo[], output: Output) => {
    const now = (io.now ?? Date.now)();
    if (output === 'json') print(value);
    else if (output === 'yaml') io.stdout(safeYaml(value));
    else io.stdout(table(Array.isArray(value) ? value : [value], now, { wide: output === 'wide' }));
  };
  /** Every message on stderr goes through here, built by `line`, which escapes what it is given. */
  const say = (text: TerminalText) => io.stderr(`${text.text}\n`);

  /** Reads and parses one spec file (- : standard input); a UsageError says what is wrong with it. */
  const readSpec = async (file: string): Promise<unknown> => {
    let text: string;
    try {
      text = file === STDIN ? await (io.readStdin ?? defaultIo.readStdin!)() : await readSpecText(createReadStream(file));
    } catch (error) {
      const what = file === STDIN ? 'standard input' : file;
      if (error instanceof SpecTooLarge) {
        throw new InputError(
          `${what} holds more than ${SPEC_TEXT_MAX / 1024 / 1024} MiB, far more than a spec (the server takes at most 1 MiB): is it the right file?`,
        );
      }
      throw new InputError(`cannot read ${what}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new InputError(`${file === STDIN ? 'standard input' : file} is not valid JSON: ${(error as Error).message}`);
    }
  };

  /** Spec files from the arguments: files as given, folders as every *.json in them, by name. */
  const specFiles = async (args: string[]): Promise<string[]> => {
    const files: string[] = [];
    if (args.filter((a) => a === STDIN).length > 1) throw new UsageError('standard input (-) can be read only once');
    for (const arg of args) {
      const info = arg === STDIN ? undefined : await stat(arg).catch(() => undefined);
      if (!info?.isDirectory()) {
        files.push(arg);
        continue;
      }
      const inside = (await readdir(arg)).filter((f) => f.endsWith('.json')).sort();
      if (inside.length === 0) throw new UsageError(`${arg} is a folder with no *.json spec files in it`);
      files.push(...inside.map((f) => join(arg, f)));
    }
    return files;
  };

  /**
   * Waits until the process runs; on the way, says on stderr what it is doing. Throws a
   * Reported error saying why it will not run, or that time ran out.
   */
  const waitUntilRunning = async (first: ProcessInfo, timeoutSeconds: number): Promise<ProcessInfo> => {
    const now = io.now ?? Date.now;
    const name = first.process_name;
    const began = now();
    const elapsed = () => Math.round((now() - began) / 1000);
    const interrupted = new AbortController();
    const release = (io.onInterrupt ?? defaultIo.onInterrupt!)(() => interrupted.abort());
    let info = first;
    try {
      for (;;) {
        if (info.status === 'RUNNING') return info;
        if (info.status === 'EXITED') {
          say(
            line`hpctl: ${name} exited with code ${info.exit_code ?? 'unknown'} before it ran${info.reason ? line` (${info.reason})` : ''}`,
          );
          throw new Reported(1);
        }
        if (info.status === 'FAILED') {
          say(line`hpctl: ${name} FAILED: ${info.reason ?? 'the runtime gave no reason'}`);
          throw new Reported(1);
        }
        const left = timeoutSeconds - (now() - began) / 1000;
        if (left <= 0) {
          say(line`hpctl: ${name} is still ${info.status} after ${elapsed()}s (--timeout ${timeoutSeconds})`);
          throw new Reported(1);
        }
        say(line`waiting for ${name}: ${info.status} (${elapsed()}s)`);
        try {
          info = await client().get(name, { wait: 'running', timeout: Math.min(WAIT_STEP_SECONDS, Math.ceil(left)) }, interrupted.signal);
        } catch (error) {
          if (!interrupted.signal.aborted) throw error;
          say(line`hpctl: stopped waiting; ${name} was ${info.status} after ${elapsed()}s and is left as it is`);
          throw new Reported(INTERRUPTED);
        }
      }
    } finally {
      release();
    }
  };

  program
    .command('start')
    .description('start the processes that spec files describe (a folder: every *.json in it)')
    .argument('<spec...>', 'process specs, as JSON files or folders of them; - reads one from standard input')
    .option('-w, --wait', 'return once each process runs; fail if it exits, fails or does not run in time')
    .option('--timeout <seconds>', 'with --wait: how long to wait for each process', parseSeconds, 60)
    .addOption(
      new Option(
        '--validate <mode>',
        'unknown or misplaced spec fields: strict refuses them, warn starts without them and prints a warning, ignore starts without them',
      )
        .choices(['strict', 'warn', 'ignore'])
        .default('strict'),
    )
    .action(async (args: string[], opts: { wait?: boolean; timeout: number; validate: 'strict' | 'warn' | 'ignore' }, command: Command) => {
      if (!opts.wait && command.getOptionValueSource('timeout') === 'cli')
        throw new UsageError('--timeout is how long --wait waits: give --wait too');
      const fieldValidation = FIELD_VALIDATION_OF[opts.validate];
      const startOne = async (spec: unknown) => {
        const { warnings, ...info } = await client().start(spec, { fieldValidation });
        // The server's words, escaped: a spec file, or a server, may hold anything.
        for (const warning of Array.isArray(warnings) ? warnings : []) say(line`hpctl: warning: ${warning}`);
        return opts.wait ? waitUntilRunning(info, opts.timeout) : info;
      };
      const files = await specFiles(args);
      // One spec file answers as it always did: its process's info, or the error.
      if (files.length === 1 && args.length === 1 && files[0] === args[0]) {
        print(await startOne(await readSpec(files[0]!)));
        return;
      }
      const started: ProcessInfo[] = [];
      let failed = 0;
      for (const file of files) {
        try {
          const info = await startOne(await readSpec(file));
          started.push(info);
          say(line`${file}: started ${info.process_name} (${info.status})`);
        } catch (error) {
          if ((error instanceof Reported && error.exitCode === INTERRUPTED) || error instanceof UsageError) throw error;
          failed++;
          say(line`${file}: ${describeFailure(error, serverError)}`);
          if (debug && error instanceof Error) say(stackOf(error));
        }
      }
      print(started);
      if (failed > 0) {
        say(line`hpctl: ${failed} of ${files.length} spec files failed`);
        throw new Reported(1);
      }
    });

  program
    .command('apply')
    .description(
      'make the server run what spec files describe: start what is missing, leave what is unchanged, replace what changed ' +
        '(PUT /process/NAME); prints NAME created|unchanged|replaced for each',
    )
    .option('-f, --file <path>', 'a JSON spec file, or a folder: every *.json in it, by name; - reads standard input; repeatable', collect)
    .option('-g, --group <group>', 'put every process in this group (replaces the group that a spec names)')
    .option('--prune', "with -g: stop the group's processes that no spec names (prints NAME pruned)")
    .addOption(
      new Option(
        '--validate <mode>',
        'unknown or misplaced spec fields: strict refuses them, warn applies without them and prints a warning, ignore applies without them',
      )
        .choices(['strict', 'warn', 'ignore'])
        .default('strict'),
    )
    .addOption(
      new Option('-o, --output <format>', 'text: a line a process (default); json or yaml: what the server answered for each, as one list')
        .argParser((value: string): ApplyOutput => {
          const format = value.toLowerCase();
          if (!(APPLY_OUTPUTS as readonly string[]).includes(format))
            throw new InvalidArgumentError(`expected one of ${APPLY_OUTPUTS.join(', ')}`);
          return format as ApplyOutput;
        })
        .default('text'),
    )
    .addHelpText('after', APPLY_HELP_AFTER)
    .action(
      async (opts: { file?: string[]; group?: string; prune?: boolean; validate: 'strict' | 'warn' | 'ignore'; output: ApplyOutput }) => {
        if (opts.file === undefined) throw new UsageError('give the specs to apply: -f FILE or -f FOLDER (repeatable)');
        if (opts.prune && opts.group === undefined)
          throw new UsageError('--prune stops the processes of one group that no spec names: give -g GROUP');
        const fieldValidation = FIELD_VALIDATION_OF[opts.validate];
        const files = await specFiles(opts.file);
        const results: ApplyResult[] = [];
        const report = (result: ApplyResult) => {
          results.push(result);
          if (opts.output === 'text') io.stdout(`${line`${result.process_name} ${result.outcome}`.text}\n`);
        };
        /** Process name -> the file that names it; a file that could not be read names nothing known. */
        const named = new Map<string, string>();
        let unreadable = 0;
        let failed = 0;
        const fail = (file: string, why: TerminalText) => {
          failed++;
          say(line`${file}: ${why}`);
        };
        for (const file of files) {
          let spec: unknown;
          try {
            spec = await readSpec(file);
          } catch (error) {
            if (!(error instanceof InputError)) throw error;
            unreadable++;
            fail(file, line`${error.message}`);
            continue;
          }
          const name = processNameOf(spec);
          if (name === undefined) {
            unreadable++;
            fail(file, line`not a process spec: it needs a process_name (a string), which names the process to apply`);
            continue;
          }
          const first = named.get(name);
          if (first !== undefined) {
            fail(file, line`process ${name} is already applied from ${first}; each process may be named by one file only`);
            continue;
          }
          named.set(name, file);
          const wanted = opts.group === undefined ? spec : { ...(spec as object), group: opts.group };
          try {
            const { warnings, ...info } = await client().apply(name, wanted, { fieldValidation });
            for (const warning of Array.isArray(warnings) ? warnings : []) say(line`hpctl: warning: ${file}: ${warning}`);
            report(info);
          } catch (error) {
            // Nothing else can be applied without the server.
            if (error instanceof ConnectionError || error instanceof UsageError) throw error;
            fail(file, describeFailure(error, serverError));
            if (debug && error instanceof Error) say(stackOf(error));
          }
        }
        if (opts.prune && opts.group !== undefined) {
          if (unreadable > 0) {
            // A spec that could not be read may name a process that is wanted: stopping it would be a guess.
            say(
              line`hpctl: not pruning group ${opts.group}: ${unreadable} spec file(s) could not be read, so which processes they name is not known`,
            );
          } else {
            for (const member of await client().list(opts.group)) {
              if (named.has(member.process_name)) continue;
              try {
                await client().stop(member.process_name);
              } catch (error) {
                // Gone already (a sweep, another apply): what pruning wanted.
                if (error instanceof ApiError && error.status === 404) continue;
                if (error instanceof ConnectionError) throw error;
                fail(member.process_name, describeFailure(error, serverError));
                continue;
              }
              report({ process_name: member.process_name, group: opts.group, outcome: 'pruned' });
            }
          }
        }
        if (opts.output === 'json') print(results);
        else if (opts.output === 'yaml') io.stdout(safeYaml(results));
        if (failed > 0) {
          const done = results.length === 0 ? 'nothing was applied' : `the other ${results.length} were applied`;
          say(line`hpctl: ${failed} ${failed === 1 ? 'spec or prune' : 'specs or prunes'} failed; ${done}`);
          throw new Reported(1);
        }
      },
    );

  program
    .command('stop')
    .description('stop processes, or every process of a group')
    .argument('[names...]', 'the processes to stop')
    .option('-g, --group <group>', 'stop every process of this group')
    .action(async (names: string[], opts: { group?: string }) => {
      if ((names.length === 0) === (opts.group === undefined)) throw new UsageError('give one or more process names, or -g GROUP');
      // JSON for programs, as the original printed it; a line a process for a person.
      const report = (result: { stopped: string[] }) => {
        if (io.stdoutIsTerminal !== true) return print(result);
        if (result.stopped.length === 0)
          return io.stdout(`nothing to stop${opts.group === undefined ? '' : line` in group ${opts.group}`.text}\n`);
        for (const name of result.stopped) io.stdout(`${line`stopped ${name}`.text}\n`);
      };
      if (opts.group !== undefined) return report(await client().stopGroup(opts.group));
      // One name answers as it always did: the server's answer, or its error.
      if (names.length === 1) return report(await client().stop(names[0]!));
      const stopped: string[] = [];
      let failed = 0;
      for (const name of names) {
        try {
          stopped.push(...(await client().stop(name)).stopped);
        } catch (error) {
          if (error instanceof ConnectionError || error instanceof UsageError) throw error;
          failed++;
          say(line`${name}: ${describeFailure(error, serverError)}`);
        }
      }
      report({ stopped });
      if (failed > 0) {
        say(line`hpctl: ${failed} of ${names.length} processes could not be stopped`);
        throw new Reported(1);
      }
    });

  program
    .command('get')
    .alias('describe')
    .description('show one process: status, addresses, age')
    .argument('<name>', 'the process')
    .addOption(outputOption())
    .action(async (name: string, opts: { output: Output }) => show(await client().get(name), opts.output));

  program
    .command('list')
    .description('list processes: a JSON array (default), YAML, or a table for people')
    .option('-g, --group <group>', 'only this group')
    .addOption(outputOption())
    .action(async (opts: { group?: string; output: Output }) => show(await client().list(opts.group), opts.output));

  program
    .command('logs')
    .description("print a process's output (stdout and stderr)")
    .argument('<name>', 'the process')
    .option('-f, --follow', 'keep printing new output until the process ends (Ctrl-C to stop)')
    .option('--tail <lines>', 'only the last N lines', parseCount)
    .option('--since <time>', 'only output since: an ISO 8601 date-time with a time zone, or how long ago (90, 10m, 2h, 1d)')
    .option('--timestamps', 'start each line with its time')
    .addHelpText('after', LOGS_HELP_AFTER)
    .action(async (name: string, opts: { follow?: boolean; tail?: number; since?: string; timestamps?: boolean }) => {
      const query: LogQuery = {};
      if (opts.follow) query.follow = true;
      if (opts.tail !== undefined) query.tail = opts.tail;
      if (opts.since !== undefined) query.since = opts.since;
      if (opts.timestamps) query.timestamps = true;
      const interrupted = new AbortController();
      const release = opts.follow ? (io.onInterrupt ?? defaultIo.onInterrupt!)(() => interrupted.abort()) : () => {};
      try {
        for await (const chunk of await client().logs(name, query, interrupted.signal)) io.stdout(chunk);
      } catch (error) {
        if (!interrupted.signal.aborted) throw error;
      } finally {
        release();
      }
      if (interrupted.signal.aborted) throw new Reported(INTERRUPTED);
    });

  program
    .command('events')
    .description('follow process events (created, running, exited, failed, stopped, removed) as they happen, until Ctrl-C')
    .argument('[name]', 'only this process')
    .option('-g, --group <group>', 'only this group')
    .addOption(
      new Option('-o, --output <format>', 'text: a line an event; json: a JSON object an event, one a line')
        .argParser((value: string) => {
          const format = value.toLowerCase();
          if (format !== 'text' && format !== 'json') throw new InvalidArgumentError('expected text or json');
          return format;
        })
        .default('text'),
    )
    .option('--after <id>', 'begin after this event id (the id of the last event seen), as far as the runtime still knows')
    .addHelpText('after', EVENTS_HELP_AFTER)
    .action(async (name: string | undefined, opts: { group?: string; output: 'text' | 'json'; after?: string }) => {
      const query: EventQuery = {};
      if (name !== undefined) query.process = name;
      if (opts.group !== undefined) query.group = opts.group;
      if (opts.after !== undefined) query.lastEventId = opts.after;
      const interrupted = new AbortController();
      const release = (io.onInterrupt ?? defaultIo.onInterrupt!)(() => interrupted.abort());
      const pause = io.sleep ?? sleepUnlessAborted;
      const show = (event: FollowedEvent) => io.stdout(opts.output === 'json' ? `${safeJson(event)}\n` : `${eventLine(event)}\n`);
      let connected = false;
      let failures = 0;
      try {
        while (!interrupted.signal.aborted) {
          let why: string;
          try {
            const events = await client().events(query, interrupted.signal);
            if (connected) say(line`hpctl: following again${query.lastEventId === undefined ? '' : line` after ${query.lastEventId}`}`);
            connected = true;
            failures = 0;
            for await (const event of events) {
              show(event);
              if (event.id !== '') query.lastEventId = event.id;
            }
            why = 'the server ended the stream';
          } catch (error) {
            if (interrupted.signal.aborted) break;
            // Before the first connection, every failure is the answer; after it, only a refusal
            // that a retry cannot mend (a 4xx: a bad name, a token, an id the runtime does not know;
            // not a 408, a follower that fell behind and was dropped, which resumes).
            // Nor is an answer that is no Hydroplane server's (a line that never ends, say).
            if (
              !connected ||
              error instanceof ForeignAnswer ||
              error instanceof OversizeEvent ||
              (error instanceof ApiError && error.status >= 400 && error.status < 500 && error.status !== 408)
            )
              throw error;
            why = error instanceof Error ? error.message : String(error);
          }
          if (interrupted.signal.aborted) break;
          const waitMs = Math.min(RECONNECT_MAX_MS, RECONNECT_FIRST_MS * 2 ** Math.min(failures++, 4));
          say(
            line`hpctl: ${why}; reconnecting in ${waitMs / 1000}s${query.lastEventId === undefined ? '' : line` after ${query.lastEventId}`}`,
          );
          await pause(waitMs, interrupted.signal);
        }
      } finally {
        release();
      }
    });

  program.hook('preAction', (_program, action) => {
    debug = Boolean(program.opts<{ debug?: boolean }>().debug);
    if (action.getOptionValueSource('output') === 'cli' && action.opts<{ output?: string }>().output === 'json') jsonErrors = true;
  });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    const commanderCode = (error as { code?: string }).code;
    if (commanderCode?.startsWith('commander.')) {
      // Help and version end here too, with exit code 0; anything else commander refuses is a usage error.
      return (error as { exitCode?: number }).exitCode === 0 ? 0 : 2;
    }
    if (error instanceof Reported) return error.exitCode;
    if (error instanceof ApiError) {
      say(serverError(error));
      if (debug) say(stackOf(error));
      return 1;
    }
    if (error instanceof ForeignAnswer) {
      // Named as what it is, then the page itself, its lines kept and escaped.
      say(line`hpctl: ${error.message}; is -s the address of a Hydroplane server?`);
      if (error.text !== '') say(TerminalText.verbatim(escapeText(error.text.replace(/\n$/, ''), { keepNewlines: true })));
      if (debug) say(stackOf(error));
      return 1;
    }
    if (error instanceof UsageError || error instanceof ConnectionError || error instanceof InputError) {
      say(line`hpctl: ${error.message}`);
      if (error instanceof ConnectionError) say(line`Is the server running? Point hpctl at it with -s HOST:PORT or HYDROPLANE_SERVER.`);
      if (debug) say(line`${stackOf(error)}\n${causeText((error as { cause?: unknown }).cause)}`);
      return error instanceof UsageError ? 2 : 1;
    }
    say(line`hpctl: ${error instanceof Error ? error.message : String(error)}`);
    if (debug && error instanceof Error) say(stackOf(error));
    return 1;
  }
}

// The one output that is not escaped: the process's own, as `docker logs` and `kubectl logs` print it.
const LOGS_HELP_AFTER = `
The output is printed as the process wrote it (as UTF-8 text), control
characters included (colours, progress bars), as docker logs and kubectl logs
do: a process that prints escape sequences can change your terminal. To read the
log of a process you do not trust, see the control characters instead:
  hpctl logs NAME | cat -v      (or | less, or > file)
Everything else hpctl prints (tables, messages, errors) shows control characters
escaped.
`;

const APPLY_HELP_AFTER = `
Each spec is the desired state of its process: absent, it is started (created);
running or starting from the same spec, it is left alone (unchanged); started
from another spec, or exited or failed, it is stopped and started again
(replaced). "The same spec" is the same digest of the validated spec (defaults
filled in, key order ignored), which every start records.
Exit status: 0 when every spec was applied, 1 when any failed (each is said on
stderr; the others are still applied), 2 for a usage error.
`;

/** Commander's collector for a repeatable option. */
function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** The process_name of a parsed spec file, if it has one that can name a process. */
function processNameOf(spec: unknown): string | undefined {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) return undefined;
  const name = (spec as { process_name?: unknown }).process_name;
  return typeof name === 'string' && name !== '' ? name : undefined;
}

const EVENTS_HELP_AFTER = `
Each line: the time, the type, the process, its group (- for none), its status
after the event, and the exit code or the reason when there is one. With -o
json, each event as the server sends it, with its id. When the connection drops,
hpctl says so on stderr and reconnects, resuming after the last event it printed
(as far as the runtime still knows it: docs/events.md). Ctrl-C ends it (exit 0).
`;

/** The first wait before a reconnection, and the longest (it doubles after each failure). */
const RECONNECT_FIRST_MS = 1000;
const RECONNECT_MAX_MS = 16_000;

function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** One event as a line for people: time, type, process, group, status, then the exit code and reason when there are. */
export function eventLine(event: FollowedEvent): string {
  const cells = [event.time, event.type.padEnd(7), event.process_name, event.group ?? '-', event.status];
  if (event.exit_code !== undefined && event.exit_code !== null) cells.push(`exit_code=${event.exit_code}`);
  if (event.reason !== undefined) cells.push(`reason=${JSON.stringify(event.reason)}`);
  return cells.map((cell) => escapeText(cell)).join('  ');
}

function parseSeconds(value: string): number {
  if (!/^\d+(\.\d+)?$/.test(value)) throw new InvalidArgumentError('expected a number of seconds');
  return Number(value);
}

function parseCount(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number, 0 or more');
  return Number(value);
}

/** One line about why a spec did not start: the server's error body, or what went wrong. */
function describeFailure(error: unknown, serverError: (error: ApiError) => TerminalText): TerminalText {
  if (error instanceof ApiError) return serverError(error);
  if (error instanceof Reported) return line`did not run (see above)`;
  return line`${error instanceof Error ? error.message : String(error)}`;
}

/**
 * An error's stack for -d: its first line (with the message, which may come from the server)
 * escaped as one line, the frames below it (hpctl's own code) keeping their line breaks.
 */
function stackOf(error: Error): TerminalText {
  const stack = error.stack ?? String(error);
  const at = stack.indexOf(error.message);
  // A stack that does not begin with the message is shown as one line: safe, if not pretty.
  if (at < 0 || stack.slice(0, at).includes('\n')) return line`${stack}`;
  const head = stack.slice(0, at + error.message.length);
  return line`${head}${TerminalText.verbatim(escapeText(stack.slice(head.length), { keepNewlines: true }))}`;
}

/**
 * The server's error for a person: its details, then each field problem on a line of its own
 * (the details list them too, in one line, for the JSON's readers).
 */
function peopleError(body: ErrorBody): TerminalText {
  const fields = body.fields ?? [];
  if (fields.length === 0) return line`hpctl: ${body.details}`;
  // code is this server's; the original's error bodies had only error and details.
  const head = line`hpctl: the server refused it (${body.code ?? 'an error'}, HTTP ${body.error}):`;
  return TerminalText.verbatim([head.text, ...fields.map((f) => line`  ${f.path || '(the whole spec)'}: ${f.message}`.text)].join('\n'));
}

/** Longest answer body that -d shows. */
const DEBUG_BODY_MAX = 2000;

/** -d's view of one request and answer: the method and URL, the status and type, the bodies (cut short). */
function exchangeText(exchange: Exchange): TerminalText {
  const cut = (text: string) => (text.length > DEBUG_BODY_MAX ? `${text.slice(0, DEBUG_BODY_MAX)}… (${text.length} characters)` : text);
  const lines = [line`> ${exchange.method} ${exchange.url}`.text];
  if (exchange.requestBody !== undefined) lines.push(line`> ${cut(exchange.requestBody)}`.text);
  lines.push(line`< ${exchange.status ?? '-'} ${exchange.contentType || '(no content type)'}`.text);
  if (exchange.responseBody !== undefined && exchange.responseBody !== '') lines.push(line`< ${cut(exchange.responseBody)}`.text);
  return TerminalText.verbatim(lines.join('\n'));
}

/** An error's cause for --debug: an Error as its text, anything else as inspect() shows it. */
function causeText(cause: unknown): string {
  if (cause === undefined) return '';
  return cause instanceof Error || typeof cause === 'string' ? String(cause) : inspect(cause);
}

/** 5s, 3m, 2h, 4d: the largest whole unit. */
export function largestUnitAge(created: string, now: number): string {
  const seconds = Math.max(0, Math.floor((now - Date.parse(created)) / 1000));
  if (Number.isNaN(seconds)) return '?';
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}

/** How long until `expires`, in the largest whole unit ("in 4m"); "due" once passed; "-" for none. */
export function timeLeft(expires: string | undefined, now: number): string {
  if (expires === undefined) return '-';
  const at = Date.parse(expires);
  if (Number.isNaN(at)) return '?';
  if (at <= now) return 'due';
  return `in ${largestUnitAge(new Date(now - (at - now)).toISOString(), now)}`;
}

/**
 * Columns NAME, GROUP, STATUS, ADDRESSES, AGE, and EXPIRES (how long is left) when some process has
 * an expiry (wide: instead CREATED, EXPIRES and REASON, as ISO 8601 times, and each address marked
 * public or private), padded to line up; '-' for nothing. Every cell is escaped (newlines
 * and tabs included) before the widths are measured, so each row stays one line.
 */
export function table(processes: ProcessInfo[], now: number, options: { wide?: boolean } = {}): string {
  const wide = options.wide === true;
  // Narrow: how long is left, only when some process has an expiry; wide: when, always.
  const expiring = !wide && processes.some((p) => p.expires !== undefined);
  const address = (a: ProcessInfo['socket_addresses'][number]) =>
    `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}${wide ? (a.is_public ? '(public)' : '(private)') : ''}`;
  const rows = [
    ['NAME', 'GROUP', 'STATUS', 'ADDRESSES', 'AGE', ...(expiring ? ['EXPIRES'] : []), ...(wide ? ['CREATED', 'EXPIRES', 'REASON'] : [])],
    ...processes.map((p) => [
      p.process_name,
      p.group ?? '-',
      p.status === 'EXITED' && p.exit_code != null ? `EXITED(${p.exit_code})` : p.status,
      p.socket_addresses.length === 0 ? '-' : p.socket_addresses.map(address).join(','),
      largestUnitAge(p.created, now),
      ...(expiring ? [timeLeft(p.expires, now)] : []),
      ...(wide ? [p.created, p.expires ?? '-', p.reason ?? '-'] : []),
    ]),
  ].map((row) => row.map((cell) => escapeText(cell)));
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map(
      (r) =>
        r
          .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!)))
          .join('   ')
          .trimEnd() + '\n',
    )
    .join('');
}

if (isMain(import.meta.url)) {
  handleOutputErrors('hpctl');
  process.exitCode = await main(process.argv.slice(2));
}
