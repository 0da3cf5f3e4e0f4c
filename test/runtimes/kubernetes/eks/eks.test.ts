// The eks runtime through the official AWS SDK clients, pointed at the AWS stand-in (which verifies
// every SigV4 signature, and checks EKS tokens as EKS does) and a Kubernetes stand-in on https
// whose certificate comes to the runtime only through DescribeCluster.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import type { FastifyBaseLogger } from 'fastify';
import { startServer } from '../../../../src/server/start-server.ts';
import { createRuntime } from '../../../../src/runtimes/index.ts';
import { EKS_TOKEN_PREFIX, EksAuth, connectEks, eksRuntimeFromConfig, eksToken, stsHost } from '../../../../src/runtimes/kubernetes/eks.ts';
import { LocalSecretStore } from '../../../../src/secrets/local-secret-store.ts';
import { EksRuntimeConfig } from '../../../../src/config/schema.ts';
import { ProcessSpec } from '../../../../src/spec/process-spec.ts';
import { startAwsStandin, type AwsStandin } from '../../../support/aws-standin.ts';
import { startKubeStandin, type KubeStandin } from '../../../support/kube-standin/index.ts';
import { MemorySecretStore } from '../../../support/memory-secret-store.ts';
import { freePort } from '../../../support/net.ts';
import { assertServesProcesses, rejectsWith } from '../../../support/assertions.ts';

const KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const ROLE = 'arn:aws:iam::123456789012:role/hydroplane-eks';
const EXTERNAL_ID = 'ext-7c1d';
const REGION = 'us-west-2';
const CLUSTER = 'demo';
const MINUTE = 60_000;
const silent = pino({ level: 'silent' }) as FastifyBaseLogger;

const secrets = () => new MemorySecretStore({ aws: JSON.stringify({ id: KEY_ID, secret: SECRET }), 'eks-external-id': EXTERNAL_ID });

function eksConfig(aws: { url: string }, extra: Record<string, unknown> = {}, assumeRole?: Record<string, unknown>): EksRuntimeConfig {
  return EksRuntimeConfig.parse({
    runtime_type: 'eks',
    cluster_name: CLUSTER,
    region: REGION,
    sts_endpoint: aws.url,
    eks_endpoint: aws.url,
    credentials: {
      access_key: { access_key_id: { secret_name: 'aws', key: 'id' }, secret_access_key: { secret_name: 'aws', key: 'secret' } },
      ...(assumeRole ? { assume_role: assumeRole } : {}),
    },
    ...extra,
  });
}

const withRole = { role_arn: ROLE, external_id: { secret_name: 'eks-external-id' } };

/** The presigned URL inside a token. */
function tokenUrl(token: string): URL {
  return new URL(Buffer.from(token.slice(EKS_TOKEN_PREFIX.length), 'base64url').toString('utf8'));
}

