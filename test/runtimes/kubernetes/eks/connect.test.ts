// The eks runtime's start-up (eks/connect.ts) when it cannot be made: a missing secret, an
// unreachable or refusing AWS, an unknown or unfinished cluster; each error says which and why.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createRuntime } from '../../../../src/runtimes/index.ts';
import { startAwsStandin, type AwsStandin } from '../../../support/aws-standin.ts';
import { MemorySecretStore } from '../../../support/memory-secret-store.ts';
import { freePort } from '../../../support/net.ts';
import { rejectsWith } from '../../../support/assertions.ts';
import { CLUSTER, EXTERNAL_ID, KEY_ID, ROLE, SECRET, eksConfig, secrets, silent, withRole } from './fixtures.ts';

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
