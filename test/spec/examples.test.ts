import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ProcessSpec } from '../../src/spec/process-spec.ts';
import { parseOrThrow } from '../../src/spec/validate.ts';

const root = new URL('../../examples/', import.meta.url).pathname;

async function jsonFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((e) =>
      e.isDirectory() ? jsonFiles(join(dir, e.name)) : Promise.resolve(e.name.endsWith('.json') ? [join(dir, e.name)] : []),
    ),
  );
  return nested.flat();
}

describe('examples', async () => {
  const files = await jsonFiles(root);
  it('has the examples the README points to', () => {
    const names = files.map((f) => f.slice(root.length)).sort();
    assert.deepEqual(names, [
      'chat/chat-client-alice.json',
      'chat/chat-client-bob.json',
      'chat/chat-server.json',
      'hello/hello.json',
      'nginx-advanced.json',
      'nginx-expiring.json',
      'nginx.json',
    ]);
  });
  for (const file of files) {
    it(`${file.slice(root.length)} is a valid process spec`, async () => {
      const spec = parseOrThrow(ProcessSpec, JSON.parse(await readFile(file, 'utf8')), { subject: 'process spec' });
      assert.match(spec.process_name, /^[a-z]/);
    });
  }
});
