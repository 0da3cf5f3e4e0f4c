// Every help text of every command, as a terminal or a pager shows it: the built commands run
// with --help for themselves and for each command their own help lists, not only the ones a test
// names. A help is plain text: no control character but the line end (a "\n" written in a
// template literal once printed a real line end and carriage return), and no line past the 80
// columns that commander wraps its own text to.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { skipOrFail, unbuilt } from '../support/needs.ts';
import { ROOT } from '../support/server-process.ts';

const run = promisify(execFile);
const COMMANDS = ['hydroplane', 'hpctl', 'local-secret-store'].map((name) => ({ name, path: join(ROOT, 'dist/cli', `${name}.js`) }));
const skip = skipOrFail('help text tests', [unbuilt(...COMMANDS.map((c) => c.path))]);

async function help(path: string, args: string[]): Promise<string> {
  // No terminal: commander wraps to 80 columns, and nothing is coloured.
  const { stdout, stderr } = await run(process.execPath, [path, ...args, '--help'], { env: { ...process.env, COLUMNS: '' } });
  assert.equal(stderr, '', `${args.join(' ')} --help wrote to stderr`);
  return stdout;
}

/** The commands a help's "Commands:" section lists (help itself left out). */
function subcommands(text: string): string[] {
  const section = text.split('\nCommands:\n')[1]?.split('\n\n')[0] ?? '';
  return [...section.matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((m) => m[1]!).filter((name) => name !== 'help');
}

function assertPlain(text: string, what: string): void {
  const control = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/u.exec(text);
  assert.equal(
    control,
    null,
    `${what}: a control character (U+${control?.[0].codePointAt(0)?.toString(16).padStart(4, '0')}) at ${control?.index}`,
  );
  for (const line of text.split('\n')) assert.ok(line.length <= 80, `${what}: a line of ${line.length} columns: ${line}`);
  assert.match(text, /^Usage: /, `${what}: no usage line`);
}

describe('help texts', { skip }, () => {
  for (const { name, path } of COMMANDS) {
    it(`${name} --help and each of its commands' --help are plain text within 80 columns`, async () => {
      const top = await help(path, []);
      assertPlain(top, `${name} --help`);
      const names = subcommands(top);
      if (name !== 'hydroplane') assert.ok(names.length >= 3, `${name}: no commands found in its help`);
      for (const sub of names) assertPlain(await help(path, [sub]), `${name} ${sub} --help`);
    });
  }
});