describe('EKS token', () => {
  let aws: AwsStandin;
  let clock = Date.UTC(2024, 0, 2, 3, 4, 5);
  before(async () => {
    aws = await startAwsStandin({ keys: { [KEY_ID]: SECRET }, region: 'eu-west-1', now: () => clock });
  });
  after(() => aws.close());

  it('is k8s-aws-v1. + base64url without padding of a presigned GetCallerIdentity URL on the regional STS', async () => {
    const token = await eksToken({
      clusterName: CLUSTER,
      region: 'eu-west-1',
      credentials: { accessKeyId: KEY_ID, secretAccessKey: SECRET },
      signingDate: new Date(clock),
    });
    assert.ok(token.startsWith('k8s-aws-v1.'), token);
    assert.match(token.slice('k8s-aws-v1.'.length), /^[A-Za-z0-9_-]+$/, 'base64url, no padding');
    const url = tokenUrl(token);
    assert.equal(url.protocol, 'https:');
    assert.equal(url.host, 'sts.eu-west-1.amazonaws.com');
    assert.equal(url.pathname, '/');
    const q = Object.fromEntries(url.searchParams);
    assert.deepEqual(Object.keys(q).sort(), [
      'Action',
      'Version',
      'X-Amz-Algorithm',
      'X-Amz-Credential',
      'X-Amz-Date',
      'X-Amz-Expires',
      'X-Amz-Signature',
      'X-Amz-SignedHeaders',
    ]);
    assert.equal(q['Action'], 'GetCallerIdentity');
    assert.equal(q['Version'], '2011-06-15');
    assert.equal(q['X-Amz-Algorithm'], 'AWS4-HMAC-SHA256');
    assert.equal(q['X-Amz-Credential'], `${KEY_ID}/20240102/eu-west-1/sts/aws4_request`);
    assert.equal(q['X-Amz-Date'], '20240102T030405Z');
    assert.equal(q['X-Amz-Expires'], '60');
    assert.equal(q['X-Amz-SignedHeaders'], 'host;x-k8s-aws-id');
    assert.match(q['X-Amz-Signature']!, /^[0-9a-f]{64}$/);
    // The credential's slashes are escaped in the URL, as aws eks get-token writes them.
    assert.ok(
      Buffer.from(token.slice(11), 'base64url')
        .toString()
        .includes(`X-Amz-Credential=${KEY_ID}%2F20240102%2Feu-west-1%2Fsts%2Faws4_request`),
    );
  });

  it('verifies as STS would for its cluster only, with the key that signed it, for 15 minutes', async () => {
    const token = await eksToken({
      clusterName: CLUSTER,
      region: 'eu-west-1',
      credentials: { accessKeyId: KEY_ID, secretAccessKey: SECRET },
      signingDate: new Date(clock),
    });
    assert.deepEqual(aws.verifyEksToken(token, CLUSTER), { ok: true, accessKeyId: KEY_ID, signedAt: new Date(clock) });
    const other = aws.verifyEksToken(token, 'another-cluster');
    assert.equal(other.ok, false);
    const wrongSecret = await eksToken({
      clusterName: CLUSTER,
      region: 'eu-west-1',
      credentials: { accessKeyId: KEY_ID, secretAccessKey: 'not-it' },
      signingDate: new Date(clock),
    });
    assert.equal(aws.verifyEksToken(wrongSecret, CLUSTER).ok, false);
    const wrongRegion = await eksToken({
      clusterName: CLUSTER,
      region: 'us-east-2',
      credentials: { accessKeyId: KEY_ID, secretAccessKey: SECRET },
      signingDate: new Date(clock),
    });
    assert.equal(aws.verifyEksToken(wrongRegion, CLUSTER).ok, false);
    clock += 14 * MINUTE;
    assert.equal(aws.verifyEksToken(token, CLUSTER).ok, true);
    clock += 2 * MINUTE;
    assert.deepEqual(aws.verifyEksToken(token, CLUSTER), { ok: false, reason: 'signed 960 s ago: expired' });
  });

  it('carries the session token of temporary credentials', async () => {
    const token = await eksToken({
      clusterName: CLUSTER,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 's', sessionToken: 'FwoGZX+/token=' },
      signingDate: new Date(clock),
    });
    assert.equal(tokenUrl(token).searchParams.get('X-Amz-Security-Token'), 'FwoGZX+/token=');
  });

  it('names the STS host of China regions', () => {
    assert.equal(stsHost('cn-north-1'), 'sts.cn-north-1.amazonaws.com.cn');
    assert.equal(stsHost('ap-southeast-2'), 'sts.ap-southeast-2.amazonaws.com');
  });
});

