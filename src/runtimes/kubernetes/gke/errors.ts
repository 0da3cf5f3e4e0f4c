// GKE: Application Default Credentials (a key file named by GOOGLE_APPLICATION_CREDENTIALS, the
// gcloud user's, or the metadata server's service account), the cluster's endpoint and CA from the
// GKE API, and the credentials' OAuth2 access token as the Kubernetes bearer token.
// google-auth-library caches that token and fetches a new one before it expires; it is asked
// before every Kubernetes request, so each request carries a fresh one.
import { ClusterManagerClient } from '@google-cloud/container';
import { GoogleAuth } from 'google-auth-library';
import { HydroplaneError } from '../../errors.ts';
import type { SecretStore } from '../../secrets/secret-store.ts';
import type { GkeRuntimeConfig } from '../../config/schema.ts';
import type { RuntimeLogger } from '../logger.ts';
import { KubernetesRuntime, secretResolver } from './kubernetes-runtime.ts';
import { tokenKubeConfig } from './token-kubeconfig.ts';

export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
const DEFAULT_GKE_ENDPOINT = 'https://container.googleapis.com';
const GET_CLUSTER_TIMEOUT_MS = 20_000;

/** gRPC status codes, as google-gax reports them (also for the REST transport). */
const GRPC = { NOT_FOUND: 5, PERMISSION_DENIED: 7, UNAVAILABLE: 14, DEADLINE_EXCEEDED: 4, UNAUTHENTICATED: 16 } as const;
const NETWORK_CODES =
  /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EHOSTDOWN|EPIPE|UND_ERR_.*|ERR_TLS.*|.*CERT.*)$/;

interface GoogleCall {
  /** 'the GKE API (https://container.googleapis.com)', "Google's token service". */
  service: string;
  /** What Hydroplane was doing. */
  action: string;
  config: Pick<GkeRuntimeConfig, 'cluster_id' | 'project' | 'region'>;
}

/** Google's JSON error body ({error: {code, message, status}}) or OAuth2's ({error, error_description}). */
interface GoogleErrorBody {
  error?: string | { code?: number; message?: string; status?: string };
  error_description?: string;
}

function errorBody(data: unknown): GoogleErrorBody | undefined {
  if (typeof data === 'string') {
    try {
      data = JSON.parse(data);
    } catch {
      return undefined;
    }
  }
  return typeof data === 'object' && data !== null ? data : undefined;
}

/**
 * A failure of google-auth-library or google-gax -> the catalogue. The REST transport rejects
 * with gaxios errors (the HTTP status and Google's JSON body), the gRPC one with gRPC codes.
 */
