// The credentials of the eks runtime (eks/credentials.ts): the EKS token and the role's temporary
// credentials, each renewed before it expires, against the AWS stand-in with an injected clock.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EksAuth } from '../../../../src/runtimes/kubernetes/eks/credentials.ts';
import { connectEks } from '../../../../src/runtimes/kubernetes/eks/connect.ts';
import { startAwsStandin, type AwsStandin } from '../../../support/aws-standin.ts';
import { CLUSTER, EXTERNAL_ID, KEY_ID, MINUTE, REGION, ROLE, SECRET, eksConfig, secrets, tokenUrl, withRole } from './fixtures.ts';

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
