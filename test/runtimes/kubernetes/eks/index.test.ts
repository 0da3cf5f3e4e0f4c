// The eks runtime end to end (eks/index.ts) through the official AWS SDK clients, pointed at the
// AWS stand-in (which verifies every SigV4 signature, and checks EKS tokens as EKS does) and a
// Kubernetes stand-in on https whose certificate comes to the runtime only through DescribeCluster.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startServer } from '../../../../src/server/start-server.ts';
import { createRuntime } from '../../../../src/runtimes/index.ts';
import { eksRuntimeFromConfig } from '../../../../src/runtimes/kubernetes/eks/index.ts';
import type { KubernetesRuntime } from '../../../../src/runtimes/kubernetes/kubernetes-runtime.ts';
import { LocalSecretStore } from '../../../../src/secrets/local-secret-store.ts';
import { ProcessSpec } from '../../../../src/spec/process-spec.ts';
import { startAwsStandin, type AwsStandin } from '../../../support/aws-standin.ts';
import { startKubeStandin, type KubeStandin } from '../../../support/kube-standin/index.ts';
import { assertServesProcesses, rejectsWith } from '../../../support/assertions.ts';
import { CLUSTER, EXTERNAL_ID, KEY_ID, MINUTE, REGION, ROLE, SECRET, eksConfig, secrets, silent, tokenUrl, withRole } from './fixtures.ts';

