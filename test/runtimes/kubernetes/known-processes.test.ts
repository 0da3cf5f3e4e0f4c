// What the Kubernetes runtime remembers of the processes it has seen (known-processes.ts): the
// newest ones, up to its limit, each used by one stop.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { V1Deployment } from '@kubernetes/client-node';
import { KnownProcesses } from '../../../src/runtimes/kubernetes/known-processes.ts';

const deployment = (uid: string | undefined, pullSecretOf?: string): V1Deployment => ({
  metadata: uid === undefined ? {} : { uid },
  spec: {
    selector: {},
    template: { spec: { containers: [], ...(pullSecretOf === undefined ? {} : { imagePullSecrets: [{ name: pullSecretOf }] }) } },
  },
});

describe('KnownProcesses', () => {
  it('keeps the newest processes seen, up to its limit, with the uids last seen', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'), { maxLength: 40 }),
        (limit, seen) => {
          const known = new KnownProcesses(limit);
          seen.forEach((name, i) => known.remember(name, deployment(`uid-${i}`), undefined));
          // The model: each name's last sighting; the newest `limit` of them.
          const last = new Map<string, number>();
          seen.forEach((name, i) => last.set(name, i));
          const kept = [...last].sort((x, y) => y[1] - x[1]).slice(0, limit);
          assert.equal(known.size, kept.length);
          for (const [name, i] of kept) assert.equal(known.take(name)?.deploymentUid, `uid-${i}`);
          assert.equal(known.size, 0, 'each entry is taken once');
        },
      ),
    );
  });

  it('remembers the Service and the pull Secret, and nothing of a Deployment without a uid', () => {
    const known = new KnownProcesses();
    known.remember('web', deployment('d1', 'web'), { metadata: { uid: 's1' } });
    known.remember('job', deployment('d2', 'someone-else'), undefined);
    known.remember('odd', deployment(undefined), undefined);
    assert.deepEqual(known.take('web'), { deploymentUid: 'd1', serviceUid: 's1', usesPullSecret: true });
    assert.deepEqual(known.take('job'), { deploymentUid: 'd2', serviceUid: undefined, usesPullSecret: false });
    assert.equal(known.take('odd'), undefined);
    known.remember('gone', deployment('d3'), undefined);
    known.forget('gone');
    assert.equal(known.take('gone'), undefined);
  });
});