export function googleError(err: unknown, call: GoogleCall): HydroplaneError {
  if (err instanceof HydroplaneError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as {
    name?: string;
    message?: string;
    code?: number | string;
    status?: number;
    details?: string;
    response?: { status?: number; data?: unknown };
    cause?: { code?: string; message?: string };
  };
  const where = `project ${call.config.project}, location ${call.config.region}`;
  const body = errorBody(e.response?.data) ?? errorBody(e.message);
  const google = typeof body?.error === 'object' ? body.error : undefined;
  const oauthError = typeof body?.error === 'string' ? body.error : undefined;
  const says = (google?.message ?? body?.error_description ?? oauthError ?? e.details ?? e.message ?? String(err)).trim();
  const cause = new Error(says);
  const network = typeof e.code === 'string' ? e.code : e.cause?.code;
  const httpStatus = e.response?.status ?? (typeof e.status === 'number' ? e.status : undefined);
  const grpc = typeof e.code === 'number' && e.code < 100 ? e.code : undefined;
  const status = google?.status;
  const isGkeApi = call.service.startsWith('the GKE API');

  if (
    (network !== undefined && NETWORK_CODES.test(network)) ||
    grpc === GRPC.UNAVAILABLE ||
    grpc === GRPC.DEADLINE_EXCEEDED ||
    e.name === 'TimeoutError' ||
    e.name === 'AbortError'
  ) {
    return new HydroplaneError(
      'runtime_unavailable',
      `the gke runtime cannot reach ${call.service} while ${call.action} (${where}): ${network ? `${network}: ` : ''}${says}`,
      { cause },
    );
  }
  if (isGkeApi && (grpc === GRPC.NOT_FOUND || status === 'NOT_FOUND' || httpStatus === 404)) {
    return new HydroplaneError(
      'invalid_config',
      `there is no GKE cluster '${call.config.cluster_id}' in project ${call.config.project}, location ${call.config.region}: check cluster_id, project and region. Google says: ${says}`,
      { cause },
    );
  }
  const refused = `${call.service} refused ${call.action} (${where}${status ? `, ${status}` : ''}): ${says}`;
  if (
    grpc === GRPC.PERMISSION_DENIED ||
    grpc === GRPC.UNAUTHENTICATED ||
    status === 'PERMISSION_DENIED' ||
    status === 'UNAUTHENTICATED' ||
    httpStatus === 401 ||
    httpStatus === 403 ||
    (httpStatus === 400 && oauthError !== undefined)
  ) {
    return new HydroplaneError('runtime_forbidden', refused, { cause });
  }
  if (httpStatus !== undefined && httpStatus >= 500) {
    return new HydroplaneError(
      'runtime_unavailable',
      `${call.service} failed while ${call.action} (${where}, HTTP ${httpStatus}): ${says}; try again later`,
      { cause },
    );
  }
  return new HydroplaneError('runtime_error', `the gke runtime failed while ${call.action} with ${call.service} (${where}): ${says}`, {
    cause,
  });
}

/** google-auth-library's message when no source names a project (not exported from its package root). */
const NO_PROJECT = /Unable to detect a Project Id/;

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
  const auth = new GoogleAuth({ scopes: [CLOUD_PLATFORM_SCOPE] });
  const tokenCall: GoogleCall = { service: "Google's OAuth2 token service", action: 'getting an access token', config };

  try {
    await auth.getClient();
  } catch (err) {
    const message = (err as Error).message ?? String(err);
    throw new HydroplaneError(
      'invalid_config',
      `the gke runtime found no usable Google Application Default Credentials (${message.split('\n')[0]}): set GOOGLE_APPLICATION_CREDENTIALS to a ` +
        "service account key file, run 'gcloud auth application-default login', or run the server on Google Cloud with a service account",
      { cause: err },
    );
  }
  let adcProject: string | null;
  try {
    adcProject = await auth.getProjectId();
  } catch (err) {
    if (!NO_PROJECT.test((err as Error).message ?? ''))
      throw googleError(err, { ...tokenCall, action: 'finding the project of the credentials' });
    adcProject = null;
  }
  if (adcProject === null || adcProject === undefined || adcProject === '') {
    throw new HydroplaneError(
      'invalid_config',
      `the gke runtime cannot tell which project the Application Default Credentials are for; the config says project '${config.project}': ` +
        `set GOOGLE_CLOUD_PROJECT=${config.project} or use credentials of that project`,
    );
  }
  if (adcProject !== config.project) {
    throw new HydroplaneError(
      'invalid_config',
      `the Application Default Credentials are for project '${adcProject}', but the gke runtime is configured for project '${config.project}': ` +
        "use credentials of the cluster's project (GOOGLE_APPLICATION_CREDENTIALS, GOOGLE_CLOUD_PROJECT or gcloud config) or fix project in the config",
    );
  }

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

  const token = async (): Promise<string> => {
    let value: string | null | undefined;
    try {
      value = await auth.getAccessToken();
    } catch (err) {
      throw googleError(err, tokenCall);
    }
    if (!value)
      throw new HydroplaneError('runtime_error', 'google-auth-library returned no access token for the Application Default Credentials');
    return value;
  };
  await token();
  deps.logger?.info({ cluster: config.cluster_id, project: config.project, location: config.region, endpoint }, 'GKE cluster found');
  return { endpoint: `https://${endpoint}`, caData, token };
}

export async function gkeRuntimeFromConfig(config: GkeRuntimeConfig, deps: GkeDeps): Promise<KubernetesRuntime> {
  const { endpoint, caData, token } = await connectGke(config, deps);
  const kc = tokenKubeConfig({
    name: `gke-${config.project}-${config.region}-${config.cluster_id}`,
    server: endpoint,
    caData,
    namespace: config.namespace,
    token,
  });
  return new KubernetesRuntime(kc, {
    namespace: config.namespace,
    resolveSecret: secretResolver(deps.secrets),
    type: 'gke',
    logger: deps.logger,
  });
}