describe('eks runtime end to end', () => {
  let kube: KubeStandin;
  let aws: AwsStandin;
  const tokens: string[] = [];
  const rejected: string[] = [];
  // The stand-in's clock, and the runtime's where a test injects one: moved forward by `skew`.
  let skew = 0;
  const now = () => Date.now() + skew;

  before(async () => {
    kube = await startKubeStandin({
      https: true,
      podStartDelayMs: 10,
      authenticate: (token) => {
        tokens.push(token);
        const verdict = aws.verifyEksToken(token, CLUSTER);
        if (!verdict.ok) rejected.push(verdict.reason);
        return verdict.ok;
      },
    });
    aws = await startAwsStandin({
      keys: { [KEY_ID]: SECRET },
      roles: { [ROLE]: { externalId: EXTERNAL_ID } },
      clusters: { [CLUSTER]: { endpoint: kube.url, caData: Buffer.from(kube.ca!).toString('base64') } },
      now,
    });
  });
  after(async () => {
    await kube?.close();
    await aws?.close();
  });

  it('starts, lists and stops a process through createRuntime, each request carrying a valid EKS token', async () => {
    const runtime = await createRuntime(eksConfig(aws), { secrets: secrets(), logger: silent });
    assert.equal(runtime.type, 'eks');
    tokens.length = 0;
    const spec = ProcessSpec.parse({
      process_name: 'web',
      group: 'g',
      container: { image_uri: 'nginxdemos/hello', ports: [{ container_port: 80 }] },
    });
    const started = await runtime.start(spec);
    assert.equal(started.process_name, 'web');
    let listed;
    for (let i = 0; i < 100 && listed?.status !== 'RUNNING'; i++) {
      [listed] = await runtime.list({ group: 'g' });
      if (listed?.status !== 'RUNNING') await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(listed?.status, 'RUNNING');
    assert.equal(kube.controls.objects('deployments', 'default').filter((d) => d.metadata.name === 'web').length, 1);
    // The pod log goes through the KubeConfig's own HTTPS options: the token reaches it too.
    const pod = kube.controls.objects('pods', 'default').find((p) => p.metadata.labels?.['hydroplane/process-id'] === 'web')!;
    kube.controls.setPodLog(pod.metadata.name, 'hello from web\n');
    let log = '';
    for await (const chunk of await runtime.logs('web')) log += chunk;
    assert.equal(log, 'hello from web\n');
    await runtime.stop('web');
    assert.deepEqual(await runtime.list(), []);
    assert.ok(tokens.length >= 4, `${tokens.length} requests`);
    assert.deepEqual(rejected, []);
    assert.ok(tokens.every((t) => tokenUrl(t).searchParams.get('X-Amz-Credential')!.startsWith(`${KEY_ID}/`)));
    await runtime.close();
  });

  it("follows events over watches that carry the EKS token and trust only DescribeCluster's CA", async () => {
    const runtime = (await createRuntime(eksConfig(aws), { secrets: secrets(), logger: silent })) as KubernetesRuntime;
    tokens.length = 0;
    const controller = new AbortController();
    const feed = await runtime.events({ filter: { processName: 'watched' }, signal: controller.signal });
    assert.equal(kube.controls.watchers(), 2);
    await runtime.start(ProcessSpec.parse({ process_name: 'watched', container: { image_uri: 'nginxdemos/hello' } }));
    const types: string[] = [];
    for await (const e of feed) {
      types.push(e.type);
      if (e.type === 'running') break;
    }
    assert.deepEqual(types, ['created', 'running']);
    assert.equal(kube.controls.count({ verb: 'watch' }) >= 2, true);
    assert.deepEqual(rejected, []);
    assert.ok(tokens.length >= 4, `${tokens.length} requests, watches among them`);
    await runtime.stop('watched');
    await runtime.close();
  });

  it('with assume_role, talks to the cluster as the role', async () => {
    const runtime = await createRuntime(eksConfig(aws, { namespace: 'default' }, withRole), { secrets: secrets(), logger: silent });
    tokens.length = 0;
    assert.deepEqual(await runtime.list(), []);
    assert.equal(tokens.length > 0, true);
    const key = tokenUrl(tokens[0]!).searchParams.get('X-Amz-Credential')!.split('/')[0];
    assert.equal(key, aws.issued.at(-1)!.accessKeyId);
    assert.ok(tokenUrl(tokens[0]!).searchParams.get('X-Amz-Security-Token'));
    assert.deepEqual(rejected, []);
  });

  it('trusts only the CA that DescribeCluster gives', async () => {
    const other = await startKubeStandin({ https: true });
    try {
      const wrongCa = await startAwsStandin({
        keys: { [KEY_ID]: SECRET },
        clusters: { [CLUSTER]: { endpoint: kube.url, caData: Buffer.from(other.ca!).toString('base64') } },
      });
      try {
        const runtime = await createRuntime(eksConfig(wrongCa), { secrets: secrets(), logger: silent });
        await rejectsWith(runtime.list(), 'runtime_unavailable', /certificate/i);
      } finally {
        await wrongCa.close();
      }
    } finally {
      await other.close();
    }
  });

  it("keeps the current role credentials while STS fails, and fails requests with AWS's message once they run out", async () => {
    const runtime = await eksRuntimeFromConfig(eksConfig(aws, {}, withRole), { secrets: secrets(), now });
    assert.deepEqual(await runtime.list(), []);
    const assumed = aws.requests({ action: 'AssumeRole' }).length;
    aws.fail('AssumeRole', {
      status: 403,
      code: 'AccessDenied',
      message: `User: arn:aws:iam::123456789012:user/hydroplane is not authorized to perform: sts:AssumeRole on resource: ${ROLE}`,
    });
    try {
      // 4 minutes left: renewal is due and fails, but the credentials still sign a token that works.
      skew += 11 * MINUTE;
      assert.deepEqual(await runtime.list(), []);
      assert.ok(aws.requests({ action: 'AssumeRole' }).length > assumed, 'renewal was tried');
      assert.deepEqual(rejected, []);
      // Under a minute left: nothing usable remains.
      skew += 3 * MINUTE + 30_000;
      await rejectsWith(runtime.list(), 'runtime_forbidden', /AWS STS in us-west-2/, /not authorized to perform: sts:AssumeRole/);
    } finally {
      aws.fail('AssumeRole', undefined);
    }
    assert.deepEqual(await runtime.list(), [], 'works again once STS does');
    assert.deepEqual(rejected, []);
    skew = 0;
  });

  it('a server whose cluster cannot be described refuses to start, saying why', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hp-eks-'));
    try {
      const store = await LocalSecretStore.init(join(dir, 'store'), 'pw');
      await store.add('aws', JSON.stringify({ id: KEY_ID, secret: SECRET }));
      const configPath = join(dir, 'config.yml');
      const yaml = (cluster: string) =>
        `secret_store: {secret_store_type: local, store_location: ${join(dir, 'store')}}\n` +
        `runtime:\n  runtime_type: eks\n  cluster_name: ${cluster}\n  region: ${REGION}\n  sts_endpoint: ${aws.url}\n  eks_endpoint: ${aws.url}\n` +
        '  credentials:\n    access_key:\n      access_key_id: {secret_name: aws, key: id}\n      secret_access_key: {secret_name: aws, key: secret}\n';
      await writeFile(configPath, yaml('no-such-cluster'));
      const options = { configPath, host: '127.0.0.1', port: 0, logger: silent, password: async () => 'pw', env: {} };
      await rejectsWith(
        startServer(options),
        'invalid_config',
        /no EKS cluster named 'no-such-cluster' in region us-west-2/,
        /No cluster found for name: no-such-cluster/,
      );

      await writeFile(configPath, yaml(CLUSTER));
      const server = await startServer(options);
      try {
        await assertServesProcesses(server.url);
      } finally {
        await server.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
