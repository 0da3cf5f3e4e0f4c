// AWS SDK failures -> the catalogue (eks/errors.ts), without AWS: the shapes the SDK rejects with
// ($metadata.httpStatusCode and the error's name, or a network code with no answer).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { HydroplaneError } from '../../../../src/errors.ts';
import { awsError, type AwsCall } from '../../../../src/runtimes/kubernetes/eks/errors.ts';

const sts: AwsCall = {
  service: 'STS',
  region: 'eu-west-1',
  endpoint: 'https://sts.eu-west-1.amazonaws.com',
  action: 'assuming the role r',
};
const eks: AwsCall = {
  service: 'EKS',
  region: 'eu-west-1',
  endpoint: 'https://eks.eu-west-1.amazonaws.com',
  action: "describing the cluster 'demo'",
  clusterName: 'demo',
};

const answered = (status: number, name: string, message = 'AWS says no') =>
  Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });

describe('awsError', () => {
  it('an answer: forbidden for 401 and 403, unavailable for 5xx and throttling, else runtime_error; each naming the service, region and endpoint', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 400, max: 599 }),
        fc.constantFrom('AccessDenied', 'ThrottlingException', 'ValidationError'),
        (status, name) => {
          const err = awsError(answered(status, name), sts);
          const want =
            status === 401 || status === 403
              ? 'runtime_forbidden'
              : status >= 500 || name === 'ThrottlingException'
                ? 'runtime_unavailable'
                : 'runtime_error';
          assert.equal(err.code, want);
          assert.ok(err.message.includes('AWS STS in eu-west-1 (https://sts.eu-west-1.amazonaws.com)'), err.message);
          assert.ok(err.message.includes('AWS says no'));
        },
      ),
    );
  });

  it('an unknown cluster is a config mistake, named with its region', () => {
    const err = awsError(answered(404, 'ResourceNotFoundException', 'No cluster found for name: demo.'), eks);
    assert.equal(err.code, 'invalid_config');
    assert.match(err.message, /no EKS cluster named 'demo' in region eu-west-1/);
    assert.equal(awsError(answered(404, 'ResourceNotFoundException'), sts).code, 'runtime_error', 'not about a cluster');
  });

  it('no answer: unavailable for a timeout or a network failure, runtime_error for anything else', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    assert.equal(awsError(refused, sts).code, 'runtime_unavailable');
    assert.match(awsError(refused, sts).message, /cannot reach AWS STS in eu-west-1 .* \(ECONNREFUSED: connect ECONNREFUSED\)/);
    const viaCause = Object.assign(new Error('fetch failed'), { cause: { code: 'EHOSTDOWN' } });
    assert.equal(awsError(viaCause, eks).code, 'runtime_unavailable');
    assert.equal(awsError(Object.assign(new Error('slow'), { name: 'TimeoutError' }), eks).code, 'runtime_unavailable');
    assert.equal(awsError(new Error('Could not load credentials'), eks).code, 'runtime_error');
  });

  it('lets a HydroplaneError through', () => {
    const ours = new HydroplaneError('invalid_config', 'x');
    assert.equal(awsError(ours, sts), ours);
  });
});
