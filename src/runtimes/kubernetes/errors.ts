// Kubernetes API errors -> the error catalogue. Whatever client-node throws (an ApiException with
// the API's Status body, a fetch failure, an abort on timeout) is translated here, with what
// Hydroplane was doing, so that neither the API's status codes nor raw errors leave the runtime.
import { ApiException } from '@kubernetes/client-node';
import { HydroplaneError, type FieldProblem } from '../../errors.ts';

/** metav1.Status, as the API server writes it in error bodies. */
export interface KubeStatus {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; group?: string; kind?: string; causes?: Array<{ reason?: string; message?: string; field?: string }> };
}

export interface KubeErrorContext {
  /** 'kubernetes', 'eks' or 'gke'. */
  runtime: string;
  /** The API server's URL. */
  server: string;
  namespace: string;
  /** What Hydroplane was doing, as a phrase: "starting process 'web'". */
  action: string;
  /** The API verb and resource of the call: 'create', 'services'. */
  verb: string;
  resource: string;
  /** The process the call was about, if any. */
  processName?: string;
  timeoutMs?: number;
}

/** What a failed API call said: its HTTP status and Status body, or how the connection failed. */
export interface ApiFailure {
  code: number | undefined;
  status: KubeStatus | undefined;
  /** For failures without an answer: ECONNREFUSED, TimeoutError, ... */
  network: string | undefined;
  text: string;
}

export function apiFailure(err: unknown): ApiFailure {
  if (err instanceof ApiException) {
    const e = err as ApiException<unknown>;
    const status = parseStatus(e.body);
    return {
      code: e.code,
      status,
      network: undefined,
      text: status?.message ?? (typeof e.body === 'string' && e.body !== '' ? e.body.slice(0, 500) : `HTTP ${e.code}`),
    };
  }
  const e = (typeof err === 'object' && err !== null ? err : {}) as {
    name?: string;
    message?: string;
    code?: string;
    cause?: { code?: string; message?: string };
  };
  if (e.name === 'TimeoutError' || e.name === 'AbortError')
    return { code: undefined, status: undefined, network: 'TimeoutError', text: 'no answer in time' };
  const code = e.cause?.code ?? e.code;
  if (typeof code === 'string') return { code: undefined, status: undefined, network: code, text: e.cause?.message ?? e.message ?? code };
  return { code: undefined, status: undefined, network: undefined, text: e.message ?? String(err) };
}

