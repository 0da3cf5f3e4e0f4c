#!/usr/bin/env node
// `local-secret-store`: makes a local secret store and adds, reads and removes its secrets.
import { createReadStream } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { Command, CommanderError, Option } from 'commander';
import { HydroplaneError } from '../errors.ts';
import { DEFAULT_STORE_LOCATION, expandStoreLocation, LocalSecretStore } from '../secrets/local-secret-store.ts';
import { VERSION } from '../version.ts';
import { isMain } from './is-main.ts';
import { handleOutputErrors } from './stdio.ts';
import {
  decodeUtf8,
  EXIT_ABORTED,
  PASSWORD_ENV,
  PromptAborted,
  readNewPassword,
  readPassword,
  readSecretValue,
  SECRET_VALUE_MAX,
  valueTooLarge,
} from './password.ts';
import { escapeText } from './terminal-text.ts';
import { readAtMost } from '../read-bounded.ts';

export interface CliIO {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
}

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

const HELP_AFTER = `
The password comes from ${PASSWORD_ENV}
when it is set; else it is typed without echo on a terminal (twice for init);
else it is the first line of standard input.

There is no "list" command: the store keeps each secret in a file named by the
MD5 hash of the secret's name, so the names cannot be read back.

Exit status: 0 done, 1 failed (wrong password, no store, no such secret, ...),
2 wrong usage, 130 aborted with Ctrl-C at a prompt.
`;

const ADD_HELP_AFTER = `
The value comes from -f FILE (its bytes exactly); else it is typed without echo
on a terminal (Enter ends it); else it is all of standard input, up to its end,
less one trailing line end (\\n or \\r\\n), so that printf 'value\\n' | ... stores
value, as the original did. A value holds at most 1 MiB. A value that is a JSON
object can be read one key at a time from a spec: {"secret_name": NAME, "key":
KEY}.
`;

const GET_HELP_AFTER = `
Prints only the value on standard output, followed by a newline, as the original
did: "$(...)" gives the value, and "get A | local-secret-store add B" copies it
(add takes that newline off again; a value that itself ends in a carriage return
loses it in such a copy). "> file" holds the value and that newline.
`;

function processIO(): CliIO {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env };
}

/** Runs the command with `argv` (the arguments after the program's name); returns the exit status. */
export async function main(argv: string[], io: CliIO = processIO()): Promise<number> {
  const streams = { stdin: io.stdin, stderr: io.stderr };
  // Names and paths come from the command line: control characters in them are shown escaped,
  // never sent to the terminal as they are (an escape sequence could rewrite the screen).
  const say = (line: string): void => {
    io.stderr.write(`${escapeText(line)}\n`);
  };

  const program = new Command('local-secret-store')
    .description("Manage a local Hydroplane secret store: a folder of secrets, each encrypted with the store's password.")
    .version(VERSION)
    // Both spellings: the original's users wrote --store_location; commander's convention is --store-location.
    .addOption(new Option('--store_location <dir>', `folder of the store (default: ${DEFAULT_STORE_LOCATION})`))
    .addOption(new Option('--store-location <dir>', 'the same as --store_location').hideHelp())
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      // commander's errors echo the arguments: escaped as every other message.
      writeErr: (text) => io.stderr.write(escapeText(text, { keepNewlines: true })),
    })
    .showHelpAfterError('(run local-secret-store --help for usage)')
    .addHelpText('after', HELP_AFTER);

  const location = (): string => {
    const opts = program.opts<{ store_location?: string; storeLocation?: string }>();
    if (opts.store_location !== undefined && opts.storeLocation !== undefined && opts.store_location !== opts.storeLocation) {
      program.error('error: --store_location and --store-location name different folders; give one', { exitCode: EXIT_USAGE });
    }
    // Expanded here so that prompts name the same folder as the messages.
    const given = opts.store_location ?? opts.storeLocation;
    // An empty one would be the current folder, a store nobody meant.
    if (given?.trim() === '') program.error('error: --store_location is empty; give the folder of the store', { exitCode: EXIT_USAGE });
    return expandStoreLocation(given ?? DEFAULT_STORE_LOCATION);
  };
  const openStore = async (): Promise<LocalSecretStore> => {
    const dir = location();
    await LocalSecretStore.mustExist(dir);
    return LocalSecretStore.open(dir, await readPassword(`Password for the secret store at ${dir}: `, io.env, streams));
  };

  program
    .command('init')
    .description('make a new, empty store (refused where a store or other files already are)')
    .action(async () => {
      const dir = location();
      const password = await readNewPassword(`Password for the new secret store at ${dir}: `, 'The same password again: ', io.env, streams);
      const store = await LocalSecretStore.init(dir, password);
      say(`Made a local secret store at ${store.location}`);
    });

  program
    .command('add')
    .description('add a secret')
    .argument('<name>', 'name of the secret')
    .option('-f, --filename <file>', 'read the value from this file')
    .option('--overwrite', 'replace the secret if it exists')
    .addHelpText('after', ADD_HELP_AFTER)
    .action(async (name: string, opts: { filename?: string; overwrite?: boolean }) => {
      // The password is checked before the value is asked for, so nobody types a secret in vain.
      const store = await openStore();
      if (!opts.overwrite && (await store.has(name))) {
        throw new HydroplaneError(
          'invalid_request',
          `secret '${name}' already exists in the local secret store at ${store.location}; add --overwrite to replace it`,
        );
      }
      const value =
        opts.filename !== undefined
          ? await readValueFile(opts.filename)
          : await readSecretValue(`Value of secret '${name}' (not shown): `, streams);
      // Almost always a mistake (an empty pipe, a stray Enter), and a store cannot tell it from a forgotten value.
      if (value === '') throw new HydroplaneError('invalid_request', `the value of secret '${name}' is empty; nothing was stored`);
      await store.add(name, value, { overwrite: opts.overwrite === true });
      say(`${opts.overwrite ? 'Stored' : 'Added'} secret '${name}'`);
    });

  program
    .command('get')
    .description("print a secret's value")
    .argument('<name>', 'name of the secret')
    .addHelpText('after', GET_HELP_AFTER)
    .action(async (name: string) => {
      const value = await (await openStore()).get(name);
      // One newline after the value wherever it goes, as the original's print(): add from a pipe takes it off again.
      io.stdout.write(`${value}\n`);
    });

  program
    .command('remove')
    .description('remove a secret')
    .argument('<name>', 'name of the secret')
    .action(async (name: string) => {
      await (await openStore()).remove(name);
      say(`Removed secret '${name}'`);
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT_OK;
  } catch (err) {
    // Commander has already printed its message; it exits 1 on usage errors, we keep 1 for failures.
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    if (err instanceof PromptAborted) return EXIT_ABORTED;
    const message = err instanceof Error ? err.message : String(err);
    say(`local-secret-store: ${message}`);
    return EXIT_FAILED;
  }
}

async function readValueFile(file: string): Promise<string> {
  let bytes: Buffer | undefined;
  try {
    bytes = await readAtMost(createReadStream(file), SECRET_VALUE_MAX);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : err instanceof Error ? err.message : String(err);
    throw new HydroplaneError('invalid_request', `cannot read ${file}: ${reason}`);
  }
  if (bytes === undefined) throw valueTooLarge(file);
  return decodeUtf8(bytes, file);
}

if (isMain(import.meta.url)) {
  handleOutputErrors('local-secret-store');
  process.exitCode = await main(process.argv.slice(2));
}
