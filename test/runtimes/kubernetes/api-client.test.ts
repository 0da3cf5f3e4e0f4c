// The client layer (api-client.ts) against the Kubernetes stand-in: the answers it turns into
// values (a missing object, a taken name, an object already gone, nodes RBAC refuses), the
// failures it translates with the call and purpose named, and its per-call deadline.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApiException, type V1Deployment, type V1Secret } from '@kubernetes/client-node';
import fc from 'fast-check';
import { HydroplaneError } from '../../../src/errors.ts';
import { labelsFor } from '../../../src/labels.ts';
import { everyPage, KubeApiClient, type CallPurpose, type PageCall } from '../../../src/runtimes/kubernetes/api-client.ts';
import { kubeConfigFor } from '../../../src/runtimes/kubernetes/cluster.ts';
import { startKubeStandin, type KubeStandin } from '../../support/kube-standin/index.ts';
import { rejectsWith } from '../../support/assertions.ts';
import { uniqueName } from './helpers.ts';

const secret = (name: string, value = 'v1'): V1Secret => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, labels: labelsFor(name, undefined) },
  data: { token: Buffer.from(value).toString('base64') },
});

const deployment = (name: string): V1Deployment => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, labels: labelsFor(name, undefined) },
  spec: {
    replicas: 1,
    selector: { matchLabels: labelsFor(name, undefined) },
    template: { metadata: { labels: labelsFor(name, undefined) }, spec: { containers: [{ name, image: 'nginx' }] } },
  },
});