describe('EKS credentials and token renewal', () => {
  let aws: AwsStandin;
  let clock = Date.now();
  const now = () => clock;
  before(async () => {
    aws = await startAwsStandin({
      keys: { [KEY_ID]: SECRET },
      now,
      roles: { [ROLE]: { externalId: EXTERNAL_ID } },
      clusters: { [CLUSTER]: { endpoint: 'https://127.0.0.1:1', caData: Buffer.from('not used here').toString('base64') } },
    });
  });
  after(() => aws.close());

  it('makes a new token after 10 minutes, each valid when used', async () => {
    const auth = new EksAuth({ clusterName: CLUSTER, region: REGION, accessKey: { accessKeyId: KEY_ID, secretAccessKey: SECRET }, now });
    const first = await auth.token();
    assert.equal(aws.verifyEksToken(first, CLUSTER).ok, true);
    clock += 9 * MINUTE + 59_000;
    assert.equal(await auth.token(), first, 'reused before 10 minutes');
    assert.equal(aws.verifyEksToken(first, CLUSTER).ok, true);
    clock += 1_000;
    const second = await auth.token();
    assert.notEqual(second, first);
    assert.equal(tokenUrl(second).searchParams.get('X-Amz-Date'), new Date(clock).toISOString().replace(/[-:]|\.\d{3}/g, ''));
    assert.equal(aws.verifyEksToken(second, CLUSTER).ok, true);
    const [a, b] = await Promise.all([auth.token(), auth.token()]);
    assert.equal(a, second);
    assert.equal(b, second);
  });

  it('assumes the role with the external id, signs with the temporary credentials, and renews them before they expire', async () => {
    const before = aws.requests({ action: 'AssumeRole' }).length;
    const cluster = await connectEks(eksConfig(aws, {}, withRole), { secrets: secrets(), now });
    const assumed = aws.requests({ action: 'AssumeRole' }).slice(before);
    assert.equal(assumed.length, 1);
    assert.equal(assumed[0]!.accessKeyId, KEY_ID, 'AssumeRole is signed with the access key');
    assert.deepEqual(assumed[0]!.scope, { region: REGION, service: 'sts' });
    assert.equal(assumed[0]!.status, 200);
    assert.deepEqual(
      { ...assumed[0]!.params },
      {
        Action: 'AssumeRole',
        Version: '2011-06-15',
        RoleArn: ROLE,
        RoleSessionName: 'hydroplane',
        DurationSeconds: '900',
        ExternalId: EXTERNAL_ID,
      },
    );
    const firstKey = aws.issued.at(-1)!.accessKeyId;
    const describe = aws.requests({ action: 'DescribeCluster' }).at(-1)!;
    assert.equal(describe.accessKeyId, firstKey, 'DescribeCluster is signed with the temporary credentials');
    assert.deepEqual(describe.scope, { region: REGION, service: 'eks' });

    const first = await cluster.auth.token();
    assert.deepEqual(aws.verifyEksToken(first, CLUSTER), {
      ok: true,
      accessKeyId: firstKey,
      signedAt: new Date(Math.floor(clock / 1000) * 1000),
    });

    // 15-minute credentials: still 6 minutes left after 9, so neither they nor the token change.
    clock += 9 * MINUTE;
    assert.equal(await cluster.auth.token(), first);
    assert.equal(aws.requests({ action: 'AssumeRole' }).length, before + 1);

    // Under 5 minutes left: new credentials, and a token signed with them.
    clock += 90_000;
    const second = await cluster.auth.token();
    assert.equal(aws.requests({ action: 'AssumeRole' }).length, before + 2);
    const secondKey = aws.issued.at(-1)!.accessKeyId;
    assert.notEqual(secondKey, firstKey);
    assert.deepEqual(aws.verifyEksToken(second, CLUSTER), {
      ok: true,
      accessKeyId: secondKey,
      signedAt: new Date(Math.floor(clock / 1000) * 1000),
    });

    // Once the first credentials have expired, a token signed with them no longer works.
    clock += 6 * MINUTE;
    assert.equal(aws.verifyEksToken(first, CLUSTER).ok, false);
    cluster.auth.close();
  });

  it('keeps long-lived role credentials across token renewals, with the configured session name and duration', async () => {
    const before = aws.requests({ action: 'AssumeRole' }).length;
    const cluster = await connectEks(eksConfig(aws, {}, { ...withRole, session_name: 'hp-test', session_duration_seconds: 3600 }), {
      secrets: secrets(),
      now,
    });
    const first = await cluster.auth.token();
    assert.equal(aws.requests({ action: 'AssumeRole' }).at(-1)!.params['DurationSeconds'], '3600');
    assert.equal(aws.requests({ action: 'AssumeRole' }).at(-1)!.params['RoleSessionName'], 'hp-test');
    clock += 10 * MINUTE;
    const second = await cluster.auth.token();
    assert.notEqual(second, first);
    assert.equal(aws.requests({ action: 'AssumeRole' }).length, before + 1, 'credentials with 50 minutes left are kept');
    assert.equal(aws.verifyEksToken(second, CLUSTER).ok, true);
    cluster.auth.close();
  });
});

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

