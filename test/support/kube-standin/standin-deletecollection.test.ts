// The stand-in's DELETE on a collection and its field selectors, as the API server answers them:
// the runtime's stop deletes a Deployment by label and name in one call, and a stand-in that
// deleted more (or answered otherwise) than a real API server would make its tests prove nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { V1Deployment } from '@kubernetes/client-node';
import { startKubeStandin, type KubeStandin } from './index.ts';
import { apiError, clientsFor, waitFor } from '../../runtimes/kubernetes/helpers.ts';

function deployment(name: string, labels: Record<string, string>): V1Deployment {
  const selector = { run: name };
  return {
    metadata: { name, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: selector },
      template: { metadata: { labels: selector }, spec: { containers: [{ name: 'main', image: 'nginx:1.27' }] } },
    },
  };
}

describe('kube stand-in: deletecollection and field selectors', () => {
  let api: KubeStandin;
  let apps: ReturnType<typeof clientsFor>['apps'];
  let core: ReturnType<typeof clientsFor>['core'];

  before(async () => {
    api = await startKubeStandin({ podStartDelayMs: 5, namespaces: ['dc'] });
    ({ apps, core } = clientsFor(api));
  });
  after(() => api.close());

  /** DELETE on the collection, raw, for the whole answer (client-node keeps only a Status's fields). */
  const deleteCollection = async (resource: string, query: Record<string, string>, namespace = 'dc') => {
    const prefix = resource === 'deployments' ? '/apis/apps/v1' : '/api/v1';
    const url = `${api.url}${prefix}/namespaces/${namespace}/${resource}?${new URLSearchParams(query).toString()}`;
    const res = await fetch(url, { method: 'DELETE', headers: { authorization: `Bearer ${api.token}` } });
    return { code: res.status, body: (await res.json()) as any };
  };
  const names = (resource: string) =>
    api.controls
      .objects(resource, 'dc')
      .map((o) => o.metadata.name)
      .sort();

  it('deletes only what matches both the label and the field selector, and answers the list of what it deleted', async () => {
    await apps.createNamespacedDeployment({ namespace: 'dc', body: deployment('web', { 'hydroplane/process-id': 'web' }) });
    await apps.createNamespacedDeployment({ namespace: 'dc', body: deployment('api', { 'hydroplane/process-id': 'api' }) });
    // Same label value, another name; and the name, without the label.
    await apps.createNamespacedDeployment({ namespace: 'dc', body: deployment('web-copy', { 'hydroplane/process-id': 'web' }) });
    await apps.createNamespacedDeployment({ namespace: 'default', body: deployment('web', { app: 'web' }) });
    await waitFor(() => api.controls.objects('pods', 'dc').length === 3, 'three pods');

    const { code, body } = await deleteCollection('deployments', {
      labelSelector: 'hydroplane/process-id=web',
      fieldSelector: 'metadata.name=web',
      propagationPolicy: 'Background',
    });
    assert.equal(code, 200);
    assert.equal(body.kind, 'DeploymentList');
    assert.equal(body.apiVersion, 'apps/v1');
    assert.deepEqual(
      body.items.map((d: any) => [d.metadata.name, d.metadata.labels]),
      [['web', { 'hydroplane/process-id': 'web' }]],
    );
    assert.deepEqual(names('deployments'), ['api', 'web-copy']);
    assert.ok(api.controls.objects('deployments', 'default').some((d) => d.metadata.name === 'web'));
    // Background propagation: the pods of the deleted one go, the others stay.
    await waitFor(() => api.controls.objects('pods', 'dc').every((p) => p.metadata.labels?.run !== 'web'), 'its pod gone');
    assert.equal(api.controls.objects('pods', 'dc').length, 2);

    // Nothing of that name carries the label: an empty list, nothing deleted.
    const none = await deleteCollection('deployments', {
      labelSelector: 'hydroplane/process-id=other',
      fieldSelector: 'metadata.name=api',
    });
    assert.equal(none.code, 200);
    assert.deepEqual(none.body.items, []);
    assert.deepEqual(names('deployments'), ['api', 'web-copy']);
    assert.equal(api.controls.count({ verb: 'deletecollection', resource: 'deployments' }) >= 2, true);
    await apps.deleteCollectionNamespacedDeployment({ namespace: 'dc' });
    await apps.deleteNamespacedDeployment({ namespace: 'default', name: 'web' });
  });

  it("refuses a field selector the resource does not support with the API's 400, deleting nothing", async () => {
    await apps.createNamespacedDeployment({ namespace: 'dc', body: deployment('kept', { app: 'kept' }) });
    const bad = await apiError(apps.deleteCollectionNamespacedDeployment({ namespace: 'dc', fieldSelector: 'spec.replicas=1' }));
    assert.equal(bad.code, 400);
    assert.equal(bad.status.reason, 'BadRequest');
    assert.equal(bad.status.message, '"spec.replicas" is not a known field selector: only "metadata.name", "metadata.namespace"');
    const garbled = await apiError(apps.deleteCollectionNamespacedDeployment({ namespace: 'dc', fieldSelector: 'metadata.name' }));
    assert.equal(garbled.code, 400);
    assert.match(garbled.status.message, /^invalid selector: 'metadata\.name'/);
    assert.deepEqual(names('deployments'), ['kept']);
    await apps.deleteNamespacedDeployment({ namespace: 'dc', name: 'kept' });
  });

  it('refuses an unknown propagation policy as an Invalid DeleteOptions before deleting anything', async () => {
    await apps.createNamespacedDeployment({ namespace: 'dc', body: deployment('stays', { app: 'stays' }) });
    const { code, body } = await deleteCollection('deployments', { propagationPolicy: 'Sometimes' });
    assert.equal(code, 422);
    assert.equal(body.reason, 'Invalid');
    assert.equal(
      body.message,
      'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "Sometimes": supported values: "Foreground", "Background", "Orphan"',
    );
    assert.deepEqual(names('deployments'), ['stays']);
    await apps.deleteNamespacedDeployment({ namespace: 'dc', name: 'stays' });
  });

  it('deletes by label and name exactly what a list of the same selectors answers (generated objects and selectors)', async () => {
    const ids = ['a', 'b', 'c', 'd'];
    const object = fc.record({
      name: fc.constantFrom(...ids),
      label: fc.option(fc.constantFrom(...ids), { nil: undefined }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(object, { selector: (o) => o.name, maxLength: ids.length }),
        fc.constantFrom(...ids),
        fc.constantFrom(...ids),
        fc.boolean(),
        async (objects, labelValue, name, negate) => {
          for (const o of objects) {
            const labels: Record<string, string> = o.label === undefined ? {} : { 'hydroplane/process-id': o.label };
            await core.createNamespacedSecret({ namespace: 'dc', body: { metadata: { name: o.name, labels }, stringData: { k: 'v' } } });
          }
          const query = {
            labelSelector: `hydroplane/process-id=${labelValue}`,
            fieldSelector: `metadata.name${negate ? '!=' : '='}${name}`,
          };
          const listed = (await core.listNamespacedSecret({ namespace: 'dc', ...query })).items.map((s) => s.metadata!.name!);
          const expected = objects
            .filter((o) => o.label === labelValue && (o.name === name) !== negate)
            .map((o) => o.name)
            .sort();
          assert.deepEqual(listed, expected);
          const { code, body } = await deleteCollection('secrets', query);
          assert.equal(code, 200);
          assert.deepEqual(
            body.items.map((s: any) => s.metadata.name),
            expected,
          );
          const left = names('secrets');
          assert.deepEqual(
            left,
            objects
              .map((o) => o.name)
              .filter((n) => !expected.includes(n))
              .sort(),
          );
          await deleteCollection('secrets', {});
        },
      ),
      { numRuns: 40 },
    );
  });

  it('answers a selector that requires one name (read as that one key) as a scan of the namespace would', async () => {
    await core.createNamespacedSecret({ namespace: 'dc', body: { metadata: { name: 'one', labels: { k: 'v' } }, stringData: { a: 'b' } } });
    await core.createNamespacedSecret({ namespace: 'dc', body: { metadata: { name: 'two', labels: { k: 'v' } }, stringData: { a: 'b' } } });
    const pick = async (fieldSelector: string, labelSelector = 'k=v') =>
      (await core.listNamespacedSecret({ namespace: 'dc', fieldSelector, labelSelector })).items.map((s) => s.metadata!.name);
    assert.deepEqual(await pick('metadata.name=one'), ['one']);
    assert.deepEqual(await pick('metadata.name=one', 'k=w'), []);
    assert.deepEqual(await pick('metadata.name=one,metadata.name=two'), []);
    assert.deepEqual(await pick('metadata.name=nobody'), []);
    assert.deepEqual(await pick('metadata.name!=one'), ['two']);
    await deleteCollection('secrets', {});
  });
});