describe('Kubernetes API client', () => {
  let api: KubeStandin;
  let client: KubeApiClient;
  const purpose = (name: string): CallPurpose => ({ action: `testing '${name}'`, processName: name });

  before(async () => {
    api = await startKubeStandin({ podStartDelayMs: 10 });
    client = new KubeApiClient(kubeConfigFor({ kubeconfig: api.kubeconfigPath }), {
      runtime: 'kubernetes',
      namespace: 'default',
      timeoutMs: 5000,
    });
  });
  after(() => api.close());

  it('shares connections between calls: 40 calls open a handful, not one each', async () => {
    const before = api.controls.connections();
    for (let i = 0; i < 30; i++) assert.equal(await client.readDeployment(uniqueName('none'), purpose('none')), undefined);
    await Promise.all(Array.from({ length: 10 }, () => client.listPods('hydroplane/process-id=none', 'listing pods')));
    const after = api.controls.connections();
    // Ten calls at once may each need one; one after another reuse the same.
    assert.ok(after.accepted - before.accepted <= 11, `${after.accepted - before.accepted} connections for 40 calls`);
    assert.ok(after.open <= 11, `${after.open} connections left open`);
  });

  it("takes client-node's newest dispatcher after the pool's lifetime, and closes the one it replaces", async () => {
    // The pool's lifetime on a clock of the test's own, so that a slow machine cannot make a batch
    // outlive it (it did in CI, with a real lifetime of 50 ms: 4 connections for 5 calls).
    let clock = 0;
    const renewing = new KubeApiClient(kubeConfigFor({ kubeconfig: api.kubeconfigPath }), {
      runtime: 'kubernetes',
      namespace: 'default',
      timeoutMs: 5000,
      poolLifetimeMs: 60_000,
      now: () => clock,
    });
    const before = api.controls.connections();
    for (let i = 0; i < 5; i++) await renewing.readDeployment(uniqueName('none'), purpose('none'));
    const first = api.controls.connections().accepted - before.accepted;
    // A call sent as the one before it ends may find its connection not yet free, and open a second.
    assert.ok(first >= 1 && first <= 2, `${first} connections for 5 calls`);
    clock += 59_999;
    await renewing.readDeployment(uniqueName('none'), purpose('none'));
    assert.equal(api.controls.connections().accepted - before.accepted, first, 'a new connection before the lifetime ended');
    clock += 1;
    for (let i = 0; i < 5; i++) await renewing.readDeployment(uniqueName('none'), purpose('none'));
    const second = api.controls.connections().accepted - before.accepted - first;
    assert.ok(second >= 1 && second <= 2, `${second} new connections after the lifetime`);
    // The replaced dispatcher closes its connections once its calls are done.
    const deadline = Date.now() + 2000;
    while (api.controls.connections().open > before.open + second && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.ok(api.controls.connections().open <= before.open + second, 'the replaced connections closed');
  });

  it('reads a missing object as undefined, and a present one as itself', async () => {
    const name = uniqueName('read');
    assert.equal(await client.readSecret(name, purpose(name)), undefined);
    assert.equal(await client.readDeployment(name, purpose(name)), undefined);
    assert.equal(await client.readService(name, purpose(name)), undefined);
    const made = await client.createSecret(secret(name), purpose(name));
    assert.ok('created' in made);
    assert.equal((await client.readSecret(name, purpose(name)))?.metadata?.uid, made.created.metadata?.uid);
  });

  it('answers a create of a taken name with the error that says so, naming the process', async () => {
    const name = uniqueName('taken');
    const first = await client.createDeployment(deployment(name), purpose(name));
    assert.ok('created' in first);
    const second = await client.createDeployment(deployment(name), purpose(name));
    assert.ok('alreadyExists' in second);
    assert.equal(second.alreadyExists.code, 'process_exists');
    assert.match(second.alreadyExists.message, new RegExp(`a process named '${name}' already exists`));
  });

  it('deletes only the object it was given: one already gone, or replaced by a namesake, counts as done', async () => {
    const name = uniqueName('gone');
    const first = await client.createSecret(secret(name), purpose(name));
    assert.ok('created' in first);
    await client.deleteSecret(first.created, purpose(name));
    await client.deleteSecret(first.created, purpose(name));
    const namesake = await client.createSecret(secret(name, 'v2'), purpose(name));
    assert.ok('created' in namesake);
    await client.deleteSecret(first.created, purpose(name));
    assert.equal((await client.readSecret(name, purpose(name)))?.metadata?.uid, namesake.created.metadata?.uid, 'the namesake stays');
  });

  it('replaces a Secret only at the version it read', async () => {
    const name = uniqueName('replace');
    const made = await client.createSecret(secret(name), purpose(name));
    assert.ok('created' in made);
    const read = await client.readSecret(name, purpose(name));
    const next = secret(name, 'v2');
    next.metadata!.resourceVersion = read?.metadata?.resourceVersion;
    await client.replaceSecret(next, purpose(name));
    await rejectsWith(client.replaceSecret(next, purpose(name)), 'runtime_error', /conflict while testing/);
  });

  it('lists by label selector, and answers undefined for nodes when RBAC refuses them', async () => {
    const name = uniqueName('list');
    const made = await client.createDeployment(deployment(name), purpose(name));
    assert.ok('created' in made);
    const listed = await client.listDeployments(`hydroplane/process-id=${name}`, 'listing');
    assert.deepEqual(
      listed.map((d) => d.metadata?.name),
      [name],
    );
    assert.ok(((await client.listNodes('listing')) ?? []).length > 0);
    const fault = api.controls.injectFault({ verb: 'list', resource: 'nodes' }, { status: 403 });
    try {
      assert.equal(await client.listNodes('listing'), undefined);
    } finally {
      fault.remove();
    }
  });

  it('translates a failure, naming the verb, the resource and the purpose', async () => {
    const fault = api.controls.injectFault({ verb: 'list', resource: 'services' }, { status: 403 });
    try {
      const err = await rejectsWith(
        client.listServices('', 'listing processes'),
        'runtime_forbidden',
        /may not list services in namespace 'default'/,
      );
      assert.ok(err instanceof HydroplaneError);
      assert.match(err.message, /while listing processes/);
    } finally {
      fault.remove();
    }
  });

  it('gives each call its own deadline', async () => {
    const slow = new KubeApiClient(kubeConfigFor({ kubeconfig: api.kubeconfigPath }), {
      runtime: 'eks',
      namespace: 'default',
      timeoutMs: 150,
    });
    const fault = api.controls.injectFault({ verb: 'list', resource: 'pods', times: 1 }, { hang: true });
    try {
      await rejectsWith(slow.listPods('', 'listing processes'), 'runtime_timeout', /did not answer within 0\.15 s while listing processes/);
    } finally {
      fault.remove();
    }
  });
});

describe('Kubernetes lists, page by page', () => {
  let api: KubeStandin;
  before(async () => {
    api = await startKubeStandin({ podStartDelayMs: 10 });
  });
  after(() => api.close());

  it('follows continue until the last page, asking for a page at a time', async () => {
    const client = new KubeApiClient(kubeConfigFor({ kubeconfig: api.kubeconfigPath }), {
      runtime: 'kubernetes',
      namespace: 'default',
      timeoutMs: 5000,
      pageSize: 3,
    });
    const names = Array.from({ length: 8 }, (_, i) => uniqueName(`page${i}`));
    for (const name of names)
      assert.ok('created' in (await client.createDeployment(deployment(name), { action: 'testing', processName: name })));
    const before = api.controls.requests({ verb: 'list', resource: 'deployments' }).length;
    const listed = await client.listDeployments('hydroplane/process-id', 'testing');
    assert.deepEqual(listed.map((d) => d.metadata?.name ?? '').sort(), [...names].sort());
    const calls = api.controls.requests({ verb: 'list', resource: 'deployments' }).slice(before);
    assert.equal(calls.length, 3, 'eight in three pages of at most 3');
    // The cheap check reads one page only.
    assert.equal((await client.listDeployments('hydroplane/process-id', 'testing', 1)).length, 1);
  });
});

describe('everyPage', () => {
  const gone = () => new ApiException(410, 'Gone', { kind: 'Status', code: 410, reason: 'Expired', message: 'continue token expired' }, {});

  it('returns every item of every page, in order, for any page size', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer(), { maxLength: 50 }), fc.integer({ min: 1, max: 12 }), async (all, pageSize) => {
        const asked: number[] = [];
        const call: PageCall<number> = async ({ limit, _continue }) => {
          const start = _continue === undefined ? 0 : Number(_continue);
          asked.push(limit);
          const end = start + limit;
          return { items: all.slice(start, end), metadata: end < all.length ? { _continue: String(end) } : {} };
        };
        assert.deepEqual(await everyPage(call, { pageSize }), all);
        assert.equal(asked.length, Math.max(1, Math.ceil(all.length / pageSize)));
        assert.ok(asked.every((limit) => limit === pageSize));
      }),
    );
  });

  it('restarts once from the top when a continue token has expired, and gives up the second time', async () => {
    let calls = 0;
    const expiresOnce: PageCall<string> = async ({ _continue }) => {
      calls++;
      if (_continue === undefined) return { items: ['a', 'b'], metadata: { _continue: 'next' } };
      if (calls === 2) throw gone();
      return { items: ['c'], metadata: {} };
    };
    assert.deepEqual(await everyPage(expiresOnce, { pageSize: 2 }), ['a', 'b', 'c']);
    assert.equal(calls, 4);
    const alwaysGone: PageCall<string> = async ({ _continue }) => {
      if (_continue === undefined) return { items: ['a'], metadata: { _continue: 'next' } };
      throw gone();
    };
    await assert.rejects(everyPage(alwaysGone, { pageSize: 1 }), (err: unknown) => err instanceof ApiException && err.code === 410);
  });
});
