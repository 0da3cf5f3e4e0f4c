// The feed's ids and replay order (event-feed.ts), without a cluster: a cursor survives the trip
// through an SSE id whatever the versions are, nothing else parses as one, and a replay is told in
// etcd's order only when every version is a decimal integer.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { formatCursor, parseCursor, replayOrder, versionOrder } from '../../../src/runtimes/kubernetes/event-feed.ts';

describe('event ids: cursors of both watches', () => {
  it('round-trips any two non-empty versions, as opaque strings, in an id fit for SSE', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (deployments, pods) => {
        const id = formatCursor({ deployments, pods });
        assert.match(id, /^k8s\.[A-Za-z0-9_-]+$/, 'no newline, colon or space: an SSE id line');
        assert.deepEqual(parseCursor(id), { deployments, pods });
      }),
    );
  });

  it('parses nothing that is not one of its own ids', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        if (!text.startsWith('k8s.')) assert.equal(parseCursor(text), undefined);
      }),
    );
    for (const id of [
      'k8s.',
      'k8s.!!!',
      `k8s.${Buffer.from('[1,2]').toString('base64url')}`,
      `k8s.${Buffer.from('["",""]').toString('base64url')}`,
      `k8s.${Buffer.from('{"a":1}').toString('base64url')}`,
      '1733000000000000000-abc-die',
    ])
      assert.equal(parseCursor(id), undefined, id);
  });
});

describe('replay order', () => {
  it("sorts decimal versions numerically (etcd's order), not as text", () => {
    assert.ok(versionOrder('999', '1000') < 0);
    assert.ok(versionOrder('1000', '999') > 0);
    assert.equal(versionOrder('12', '12'), 0);
    assert.deepEqual(
      replayOrder([{ rv: '1002' }, { rv: '999' }, { rv: '1001' }]).map((a) => a.rv),
      ['999', '1001', '1002'],
    );
  });

  it('keeps the arrival order when any version is not a decimal integer (opaque versions are not compared)', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.bigInt({ min: 0n, max: 10n ** 20n }).map(String), fc.string())), (versions) => {
        const arrivals = versions.map((rv, i) => ({ rv, i }));
        const ordered = replayOrder(arrivals);
        assert.equal(ordered.length, arrivals.length);
        if (versions.every((v) => /^\d+$/.test(v))) {
          for (let k = 1; k < ordered.length; k++) assert.ok(BigInt(ordered[k - 1]!.rv) <= BigInt(ordered[k]!.rv));
        } else {
          assert.deepEqual(ordered, arrivals);
        }
      }),
    );
  });
});
