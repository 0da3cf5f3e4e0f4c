// Start-up of the gke runtime: checks the credentials, reads the cluster's endpoint and CA from
// the GKE API, and gets a first access token, so that a server with a wrong config or credentials
// refuses to start, saying why.
import { ClusterManagerClient } from '@google-cloud/container';
import { HydroplaneError } from '../../../errors.ts';
import type { SecretStore } from '../../../secrets/secret-store.ts';
import type { GkeRuntimeConfig } from '../../../config/schema.ts';
import type { RuntimeLogger } from '../../logger.ts';
import { accessTokenSource, applicationDefaultCredentials } from './credentials.ts';
import { googleError, type GoogleCall } from './errors.ts';

const DEFAULT_GKE_ENDPOINT = 'https://container.googleapis.com';
const GET_CLUSTER_TIMEOUT_MS = 20_000;

export interface GkeDeps {
  secrets: SecretStore;
  logger?: RuntimeLogger | undefined;
}

export interface GkeCluster {
  endpoint: string;
  /** base64 PEM, as the GKE API gives it. */
  caData: string;
  /** The current access token; fetched again before it expires. */
  token: () => Promise<string>;
}

/** Finds ADC and checks its project, reads the cluster's endpoint and CA, and gets a first token. */
export async function connectGke(config: GkeRuntimeConfig, deps: Pick<GkeDeps, 'logger'> = {}): Promise<GkeCluster> {
  const auth = await applicationDefaultCredentials(config);

  const api = new URL(config.gke_endpoint ?? DEFAULT_GKE_ENDPOINT);
  const apiCall: GoogleCall = { service: `the GKE API (${api.origin})`, action: `reading the cluster '${config.cluster_id}'`, config };
  // The REST transport in production too, so that what the tests exercise is what runs.
  const client = new ClusterManagerClient({
    // google-gax pins its own copy of google-auth-library; the instance is the same kind of object.
    auth: auth as unknown as NonNullable<ConstructorParameters<typeof ClusterManagerClient>[0]>['auth'],
    fallback: true,
    apiEndpoint: api.hostname,
    port: api.port === '' ? (api.protocol === 'http:' ? 80 : 443) : Number(api.port),
    protocol: api.protocol.replace(/:$/, ''),
  });
  let cluster;
  try {
    [cluster] = await client.getCluster(
      { name: `projects/${config.project}/locations/${config.region}/clusters/${config.cluster_id}` },
      { timeout: GET_CLUSTER_TIMEOUT_MS },
    );
  } catch (err) {
    throw googleError(err, apiCall);
  } finally {
    await client.close().catch(() => {});
  }
  const endpoint = cluster.endpoint;
  const caData = cluster.masterAuth?.clusterCaCertificate;
  if (!endpoint || !caData) {
    throw new HydroplaneError(
      'runtime_unavailable',
      `the GKE cluster '${config.cluster_id}' (project ${config.project}, location ${config.region}) has no endpoint or CA yet (status ${String(cluster.status ?? 'unknown')}); start the server once it is running`,
    );
  }

  const token = accessTokenSource(auth, config);
  await token();
  deps.logger?.info({ cluster: config.cluster_id, project: config.project, location: config.region, endpoint }, 'GKE cluster found');
  return { endpoint: `https://${endpoint}`, caData, token };
}
