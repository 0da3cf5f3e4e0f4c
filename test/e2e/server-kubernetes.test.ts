// The `hydroplane` command with runtime_type kubernetes, against the Kubernetes API stand-in:
// config -> kubeconfig -> runtime -> the same REST API.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startKubeStandin } from '../support/kube-standin/index.ts';
import { startServerProcess, writeConfig, type ServerProcess } from '../support/server-process.ts';

describe('hydroplane server on the kubernetes runtime', () => {
  let standin: Awaited<ReturnType<typeof startKubeStandin>>;
  let server: ServerProcess;

  before(async () => {
    standin = await startKubeStandin({});
    const config = await writeConfig(
      `runtime:\n  runtime_type: kubernetes\n  kubeconfig: ${standin.kubeconfigPath}\n  namespace: default\n`,
    );
    server = await startServerProcess(['-c', config]);
  });
  after(async () => {
    if (server) assert.equal(await server.stop(), 0, server.output());
    await standin?.close();
  });

  it('starts a process as a Deployment and Service, lists it RUNNING with its cluster address, stops it', async () => {
    const spec = {
      process_name: 'web',
      group: 'g',
      container: { image_uri: 'nginxdemos/hello', ports: [{ container_port: 80, host_port: 8080 }] },
    };
    const created = await fetch(`${server.url}/process`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(spec),
    });
    assert.equal(created.status, 201, await created.clone().text());
    assert.equal(standin.controls.objects('deployments', 'default').filter((o) => o.metadata.name === 'web').length, 1);

    let info: { status: string; socket_addresses: Array<{ host: string; port: number; is_public: boolean }> } | undefined;
    for (let i = 0; i < 100 && info?.status !== 'RUNNING'; i++) {
      [info] = (await (await fetch(`${server.url}/group/g`)).json()) as (typeof info)[];
      if (info?.status !== 'RUNNING') await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(info?.status, 'RUNNING');
    assert.equal(info?.socket_addresses[0]?.port, 8080);
    assert.equal(info?.socket_addresses[0]?.is_public, false);
    assert.match(info?.socket_addresses[0]?.host ?? '', /^10\./);

    assert.equal((await fetch(`${server.url}/process/web`, { method: 'DELETE' })).status, 200);
    assert.equal((await fetch(`${server.url}/process/web`, { method: 'DELETE' })).status, 404);
    const named = (resource: string) => standin.controls.objects(resource, 'default').filter((o) => o.metadata.name === 'web');
    assert.deepEqual(named('deployments'), []);
    assert.deepEqual(named('services'), []);
  });
});
