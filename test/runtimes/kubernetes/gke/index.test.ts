// The gke runtime through google-auth-library (Application Default Credentials from a metadata
// server: GCE_METADATA_HOST points at the GCP stand-in) and @google-cloud/container's REST
// transport (gke_endpoint), with a Kubernetes stand-in on https whose certificate reaches the
// runtime only through the GKE API, and which accepts only tokens that the GCP stand-in issued.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyBaseLogger } from 'fastify';
import { pino } from 'pino';
import { startServer } from '../../../../src/server/start-server.ts';
import { createRuntime } from '../../../../src/runtimes/index.ts';
import { connectGke } from '../../../../src/runtimes/kubernetes/gke/connect.ts';
import { GkeRuntimeConfig } from '../../../../src/config/schema.ts';
import { ProcessSpec } from '../../../../src/spec/process-spec.ts';
import { startGcpStandin, type GcpStandin } from '../../../support/gcp-standin.ts';
import { startKubeStandin, type KubeStandin } from '../../../support/kube-standin/index.ts';
import { MemorySecretStore } from '../../../support/memory-secret-store.ts';
import { freePort } from '../../../support/net.ts';
import { assertServesProcesses, rejectsWith } from '../../../support/assertions.ts';

const PROJECT = 'demo-project';
const REGION = 'us-central1';
const CLUSTER = 'c1';
const silent = pino({ level: 'silent' }) as FastifyBaseLogger;
const deps = () => ({ secrets: new MemorySecretStore({}), logger: silent });

