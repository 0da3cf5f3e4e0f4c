// Opt-in: the kubernetes runtime against a real cluster (kind, k3s, minikube, or a cloud one),
// with the shared runtime and event contracts and a process that really runs. Set HYDROPLANE_TEST_KUBECONFIG
// to enable it; HYDROPLANE_TEST_CONTEXT, HYDROPLANE_TEST_NAMESPACE (default "default") and
// HYDROPLANE_TEST_IMAGE (default nginxdemos/hello) are optional. Every name starts with a prefix
// unique to the run, and whatever carries it is stopped afterwards, even when a test fails.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { kubernetesRuntimeFromConfig } from '../../../src/runtimes/kubernetes/cluster.ts';
import type { KubernetesRuntime } from '../../../src/runtimes/kubernetes/kubernetes-runtime.ts';
import { KubernetesRuntimeConfig } from '../../../src/config/schema.ts';
import type { ProcessInfo } from '../../../src/spec/process-info.ts';
import { ProcessSpec } from '../../../src/spec/process-spec.ts';
import { MemorySecretStore } from '../../support/memory-secret-store.ts';
import { runtimeContract } from '../../support/runtime-contract.ts';

const kubeconfig = process.env['HYDROPLANE_TEST_KUBECONFIG'];
const context = process.env['HYDROPLANE_TEST_CONTEXT'];
const namespace = process.env['HYDROPLANE_TEST_NAMESPACE'] ?? 'default';
const image = process.env['HYDROPLANE_TEST_IMAGE'] ?? 'nginxdemos/hello';
const skip = kubeconfig
  ? false
  : 'a real cluster is opt-in: set HYDROPLANE_TEST_KUBECONFIG=/path/to/kubeconfig (and optionally HYDROPLANE_TEST_CONTEXT, ' +
    'HYDROPLANE_TEST_NAMESPACE, HYDROPLANE_TEST_IMAGE) to run these tests against it';
const STARTUP_MS = 180_000;

function makeRuntime(): KubernetesRuntime {
  const config = KubernetesRuntimeConfig.parse({ runtime_type: 'kubernetes', kubeconfig, ...(context ? { context } : {}), namespace });
  return kubernetesRuntimeFromConfig(config, { secrets: new MemorySecretStore() });
}

/** Stops every process whose name starts with the prefix; reports what it could not stop. */
async function sweep(runtime: KubernetesRuntime, prefix: string): Promise<void> {
  const leftovers = (await runtime.list()).filter((p) => p.process_name.startsWith(prefix));
  const results = await Promise.allSettled(leftovers.map((p) => runtime.stop(p.process_name)));
  const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`${leftovers[i]!.process_name}: ${String(r.reason)}`] : []));
  if (failed.length > 0) throw new Error(`could not remove: ${failed.join('; ')}`);
}

const contractPrefix = `hp-rc-${randomBytes(3).toString('hex')}-`;
runtimeContract(
  `kubernetes (real cluster${context ? `, context ${context}` : ''}, namespace ${namespace})`,
  async () => {
    const runtime = makeRuntime();
    return { runtime, cleanup: () => sweep(runtime, contractPrefix), imageUri: image };
  },
  { skip, prefix: contractPrefix },
);

// Skipped at the test, not the suite, so that the run's summary counts it as skipped.
describe('real cluster: a process runs', () => {
  const prefix = `hp-rs-${randomBytes(3).toString('hex')}-`;
  const name = `${prefix}web`;
  let runtime: KubernetesRuntime;

  before(() => {
    if (!skip) runtime = makeRuntime();
  });
  after(async () => {
    if (runtime) await sweep(runtime, prefix);
  });

  it('starts a process, reports it RUNNING with its cluster address, and stops it', { skip, timeout: STARTUP_MS + 60_000 }, async () => {
    const spec = ProcessSpec.parse({
      process_name: name,
      group: `${prefix}g`,
      container: { image_uri: image, ports: [{ container_port: 80 }] },
    });
    const started = await runtime.start(spec);
    assert.equal(started.process_name, name);
    assert.equal(started.status, 'STARTING');

    let info: ProcessInfo | undefined;
    const deadline = Date.now() + STARTUP_MS;
    while (Date.now() < deadline) {
      info = await runtime.get(name);
      if (info?.status === 'RUNNING') break;
      assert.notEqual(info?.status, 'FAILED', `the process failed: ${JSON.stringify(info)}`);
      await new Promise((r) => setTimeout(r, 2000));
    }
    assert.equal(info?.status, 'RUNNING', `not RUNNING within ${STARTUP_MS / 1000} s: ${JSON.stringify(info)}`);
    assert.equal(info.socket_addresses.length, 1);
    assert.equal(info.socket_addresses[0]!.port, 80);
    assert.equal(info.socket_addresses[0]!.is_public, false);

    const listed = await runtime.list({ group: `${prefix}g` });
    assert.deepEqual(
      listed.map((p) => p.process_name),
      [name],
    );

    await runtime.stop(name);
    assert.equal(await runtime.get(name), undefined);
  });
});
