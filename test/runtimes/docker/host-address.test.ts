// The Docker runtime's public host, asked at most once per time to live (cachedPublicHost in
// src/runtimes/docker/host-address.ts): calls within it and calls in flight share one answer, a
// failure is not kept, and a local Engine resolves to an address of this machine.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cachedPublicHost } from '../../../src/runtimes/docker/host-address.ts';

/** A resolver that counts its calls and answers `answers` in turn (an Error is thrown). */
function resolver(...answers: Array<string | Error>) {
  const asked: Array<string | undefined> = [];
  const resolve = async (remoteHost: string | undefined) => {
    asked.push(remoteHost);
    const answer = answers[Math.min(asked.length, answers.length) - 1]!;
    if (answer instanceof Error) throw answer;
    return answer;
  };
  return { asked, resolve };
}

describe('cachedPublicHost', () => {
  it('asks once within the time to live, and again after it', async () => {
    let now = 0;
    const { asked, resolve } = resolver('10.0.0.5', '10.0.0.6');
    const host = cachedPublicHost('engine.example', { ttlMs: 1000, now: () => now, resolve });
    assert.equal(await host(), '10.0.0.5');
    now = 999;
    assert.equal(await host(), '10.0.0.5');
    assert.deepEqual(asked, ['engine.example']);
    now = 1000;
    assert.equal(await host(), '10.0.0.6');
    assert.deepEqual(asked, ['engine.example', 'engine.example']);
  });

  it('gives calls made while the first is in flight its answer', async () => {
    const { asked, resolve } = resolver('10.0.0.5');
    const host = cachedPublicHost(undefined, { now: () => 0, resolve });
    assert.deepEqual(await Promise.all([host(), host(), host()]), ['10.0.0.5', '10.0.0.5', '10.0.0.5']);
    assert.equal(asked.length, 1);
  });

  it('keeps no failure: the next call asks again', async () => {
    const { asked, resolve } = resolver(new Error('no interfaces'), '10.0.0.5');
    const host = cachedPublicHost(undefined, { now: () => 0, resolve });
    await assert.rejects(host(), /no interfaces/);
    assert.equal(await host(), '10.0.0.5');
    assert.equal(asked.length, 2);
  });

  it('resolves a local Engine to an address of this machine by default', async () => {
    const host = await cachedPublicHost(undefined)();
    assert.match(host, /^\d+\.\d+\.\d+\.\d+$/);
  });
});