function parseStatus(body: unknown): KubeStatus | undefined {
  if (typeof body === 'object' && body !== null) return body;
  if (typeof body !== 'string' || body === '') return undefined;
  try {
    const parsed = JSON.parse(body) as unknown;
    return typeof parsed === 'object' && parsed !== null ? parsed : undefined;
  } catch {
    return undefined;
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof ApiException && (err as ApiException<unknown>).code === 404;
}

/** 410 Gone: a list's continue token (or a watch's resourceVersion) that the API server no longer keeps. */
export function isGone(err: unknown): boolean {
  return err instanceof ApiException && (err as ApiException<unknown>).code === 410;
}

export function isForbidden(err: unknown): boolean {
  return err instanceof ApiException && (err as ApiException<unknown>).code === 403;
}

export function isAlreadyExists(err: unknown): boolean {
  return err instanceof ApiException && (err as ApiException<unknown>).code === 409 && apiFailure(err).status?.reason === 'AlreadyExists';
}

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS|ERR_SSL|EPROTO/;

/** Translates any failure of an API call into the catalogue. HydroplaneErrors pass through. */
export function translateKubeError(err: unknown, ctx: KubeErrorContext): HydroplaneError {
  if (err instanceof HydroplaneError) return err;
  const f = apiFailure(err);
  const cause = new Error(f.text);
  const where = `the Kubernetes API server at ${ctx.server}`;
  const what = `${ctx.verb} ${ctx.resource} in namespace '${ctx.namespace}'`;

  if (f.network === 'TimeoutError') {
    const limit = ctx.timeoutMs === undefined ? '' : ` within ${ctx.timeoutMs / 1000} s`;
    return new HydroplaneError(
      'runtime_timeout',
      `${where} did not answer${limit} while ${ctx.action} (${what}); the cluster may be overloaded or unreachable`,
      {
        cause,
      },
    );
  }
  if (f.network !== undefined) {
    const hint = TLS_CODES.test(f.network)
      ? "the server's TLS certificate is not trusted: check the kubeconfig's certificate-authority for this cluster"
      : "check that the cluster is running and that the kubeconfig's server address (or the cloud cluster's endpoint) is right";
    return new HydroplaneError(
      'runtime_unavailable',
      `the ${ctx.runtime} runtime cannot reach ${where} while ${ctx.action} (${f.network}: ${f.text}): ${hint}`,
      {
        cause,
      },
    );
  }
  if (f.code === undefined) {
    // Not an HTTP answer: a client-side failure such as an exec credential plugin that failed.
    return new HydroplaneError('runtime_error', `the ${ctx.runtime} runtime failed while ${ctx.action}: ${f.text}`, { cause });
  }

  const says = f.text;
  switch (f.code) {
    case 401:
      return new HydroplaneError(
        'runtime_forbidden',
        `${where} did not accept the ${ctx.runtime} runtime's credentials while ${ctx.action} (401 Unauthorized): ` +
          'the token or certificate of the kubeconfig user is wrong or has expired',
        { cause },
      );
    case 403:
      return new HydroplaneError(
        'runtime_forbidden',
        `the ${ctx.runtime} runtime may not ${what}: RBAC refused it while ${ctx.action}. Grant its user or service account ` +
          `the '${ctx.verb}' verb on '${ctx.resource}' (see src/runtimes/kubernetes/README.md for every verb needed). The API says: ${says}`,
        { cause },
      );
    case 404:
      if (f.status?.details?.kind === 'namespaces') {
        return new HydroplaneError(
          'runtime_error',
          `namespace '${ctx.namespace}' does not exist in the cluster at ${ctx.server}: create it, or set namespace in the runtime config`,
          { cause },
        );
      }
      return new HydroplaneError('runtime_error', `${where} answered 404 while ${ctx.action} (${what}): ${says}`, { cause });
    case 409:
      if (f.status?.reason === 'AlreadyExists' && ctx.processName !== undefined) {
        return new HydroplaneError('process_exists', `a process named '${ctx.processName}' already exists (${says})`, { cause });
      }
      return new HydroplaneError('runtime_error', `${where} reported a conflict while ${ctx.action}: ${says}`, { cause });
    case 400:
    case 422: {
      const fields = (f.status?.details?.causes ?? []).map((c): FieldProblem => ({
        path: specPath(f.status?.details?.kind, c.field),
        message: c.message ?? c.reason ?? 'invalid',
      }));
      const subject = ctx.processName === undefined ? ctx.action : `process '${ctx.processName}'`;
      return new HydroplaneError(
        'invalid_spec',
        `the Kubernetes API refused ${subject}: ${says}`,
        fields.length > 0 ? { cause, fields } : { cause },
      );
    }
    case 503:
      return new HydroplaneError('runtime_unavailable', `${where} is unavailable (503) while ${ctx.action}: ${says}; try again later`, {
        cause,
      });
    case 504:
      return new HydroplaneError('runtime_timeout', `${where} timed out while ${ctx.action}: ${says}`, { cause });
    default:
      return new HydroplaneError('runtime_error', `${where} failed while ${ctx.action} (${f.code}): ${says}`, { cause });
  }
}

const CONTAINER = /^spec\.template\.spec\.containers\[0\]\./;

/** Points a field of our manifests back at the spec field it came from, where there is one. */
export function specPath(kind: string | undefined, field: string | undefined): string {
  if (field === undefined || field === '') return kind ?? '';
  if (field === 'metadata.name') return 'process_name';
  if (field.startsWith('metadata.labels')) return 'group';
  if (kind === 'Service') {
    const port = /^spec\.ports\[(\d+)\]/.exec(field);
    if (port) return `container.ports[${port[1]}]`;
  }
  if (CONTAINER.test(field)) {
    const rest = field.replace(CONTAINER, '');
    if (rest.startsWith('image')) return 'container.image_uri';
    if (rest.startsWith('args')) return `container.command${rest.slice(4)}`;
    const env = /^env\[(\d+)\](.*)$/.exec(rest);
    if (env) return `container.env[${env[1]}]${env[2]!.startsWith('.name') ? '.name' : '.value'}`;
    if (rest.startsWith('resources.requests')) return 'container.resource_request';
    if (rest.startsWith('resources.limits')) return 'container.resource_limit';
    if (rest.startsWith('ports')) return 'container.ports';
  }
  if (field.startsWith('spec.template.spec.nodeSelector')) return 'container.node_selector';
  return `${kind ?? 'object'} ${field}`;
}
