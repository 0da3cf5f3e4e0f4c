// Failures of google-auth-library and google-gax (Google's token service, the GKE API) -> the
// error catalogue, naming the service, the project and location, and what Hydroplane was doing,
// so that no Google error leaves the gke runtime raw.
import { HydroplaneError } from '../../../errors.ts';
import type { GkeRuntimeConfig } from '../../../config/schema.ts';
import { isNetworkFailure } from '../cloud-errors.ts';

/** gRPC status codes, as google-gax reports them (also for the REST transport). */
const GRPC = { NOT_FOUND: 5, PERMISSION_DENIED: 7, UNAVAILABLE: 14, DEADLINE_EXCEEDED: 4, UNAUTHENTICATED: 16 } as const;

export interface GoogleCall {
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

/** A Google error body, from a response's data or from an error message that is one in JSON. */
function googleErrorBody(data: unknown): GoogleErrorBody | undefined {
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
  const body = googleErrorBody(e.response?.data) ?? googleErrorBody(e.message);
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
    isNetworkFailure(network) ||
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