describe('eks runtime errors', () => {
  let aws: AwsStandin;
  before(async () => {
    aws = await startAwsStandin({
      keys: { [KEY_ID]: SECRET },
      roles: { [ROLE]: { externalId: EXTERNAL_ID } },
      clusters: { [CLUSTER]: { endpoint: 'https://127.0.0.1:1', caData: Buffer.from('x').toString('base64') } },
    });
  });
  after(() => aws.close());

  it('names a missing secret before calling AWS', async () => {
    const before = aws.requests().length;
    const store = new MemorySecretStore({ aws: JSON.stringify({ id: KEY_ID }) });
    await rejectsWith(
      createRuntime(eksConfig(aws, {}, withRole), { secrets: store, logger: silent }),
      'invalid_config',
      /runtime\.credentials\.access_key\.secret_access_key/,
      /key 'secret' of secret 'aws'/,
    );
    await rejectsWith(
      createRuntime(eksConfig(aws, {}, withRole), {
        secrets: new MemorySecretStore({ aws: JSON.stringify({ id: KEY_ID, secret: SECRET }) }),
        logger: silent,
      }),
      'invalid_config',
      /runtime\.credentials\.assume_role\.external_id/,
      /secret 'eks-external-id'/,
    );
    assert.equal(aws.requests().length, before, 'no request to AWS');
  });

  it('unreachable STS or EKS: runtime_unavailable naming the service and region', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    await rejectsWith(
      createRuntime(eksConfig(aws, { sts_endpoint: closed }, withRole), { secrets: secrets(), logger: silent }),
      'runtime_unavailable',
      /AWS STS in us-west-2/,
      /ECONNREFUSED/,
      /assuming the role arn:aws:iam::123456789012:role\/hydroplane-eks/,
    );
    await rejectsWith(
      createRuntime(eksConfig(aws, { eks_endpoint: closed }), { secrets: secrets(), logger: silent }),
      'runtime_unavailable',
      /AWS EKS in us-west-2/,
      /ECONNREFUSED/,
      /describing the cluster 'demo'/,
    );
  });

  it('access denied: runtime_forbidden with the AWS message', async () => {
    const wrongExternalId = new MemorySecretStore({ aws: JSON.stringify({ id: KEY_ID, secret: SECRET }), 'eks-external-id': 'guess' });
    await rejectsWith(
      createRuntime(eksConfig(aws, {}, withRole), { secrets: wrongExternalId, logger: silent }),
      'runtime_forbidden',
      /AWS STS in us-west-2/,
      /AccessDenied/,
      /is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role\/hydroplane-eks/,
    );
    aws.fail('DescribeCluster', {
      status: 403,
      code: 'AccessDeniedException',
      message: `User: arn:aws:iam::123456789012:user/hydroplane is not authorized to perform: eks:DescribeCluster on resource: arn:aws:eks:us-west-2:123456789012:cluster/demo`,
    });
    try {
      await rejectsWith(
        createRuntime(eksConfig(aws), { secrets: secrets(), logger: silent }),
        'runtime_forbidden',
        /AWS EKS in us-west-2/,
        /AccessDeniedException/,
        /eks:DescribeCluster/,
      );
    } finally {
      aws.fail('DescribeCluster', undefined);
    }
  });

  it('a wrong secret key or an unknown key id: runtime_forbidden with the AWS message', async () => {
    const wrongSecret = new MemorySecretStore({ aws: JSON.stringify({ id: KEY_ID, secret: 'wrong' }) });
    await rejectsWith(
      createRuntime(eksConfig(aws), { secrets: wrongSecret, logger: silent }),
      'runtime_forbidden',
      /InvalidSignatureException/,
      /signature we calculated does not match/,
    );
    const unknownKey = new MemorySecretStore({
      aws: JSON.stringify({ id: 'AKIAUNKNOWN', secret: SECRET }),
      'eks-external-id': EXTERNAL_ID,
    });
    await rejectsWith(
      createRuntime(eksConfig(aws, {}, withRole), { secrets: unknownKey, logger: silent }),
      'runtime_forbidden',
      /InvalidClientTokenId/,
      /security token included in the request is invalid/,
    );
  });

  it('an unknown cluster: invalid_config naming the cluster and the region', async () => {
    await rejectsWith(
      createRuntime(eksConfig(aws, { cluster_name: 'prod' }), { secrets: secrets(), logger: silent }),
      'invalid_config',
      /no EKS cluster named 'prod' in region us-west-2/,
      /No cluster found for name: prod/,
    );
  });

  it('a cluster that is still being created: runtime_unavailable saying so', async () => {
    const creating = await startAwsStandin({
      keys: { [KEY_ID]: SECRET },
      clusters: { [CLUSTER]: { endpoint: '', caData: '', status: 'CREATING' } },
    });
    try {
      await rejectsWith(
        createRuntime(eksConfig(creating), { secrets: secrets(), logger: silent }),
        'runtime_unavailable',
        /status CREATING/,
      );
    } finally {
      await creating.close();
    }
  });
});
