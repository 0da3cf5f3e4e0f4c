// The real server (dist/, as users run it) under 20 hostile 1 MB specs at once, several rounds:
// its memory stays flat and /health still answers. Needs no Docker Engine: the runtime points at a
// socket that does not exist: every spec is refused before any runtime call, or (under Warn, once
// its unknown fields are dropped) answered 503 by that runtime.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { startServerProcess, writeConfig } from '../support/server-process.ts';
import { hostileSpecs } from './hostile-specs.ts';

const AT_ONCE = 20;
const ROUNDS = 5;
/** Generous: before the answers were bounded, eight of these took the server from 80 MB to 670 MB. */
const GROWTH_MAX_MB = 150;

/** A line of /proc/PID/status, in MB. */
async function statusMb(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1];
  assert.ok(kb, `no ${field} in /proc/${pid}/status`);
  return Number(kb) / 1024;
}

describe('hostile specs against the server process', { skip: process.platform !== 'linux' && 'reads /proc' }, () => {
  it(`keeps its memory flat under ${AT_ONCE} hostile 1 MB specs at once, ${ROUNDS} rounds, and still answers /health`, async () => {
    const config = await writeConfig('runtime:\n  runtime_type: docker\n  docker_host: unix:///tmp/hydroplane-test-no-such-docker.sock\n');
    const server = await startServerProcess(['-c', config], { LOG_LEVEL: 'warn' });
    try {
      const pid = server.child.pid!;
      // The biggest ones: a megabyte each, and the most work each.
      const specs = hostileSpecs().filter((s) => s.body.length > 500_000);
      assert.ok(specs.length >= 10, 'enough kinds of hostile spec');
      // Strict refuses each spec; Warn (the default) drops what is unknown, refuses the rest, and
      // asks the runtime (unreachable here: 503) for a spec whose only problems were unknown fields.
      const post = async (body: string, query = '?fieldValidation=Strict') => {
        const res = await fetch(`${server.url}/process${query}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        const text = await res.text();
        return { status: res.status, bytes: Buffer.byteLength(text) };
      };
      // One of a kind first, so that what every first request allocates (compiled code, caches) is in the baseline.
      for (const spec of specs.slice(0, 3)) assert.equal((await post(spec.body)).status, 422);
      const before = await statusMb(pid, 'VmRSS');
      let largest = 0;
      for (let round = 0; round < ROUNDS; round++) {
        const query = round % 2 === 0 ? '?fieldValidation=Strict' : '';
        const answers = await Promise.all(
          Array.from({ length: AT_ONCE }, (_, i) => post(specs[(round * AT_ONCE + i) % specs.length]!.body, query)),
        );
        for (const answer of answers) {
          assert.ok(query === '' ? [422, 503].includes(answer.status) : answer.status === 422, `${answer.status}`);
          largest = Math.max(largest, answer.bytes);
        }
      }
      const peak = await statusMb(pid, 'VmHWM');
      const after = await statusMb(pid, 'VmRSS');
      const health = await fetch(`${server.url}/health`);
      assert.equal(health.status, 200);
      assert.deepEqual(await health.json(), { status: 'ok', runtime: 'docker' });
      const report = `RSS ${before.toFixed(0)} MB before, ${after.toFixed(0)} MB after, peak ${peak.toFixed(0)} MB; largest answer ${largest} bytes`;
      assert.ok(peak - before < GROWTH_MAX_MB, report);
      assert.ok(largest <= 8 * 1024, report);
      process.stdout.write(`# ${report}\n`);
    } finally {
      await server.stop();
    }
  });
});
