import assert from 'node:assert/strict';
import { HydroplaneError } from '../../src/errors.ts';

/** Asserts that `promise` rejects with a HydroplaneError of `code` whose message matches each pattern. */
export async function rejectsWith(promise: Promise<unknown>, code: string, ...messages: RegExp[]): Promise<HydroplaneError> {
  let caught: unknown;
  await assert.rejects(promise, (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof HydroplaneError, `expected a HydroplaneError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  for (const m of messages) assert.match(caught.message, m);
  return caught;
}

/** Drives a running server through one process's life: start (201), list, stop (200). */
export async function assertServesProcesses(url: string, processName = 'api'): Promise<void> {
  const created = await fetch(`${url}/process`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ process_name: processName, container: { image_uri: 'nginxdemos/hello' } }),
  });
  assert.equal(created.status, 201, await created.clone().text());
  const listed = (await (await fetch(`${url}/process`)).json()) as Array<{ process_name: string }>;
  assert.deepEqual(
    listed.map((p) => p.process_name),
    [processName],
  );
  assert.equal((await fetch(`${url}/process/${processName}`, { method: 'DELETE' })).status, 200);
}
