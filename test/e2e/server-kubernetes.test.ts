// The `hydroplane` command with runtime_type kubernetes, against the Kubernetes API stand-in:
// config -> kubeconfig -> runtime -> the same REST API.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { type RunningServer, startServer } from '../../src/server/start-server.ts';
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

describe('a server on the kubernetes runtime: PUT and lifetimes (issue 16)', () => {
  let standin: Awaited<ReturnType<typeof startKubeStandin>>;
  let server: RunningServer;

  before(async () => {
    standin = await startKubeStandin({ podStartDelayMs: 10 });
    const config = await writeConfig(
      `runtime:\n  runtime_type: kubernetes\n  kubeconfig: ${standin.kubeconfigPath}\n  namespace: default\n`,
    );
    server = await startServer({
      configPath: config,
      host: '127.0.0.1',
      port: 0,
      logger: pino({ level: 'silent' }),
      env: {},
      password: () => Promise.reject(new Error('no secret store here')),
      expirySweepIntervalMs: 100,
    });
  });
  after(async () => {
    await server?.close();
    await standin?.close();
  });

  const put = async (name: string, body: unknown) => {
    const res = await fetch(`${server.url}/process/${name}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const deployment = (name: string) => standin.controls.objects('deployments', 'default').find((o) => o.metadata.name === name);

  it('applies a spec: 201 created, 200 unchanged, 200 replaced, the digest an annotation of the Deployment', async () => {
    const spec = { process_name: 'api', container: { image_uri: 'nginxdemos/hello', ports: [{ container_port: 80 }] } };
    const created = await put('api', spec);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body['outcome'], 'created');
    assert.equal(deployment('api')?.metadata.annotations?.['hydroplane/spec-digest'], created.body['spec_digest']);
    const uid = deployment('api')?.metadata.uid;
    const unchanged = await put('api', spec);
    assert.equal(unchanged.status, 200);
    assert.equal(unchanged.body['outcome'], 'unchanged');
    assert.equal(deployment('api')?.metadata.uid, uid);
    const replaced = await put('api', { ...spec, has_public_ip: true });
    assert.equal(replaced.body['outcome'], 'replaced');
    assert.notEqual(deployment('api')?.metadata.uid, uid);
  });

  it("stops a process past its max_age_minutes by the server's own sweep", async () => {
    const answer = await put('brief', { process_name: 'brief', max_age_minutes: 0.005, container: { image_uri: 'nginxdemos/hello' } });
    assert.equal(answer.status, 201);
    assert.equal(deployment('brief')?.metadata.annotations?.['hydroplane/expires-at'], answer.body['expires']);
    for (let i = 0; i < 100 && deployment('brief') !== undefined; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(deployment('brief'), undefined, 'the expired process is gone');
    assert.ok(Date.now() >= Date.parse(String(answer.body['expires'])));
    assert.ok(deployment('api'), 'a process without an expiry stays');
  });
});