describe('gke runtime', () => {
  let kube: KubeStandin;
  let gcp: GcpStandin;
  let gcloudDir: string;
  const tokens: string[] = [];
  const env = { ...process.env };
  const config = (extra: Record<string, unknown> = {}) =>
    GkeRuntimeConfig.parse({ runtime_type: 'gke', cluster_id: CLUSTER, project: PROJECT, region: REGION, gke_endpoint: gcp.url, ...extra });

  before(async () => {
    kube = await startKubeStandin({
      https: true,
      podStartDelayMs: 10,
      authenticate: (token) => {
        tokens.push(token);
        return gcp.isValidToken(token);
      },
    });
    gcp = await startGcpStandin({
      project: PROJECT,
      clusters: {
        [`projects/${PROJECT}/locations/${REGION}/clusters/${CLUSTER}`]: {
          endpoint: new URL(kube.url).host,
          caData: Buffer.from(kube.ca!).toString('base64'),
        },
      },
    });
    // ADC from the stand-in's metadata server only: no key file, no gcloud user credentials.
    gcloudDir = await mkdtemp(join(tmpdir(), 'hp-gcloud-'));
    delete process.env['GOOGLE_APPLICATION_CREDENTIALS'];
    process.env['CLOUDSDK_CONFIG'] = gcloudDir;
    process.env['GCE_METADATA_HOST'] = gcp.metadataHost;
    // The project from the environment, as ADC allows, except where a test says otherwise:
    // without it the library also asks the gcloud CLI, which takes seconds where it is installed.
    process.env['GOOGLE_CLOUD_PROJECT'] = PROJECT;
  });
  after(async () => {
    process.env = env;
    await kube?.close();
    await gcp?.close();
    await rm(gcloudDir, { recursive: true, force: true });
  });

  it('starts, lists and stops a process through createRuntime, each request carrying an access token that Google issued', async () => {
    const runtime = await createRuntime(config(), deps());
    assert.equal(runtime.type, 'gke');
    const get = gcp.requests({ kind: 'getCluster' }).at(-1)!;
    assert.equal(get.path, `/v1/projects/${PROJECT}/locations/${REGION}/clusters/${CLUSTER}`);
    assert.ok(get.bearer !== undefined && gcp.issued.some((t) => t.token === get.bearer), 'the GKE API call carries an issued token');

    tokens.length = 0;
    const spec = ProcessSpec.parse({
      process_name: 'web',
      group: 'g',
      container: { image_uri: 'nginxdemos/hello', ports: [{ container_port: 80 }] },
    });
    await runtime.start(spec);
    let listed;
    for (let i = 0; i < 100 && listed?.status !== 'RUNNING'; i++) {
      [listed] = await runtime.list({ group: 'g' });
      if (listed?.status !== 'RUNNING') await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(listed?.status, 'RUNNING');
    await runtime.stop('web');
    assert.deepEqual(await runtime.list(), []);
    assert.ok(tokens.length >= 4);
    assert.ok(tokens.every((t) => gcp.isValidToken(t)));
    await runtime.close();
  });

  it('reuses the access token while it is fresh, and gets a new one before it expires', async (t) => {
    const runtime = await createRuntime(config(), deps());
    const fetched = () => gcp.requests({ kind: 'token' }).length;
    const atStart = fetched();
    tokens.length = 0;
    await runtime.list();
    await runtime.list();
    assert.equal(fetched(), atStart, 'no new token for a token with an hour left');
    assert.equal(new Set(tokens).size, 1);
    const first = tokens[0]!;

    // 56 minutes later the hour-long token is within google-auth-library's 5-minute margin.
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    try {
      t.mock.timers.tick(56 * 60_000);
      tokens.length = 0;
      await runtime.list();
      assert.equal(fetched(), atStart + 1, 'the token endpoint is asked again');
      assert.equal(tokens.length, 3);
      assert.ok(
        tokens.every((tok) => tok !== first && tok === gcp.issued.at(-1)!.token),
        'every request carries the new token',
      );
    } finally {
      t.mock.timers.reset();
    }
  });

  it("fails a request whose token cannot be renewed, naming Google's token service", async (t) => {
    const runtime = await createRuntime(config(), deps());
    gcp.fail('token', { status: 503, message: 'metadata server overloaded', grpcStatus: 'UNAVAILABLE' });
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    try {
      t.mock.timers.tick(58 * 60_000);
      await rejectsWith(
        runtime.list(),
        'runtime_unavailable',
        /Google's OAuth2 token service/,
        /getting an access token/,
        /project demo-project/,
      );
    } finally {
      t.mock.timers.reset();
      gcp.fail('token', undefined);
    }
  });

  it('takes the project of the credentials from the metadata server when the environment names none', async () => {
    delete process.env['GOOGLE_CLOUD_PROJECT'];
    try {
      const cluster = await connectGke(config());
      assert.equal(cluster.endpoint, kube.url);
      assert.ok(gcp.requests({ kind: 'metadata' }).some((r) => r.path === '/computeMetadata/v1/project/project-id'));
    } finally {
      process.env['GOOGLE_CLOUD_PROJECT'] = PROJECT;
    }
  });

  it('refuses credentials of another project, naming both, before asking for the cluster', async () => {
    const calls = gcp.requests({ kind: 'getCluster' }).length;
    process.env['GOOGLE_CLOUD_PROJECT'] = 'other-project';
    try {
      await rejectsWith(
        createRuntime(config(), deps()),
        'invalid_config',
        /for project 'other-project'/,
        /configured for project 'demo-project'/,
      );
    } finally {
      process.env['GOOGLE_CLOUD_PROJECT'] = PROJECT;
    }
    assert.equal(gcp.requests({ kind: 'getCluster' }).length, calls);
  });

  it('says how to provide credentials when there are none', async () => {
    process.env['GOOGLE_APPLICATION_CREDENTIALS'] = join(gcloudDir, 'no-such-key.json');
    try {
      await rejectsWith(
        createRuntime(config(), deps()),
        'invalid_config',
        /no usable Google Application Default Credentials/,
        /GOOGLE_APPLICATION_CREDENTIALS/,
        /gcloud auth application-default login/,
      );
    } finally {
      delete process.env['GOOGLE_APPLICATION_CREDENTIALS'];
    }
  });

  it('trusts only the CA that the GKE API gives', async () => {
    const other = await startKubeStandin({ https: true });
    try {
      gcp.setCluster(`projects/${PROJECT}/locations/${REGION}/clusters/wrong-ca`, {
        endpoint: new URL(kube.url).host,
        caData: Buffer.from(other.ca!).toString('base64'),
      });
      const runtime = await createRuntime(config({ cluster_id: 'wrong-ca' }), deps());
      await rejectsWith(runtime.list(), 'runtime_unavailable', /certificate/i);
    } finally {
      await other.close();
    }
  });

  it('an unreachable GKE API: runtime_unavailable naming it, the project and the location', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    await rejectsWith(
      createRuntime(config({ gke_endpoint: closed }), deps()),
      'runtime_unavailable',
      new RegExp(`the GKE API \\(${closed}\\)`),
      /project demo-project, location us-central1/,
      /ECONNREFUSED/,
    );
  });

  it("access denied: runtime_forbidden with Google's message", async () => {
    const message = `Required "container.clusters.get" permission(s) for "projects/${PROJECT}/locations/${REGION}/clusters/${CLUSTER}".`;
    gcp.fail('getCluster', { status: 403, message, grpcStatus: 'PERMISSION_DENIED' });
    try {
      await rejectsWith(createRuntime(config(), deps()), 'runtime_forbidden', /the GKE API/, /container\.clusters\.get/);
    } finally {
      gcp.fail('getCluster', undefined);
    }
  });

  it('an unknown cluster: invalid_config naming the cluster, the project and the location', async () => {
    await rejectsWith(
      createRuntime(config({ cluster_id: 'nope' }), deps()),
      'invalid_config',
      /no GKE cluster 'nope' in project demo-project, location us-central1/,
      /Not found: projects\/demo-project\/locations\/us-central1\/clusters\/nope/,
    );
  });

  it('a server whose cluster cannot be read refuses to start, saying why; with the right one it serves', async () => {
    const configPath = join(gcloudDir, 'config.yml');
    const yaml = (cluster: string) =>
      `runtime:\n  runtime_type: gke\n  cluster_id: ${cluster}\n  project: ${PROJECT}\n  region: ${REGION}\n  gke_endpoint: ${gcp.url}\n`;
    const options = { configPath, host: '127.0.0.1', port: 0, logger: silent, password: async () => '', env: {} };
    await writeFile(configPath, yaml('missing'));
    await rejectsWith(startServer(options), 'invalid_config', /no GKE cluster 'missing' in project demo-project, location us-central1/);

    await writeFile(configPath, yaml(CLUSTER));
    const server = await startServer(options);
    try {
      await assertServesProcesses(server.url);
    } finally {
      await server.close();
    }
  });
});
