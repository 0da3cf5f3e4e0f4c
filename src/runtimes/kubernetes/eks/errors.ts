// AWS SDK failures (STS, EKS) -> the error catalogue, naming the service, the region, its
// endpoint and what Hydroplane was doing, so that no AWS error leaves the eks runtime raw.
import { HydroplaneError } from '../../../errors.ts';
import { isNetworkFailure } from '../cloud-errors.ts';

export interface AwsCall {
  service: 'STS' | 'EKS';
  region: string;
  endpoint: string;
  /** What Hydroplane was doing: "assuming the role arn:...". */
  action: string;
  /** Set when the call was about a cluster: a missing one is a config mistake. */
  clusterName?: string;
}

/** An AWS SDK failure -> the catalogue. HydroplaneErrors pass through. */
export function awsError(err: unknown, call: AwsCall): HydroplaneError {
  if (err instanceof HydroplaneError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as {
    name?: string;
    message?: string;
    code?: string;
    $metadata?: { httpStatusCode?: number };
    cause?: { code?: string; message?: string };
  };
  const status = e.$metadata?.httpStatusCode;
  const code = e.name ?? 'Error';
  const message = e.message ?? String(err);
  const where = `AWS ${call.service} in ${call.region} (${call.endpoint})`;
  const cause = new Error(message);
  if (status === undefined) {
    const network = e.code ?? e.cause?.code;
    if (code === 'TimeoutError' || code === 'RequestTimeout' || isNetworkFailure(network)) {
      return new HydroplaneError(
        'runtime_unavailable',
        `the eks runtime cannot reach ${where} while ${call.action} (${network ?? code}: ${message}); check the network, the proxy and the region`,
        { cause },
      );
    }
    return new HydroplaneError('runtime_error', `the eks runtime failed while ${call.action} with ${where}: ${message}`, { cause });
  }
  if (code === 'ResourceNotFoundException' && call.clusterName !== undefined) {
    return new HydroplaneError(
      'invalid_config',
      `there is no EKS cluster named '${call.clusterName}' in region ${call.region} (for these credentials): check cluster_name and region. AWS says: ${message}`,
      { cause },
    );
  }
  if (status === 401 || status === 403) {
    return new HydroplaneError('runtime_forbidden', `${where} refused ${call.action} (${code}): ${message}`, { cause });
  }
  if (status >= 500 || code === 'ThrottlingException' || code === 'Throttling') {
    return new HydroplaneError(
      'runtime_unavailable',
      `${where} failed while ${call.action} (${status} ${code}): ${message}; try again later`,
      { cause },
    );
  }
  return new HydroplaneError('runtime_error', `${where} refused ${call.action} (${status} ${code}): ${message}`, { cause });
}
