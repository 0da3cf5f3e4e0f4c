#!/usr/bin/env node
// `hpctl`: the command line for a running Hydroplane server.
import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { ApiError, ConnectionError, HydroplaneClient } from '../client.ts';
import { VERSION } from '../version.ts';
import { isMain } from './is-main.ts';

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

const defaultIo: Io = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  env: process.env,
};

class UsageError extends Error {}

/** Runs hpctl; returns the exit code. */
export async function main(argv: string[], io: Io = defaultIo): Promise<number> {
  let debug = false;
  const program = new Command('hpctl')
    .description('Start, list and stop processes on a Hydroplane server.')
    .version(VERSION)
    .option('-s, --server <host:port>', 'the server (default: $HYDROPLANE_SERVER, else localhost:8000)')
    .option('-t, --token <token>', 'the API token, when the server needs one (default: $HYDROPLANE_API_TOKEN)')
    .option('-d, --debug', 'show the full error')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .addHelpText('after', '\nEnvironment:\n  HYDROPLANE_SERVER      the server, when -s is not given\n  HYDROPLANE_API_TOKEN   the API token, when -t is not given\n');

  const client = () => {
    const opts = program.opts<{ server?: string; token?: string }>();
    const token = opts.token ?? io.env['HYDROPLANE_API_TOKEN'];
    return new HydroplaneClient(opts.server ?? io.env['HYDROPLANE_SERVER'] ?? 'localhost:8000', token ? { token } : {});
  };
  const print = (value: unknown) => io.stdout(`${JSON.stringify(value, null, 2)}\n`);

  program
    .command('start')
    .description('start the process that a spec file describes')
    .argument('<spec>', 'a process spec, as a JSON file')
    .action(async (file: string) => {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (error) {
        throw new UsageError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
      }
      let spec: unknown;
      try {
        spec = JSON.parse(text);
      } catch (error) {
        throw new UsageError(`${file} is not valid JSON: ${(error as Error).message}`);
      }
      print(await client().start(spec));
    });

  program
    .command('stop')
    .description('stop a process, or every process of a group')
    .argument('[name]', 'the process to stop')
    .option('-g, --group <group>', 'stop every process of this group')
    .action(async (name: string | undefined, opts: { group?: string }) => {
      if ((name === undefined) === (opts.group === undefined)) throw new UsageError('give either a process name or -g GROUP');
      print(opts.group !== undefined ? await client().stopGroup(opts.group) : await client().stop(name!));
    });

  program
    .command('list')
    .description('list processes as a JSON array')
    .option('-g, --group <group>', 'only this group')
    .action(async (opts: { group?: string }) => {
      print(await client().list(opts.group));
    });

  program.hook('preAction', () => {
    debug = Boolean(program.opts<{ debug?: boolean }>().debug);
  });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    const commanderCode = (error as { code?: string }).code;
    if (commanderCode?.startsWith('commander.')) {
      // Help and version end here too, with exit code 0.
      return (error as { exitCode?: number }).exitCode ?? 2;
    }
    if (error instanceof ApiError) {
      io.stderr(`${typeof error.body === 'string' ? error.body : JSON.stringify(error.body)}\n`);
      if (debug) io.stderr(`${error.stack}\n`);
      return 1;
    }
    if (error instanceof UsageError || error instanceof ConnectionError) {
      io.stderr(`hpctl: ${error.message}\n`);
      if (error instanceof ConnectionError) io.stderr('Is the server running? Point hpctl at it with -s HOST:PORT or HYDROPLANE_SERVER.\n');
      if (debug) io.stderr(`${error.stack}\n${String((error as { cause?: unknown }).cause ?? '')}\n`);
      return error instanceof UsageError ? 2 : 1;
    }
    io.stderr(`hpctl: ${error instanceof Error ? error.message : String(error)}\n`);
    if (debug && error instanceof Error) io.stderr(`${error.stack}\n`);
    return 1;
  }
}

if (isMain(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
