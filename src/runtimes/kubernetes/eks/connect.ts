// Start-up of the eks runtime: reads the access key from the secret store, assumes the role when
// configured, finds the cluster's endpoint and CA with EKS DescribeCluster, and makes a first
// token, so that a server with a wrong config or credentials refuses to start, saying why.
import { DescribeClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import { HydroplaneError } from '../../../errors.ts';
import { readConfigSecret } from '../../../secrets/resolve.ts';
import type { SecretStore } from '../../../secrets/secret-store.ts';
import type { EksRuntimeConfig } from '../../../config/schema.ts';
import type { RuntimeLogger } from '../../logger.ts';
import { AWS_CLIENT_OPTIONS, DEFAULT_SESSION_NAME, EksAuth } from './credentials.ts';
import { awsError } from './errors.ts';

export interface EksDeps {
  secrets: SecretStore;
  logger?: RuntimeLogger | undefined;
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number;
}

/** What start-up learns about the cluster; the runtime is built from it. */
export interface EksCluster {
  endpoint: string;
  /** base64 PEM, as DescribeCluster gives it. */
  caData: string;
  auth: EksAuth;
}

/** Reads the credentials, assumes the role when configured, describes the cluster and makes a first token. */
export async function connectEks(config: EksRuntimeConfig, deps: EksDeps): Promise<EksCluster> {
  const { access_key, assume_role } = config.credentials;
  // Every secret first, so that a missing one is reported before any call to AWS.
  const [accessKeyId, secretAccessKey, externalId] = await Promise.all([
    readConfigSecret(deps.secrets, access_key.access_key_id, 'runtime.credentials.access_key.access_key_id'),
    readConfigSecret(deps.secrets, access_key.secret_access_key, 'runtime.credentials.access_key.secret_access_key'),
    assume_role?.external_id
      ? readConfigSecret(deps.secrets, assume_role.external_id, 'runtime.credentials.assume_role.external_id')
      : undefined,
  ]);
  const auth = new EksAuth({
    clusterName: config.cluster_name,
    region: config.region,
    accessKey: { accessKeyId, secretAccessKey },
    assumeRole: assume_role && {
      roleArn: assume_role.role_arn,
      externalId,
      sessionName: assume_role.session_name ?? DEFAULT_SESSION_NAME,
      durationSeconds: assume_role.session_duration_seconds,
    },
    stsEndpoint: config.sts_endpoint,
    now: deps.now,
    logger: deps.logger,
  });
  const eks = new EKSClient({
    region: config.region,
    credentials: async () => {
      const c = await auth.credentials();
      return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken, expiration: c.expiration };
    },
    ...(config.eks_endpoint ? { endpoint: config.eks_endpoint } : {}),
    ...AWS_CLIENT_OPTIONS,
  });
  try {
    await auth.credentials();
    let cluster;
    try {
      ({ cluster } = await eks.send(new DescribeClusterCommand({ name: config.cluster_name })));
    } catch (err) {
      throw awsError(err, {
        service: 'EKS',
        region: config.region,
        endpoint: config.eks_endpoint ?? `https://eks.${config.region}.amazonaws.com`,
        action: `describing the cluster '${config.cluster_name}'`,
        clusterName: config.cluster_name,
      });
    }
    const endpoint = cluster?.endpoint;
    const caData = cluster?.certificateAuthority?.data;
    if (!endpoint || !caData) {
      throw new HydroplaneError(
        'runtime_unavailable',
        `the EKS cluster '${config.cluster_name}' in ${config.region} has no API endpoint or CA yet (status ${cluster?.status ?? 'unknown'}); start the server once it is ACTIVE`,
      );
    }
    await auth.token();
    deps.logger?.info({ cluster: config.cluster_name, region: config.region, endpoint, status: cluster?.status }, 'EKS cluster found');
    return { endpoint, caData, auth };
  } catch (err) {
    auth.close();
    throw err;
  } finally {
    eks.destroy();
  }
}
