// The feed's ids and replay order (event-feed.ts), without a cluster: a cursor survives the trip
// through an SSE id whatever the versions are, nothing else parses as one, and a replay is told in
// etcd's order only when every version is a decimal integer; and a follower that does not take its
// events does not make the feed keep them without bound.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { V1Deployment } from '@kubernetes/client-node';
import { HydroplaneError } from '../../../src/errors.ts';
import { PROCESS_LABEL } from '../../../src/labels.ts';
import type { KubeApiClient } from '../../../src/runtimes/kubernetes/api-client.ts';
import { EventFeed, formatCursor, parseCursor, replayOrder, versionOrder } from '../../../src/runtimes/kubernetes/event-feed.ts';
import type { ObjectWatchHandlers } from '../../../src/runtimes/kubernetes/object-watch.ts';
import { SILENT_LOGGER } from '../../../src/runtimes/logger.ts';

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

describe('a follower that does not take its events', () => {
  /** A client whose two watches are driven by the test: empty lists, then the changes it sends. */
  function drivenClient() {
    const handlers: { deployments?: ObjectWatchHandlers<V1Deployment> } = {};
    let stopped = 0;
    const watch = { stop: () => void stopped++ };
    const client = {
      snapshotDeployments: async () => ({ items: [], resourceVersion: '1' }),
      snapshotPods: async () => ({ items: [], resourceVersion: '1' }),
      watchDeployments: async (_s: string, _rv: string, h: ObjectWatchHandlers<V1Deployment>) => {
        handlers.deployments = h;
        return watch;
      },
      watchPods: async () => watch,
      watchFailure: (err: unknown) => new HydroplaneError('runtime_error', String(err)),
    };
    return { client: client as unknown as KubeApiClient, handlers, stopped: () => stopped };
  }
  const deployment = (name: string, uid: string): V1Deployment => ({
    metadata: { name, uid, labels: { [PROCESS_LABEL]: name }, creationTimestamp: new Date(0) },
  });

  it('keeps at most queueLimit events waiting, then ends with an error and releases its watches', async () => {
    const { client, handlers, stopped } = drivenClient();
    const feed = new EventFeed({ client, labelSelector: 'x', logger: SILENT_LOGGER, queueLimit: 50 });
    await feed.open();
    const events = feed.iterate();
    for (let i = 0; i < 20; i++) handlers.deployments!.change('ADDED', deployment(`p${i}`, `u${i}`), String(10 + i));
    const first = await events.next();
    assert.equal(first.done, false, 'events under the limit are told');
    for (let i = 20; i < 200; i++) handlers.deployments!.change('ADDED', deployment(`p${i}`, `u${i}`), String(10 + i));
    await assert.rejects(events.next(), (err: unknown) => err instanceof HydroplaneError && /did not take its events/.test(err.message));
    assert.equal(stopped(), 2, 'both watches are stopped');
  });

  it('tells every event to a follower that keeps up, however many', async () => {
    const { client, handlers } = drivenClient();
    const feed = new EventFeed({ client, labelSelector: 'x', logger: SILENT_LOGGER, queueLimit: 50 });
    await feed.open();
    const events = feed.iterate();
    let told = 0;
    for (let i = 0; i < 500; i++) {
      handlers.deployments!.change('ADDED', deployment(`p${i}`, `u${i}`), String(10 + i));
      const next = await events.next();
      assert.equal(next.done, false);
      told++;
    }
    assert.equal(told, 500);
    feed.end();
  });
});
