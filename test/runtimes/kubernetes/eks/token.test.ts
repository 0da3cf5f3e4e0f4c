// The EKS token (eks/token.ts): its format, and that the AWS stand-in, which checks it as STS and
// EKS do, accepts it for its cluster only, signed with the right key, for 15 minutes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eksToken, stsHost } from '../../../../src/runtimes/kubernetes/eks/token.ts';
import { startAwsStandin, type AwsStandin } from '../../../support/aws-standin.ts';
import { CLUSTER, KEY_ID, MINUTE, SECRET, tokenUrl } from './fixtures.ts';

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
