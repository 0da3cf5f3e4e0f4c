// Engine errors -> the error catalogue. Every failure of the Engine client is first normalised
// into an EngineError (what went wrong, never the raw error with its statusCode), then
// translated here with what Hydroplane was doing, so callers only ever see HydroplaneErrors.
import { HydroplaneError } from '../../errors.ts';

export type EngineErrorKind =
  /** No answer at all: no socket, refused, reset, host unreachable. */
  | 'unreachable'
  /** The Engine accepted the request but did not answer within the per-call timeout. */
  | 'timeout'
  /** The Engine answered with an error status. */
  | 'http'
  /** After a 200: an error reported inside a progress stream (a pull), or an answer that is not what the API says. */
  | 'stream'
  /** The caller gave up (its client went away, or the server is closing); the call was cancelled. */
  | 'aborted';

export class EngineError extends Error {
  override readonly name = 'EngineError';
  readonly kind: EngineErrorKind;
  /** The Engine's HTTP status, for kind 'http'. Stays inside the docker runtime. */
  readonly status: number | undefined;
  /** The socket error code (ECONNREFUSED, ENOENT...), for kind 'unreachable'. */
  readonly errno: string | undefined;

  constructor(kind: EngineErrorKind, message: string, details: { status?: number; errno?: string } = {}) {
    super(message);
    this.kind = kind;
    this.status = details.status;
    this.errno = details.errno;
  }
}

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOENT',
  'EACCES',
  'EPERM',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENOTSOCK',
  'ECONNABORTED',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
  'UND_ERR_SOCKET',
  // The server itself is out of file descriptors: it cannot open the connection to the Engine.
  'EMFILE',
  'ENFILE',
]);

/** Socket errors that are the server's own limit on open files, not the Engine's absence. */
const OUT_OF_DESCRIPTORS = new Set(['EMFILE', 'ENFILE']);

/** Normalises whatever the client threw. `timedOut` says our own per-call timer fired. */
export function toEngineError(raw: unknown, timedOut = false): EngineError {
  if (raw instanceof EngineError) return raw;
  if (timedOut) return new EngineError('timeout', 'no answer in time');
  const e = (typeof raw === 'object' && raw !== null ? raw : {}) as {
    code?: unknown;
    statusCode?: unknown;
    json?: unknown;
    message?: unknown;
  };
  const text = typeof e.message === 'string' ? e.message : String(raw);
  if (typeof e.statusCode === 'number') {
    return new EngineError('http', engineMessage(e.json, text), { status: e.statusCode });
  }
  if (typeof e.code === 'string' && UNREACHABLE_CODES.has(e.code)) {
    return new EngineError('unreachable', text, { errno: e.code });
  }
  if (/socket hang up/i.test(text)) return new EngineError('unreachable', text, { errno: 'ECONNRESET' });
  return new EngineError('http', text);
}

/** The Engine's own words: its JSON `message`, else docker-modem's text without its prefix. */
function engineMessage(json: unknown, text: string): string {
  if (typeof json === 'object' && json !== null && typeof (json as { message?: unknown }).message === 'string') {
    return (json as { message: string }).message.trim();
  }
  if (typeof json === 'string' && json.trim() !== '') return json.trim();
  if (Buffer.isBuffer(json) && json.length > 0) return json.toString('utf8').trim();
  // docker-modem: "(HTTP code 404) no such container - No such container: x "
  return text.replace(/^\(HTTP code \d+\)[^-]*- /, '').trim();
}

export function isNotFound(err: unknown): boolean {
  return err instanceof EngineError && err.status === 404;
}

/**
 * A start of a container that another request is removing (Docker: 409, "container is marked for
 * removal and cannot be started"); once the removal is done, the start's answer is a 404 instead.
 */
export function isMarkedForRemoval(err: unknown): boolean {
  return err instanceof EngineError && err.status === 409 && /marked for removal/i.test(err.message);
}

/**
 * A lookup by name that matched no name and the start of several container IDs: Docker looks a
 * name up first, then takes it as an ID prefix, and says so when the prefix is ambiguous (Engine
 * 20.10: 500; 26.1: 400; Podman answers 404, "more than one result for container ID"). With a few
 * hundred containers, most two-letter hex names are such a prefix.
 */
export function isAmbiguousIdPrefix(err: unknown): boolean {
  return err instanceof EngineError && /multiple IDs found with provided prefix/i.test(err.message);
}

/**
 * A 409 from removing a container that another request is already removing. (Podman has no such
 * answer: the racing removals get 204, 204 and 404, and a 404 is tolerated anyway.)
 */
export function isRemovalInProgress(err: unknown): boolean {
  return err instanceof EngineError && err.status === 409 && /already in progress/i.test(err.message);
}

const IMAGE_MISSING = /no such image|image not known/i;

/**
 * A create refused because the image is not on the Docker host (yet): pull it, then create.
 * Docker: "No such image: x"; Podman: "no such image: docker.io/x: image not known".
 */
export function isImageMissing(err: unknown): boolean {
  return err instanceof EngineError && err.status === 404 && IMAGE_MISSING.test(err.message);
}

const NAME_IN_USE = /\bcontainer name\b.*\bis already in use\b|\bthat name is already in use\b/is;

/**
 * A create refused because a container already has the name. Docker answers 409 `Conflict. The
 * container name "/x" is already in use by container "<id>"...`; Podman 500 `container create:
 * creating container storage: the container name "x" is already in use by <id>...: that name is
 * already in use`.
 */
export function isNameInUse(err: unknown): boolean {
  return err instanceof EngineError && (err.status === 409 || err.status === 500) && NAME_IN_USE.test(err.message);
}

/**
 * The network vanished after we checked it. Docker fails the start: "network hydroplane not
 * found"; Podman fails the create: "unable to find network with name or ID hydroplane: network not found".
 */
export function isNetworkNotFound(err: unknown): boolean {
  return (
    err instanceof EngineError && /\bnetwork \S+ not found|unable to find network with name or ID \S+: network not found/i.test(err.message)
  );
}

/**
 * A network create refused because the name is taken (by a racing server): Docker 409 "network
 * with name x already exists"; Podman 500 "network name x already used: network already exists".
 */
export function isNetworkExists(err: unknown): boolean {
  if (!(err instanceof EngineError)) return false;
  return err.status === 409 || (err.status === 500 && /\bnetwork name \S+ already used\b|\bnetwork already exists\b/i.test(err.message));
}

/** "network hydroplane is ambiguous (2 matches found on name)": the name is on several networks. */
export function isNetworkAmbiguous(err: unknown): boolean {
  return err instanceof EngineError && /network \S+ is ambiguous/i.test(err.message);
}

/**
 * Text from the Engine (which may embed a registry's reply) made fit for a message: control and
 * bidirectional-formatting characters become spaces, runs of spaces one, and it is cut at `max`
 * characters. Regexes that classify an error still read the EngineError's own text.
 */
export function boundedText(text: string, max = 300): string {
  const clean = text
    .replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  const chars = Array.from(clean);
  return chars.length <= max ? clean : `${chars.slice(0, max).join('')}…`;
}

export interface ErrorContext {
  /** What Hydroplane was doing, as a phrase: "starting process 'web'". */
  action: string;
  /** The Engine's address as configured: "unix:///var/run/docker.sock". */
  endpoint: string;
  /** Which Engine call failed; lets the same message mean different things. */
  phase?: 'pull' | 'create' | 'start' | 'other';
  processName?: string;
  image?: string;
  /** The network that the process joins, named when it is full. */
  network?: string;
  /** Whether registry credentials were sent with the pull. */
  withCredentials?: boolean;
  /** The per-call timeout, named when it fires. */
  timeoutSeconds?: number;
  /** The registry host of the image, for pull errors ('Docker Hub' when the reference names none). */
  registry?: string;
  /** The pull timeout, named when it fires. */
  pullTimeoutSeconds?: number;
}

const PORT_IN_USE = /port is already allocated|address already in use/i;

/**
 * A start refused because the network cannot take one more container: each is a 500 of the
 * container's start, measured on Engine 20.10 (the create succeeds; the endpoint is made at the
 * start). Every address of the subnet is taken: "no available IPv4 addresses on this network's
 * address pools: NAME (ID)". The Linux bridge has all its ports (1,023; the kernel's BR_MAX_PORTS
 * of 1,024 less port 0): "failed to create endpoint C on network N: adding interface vethX to
 * bridge br-X failed: exchange full" (the kernel's EXFULL). Podman 4.3 says of a full subnet "IPAM
 * error: failed to find free IP in range: FIRST - LAST".
 */
const ADDRESSES_EXHAUSTED = /no available IPv4 addresses on this network's address pools|IPAM error: failed to find free IP in range/i;
const BRIDGE_FULL = /to bridge \S+ failed: exchange full/i;

/** Which limit of the network a start ran into, if it was one. */
export function networkFullness(err: unknown): 'addresses' | 'bridge' | undefined {
  if (!(err instanceof EngineError)) return undefined;
  if (ADDRESSES_EXHAUSTED.test(err.message)) return 'addresses';
  if (BRIDGE_FULL.test(err.message)) return 'bridge';
  return undefined;
}
/**
 * The container's command could not be run. Docker (400, or 500 on older Engines): "failed to
 * create shim task: OCI runtime create failed: ... executable file not found in $PATH"; Podman 500:
 * "runc: runc create failed: ... no such file or directory: OCI runtime attempted to invoke a
 * command that was not found" (or "OCI permission denied").
 */
const CANNOT_EXEC =
  /OCI runtime \w+ failed|runc create failed|executable file not found|OCI runtime attempted to invoke a command that was not found|OCI permission denied/i;
const NOT_FOUND_ON_PULL =
  /manifest unknown|manifest for .* not found|not found: manifest|repository does not exist|name unknown|no such image|not found/i;
const AUTH_ON_PULL = /unauthorized|authentication required|no basic auth credentials|denied|forbidden|incorrect username or password/i;

/** Translates any error from the Engine client into the catalogue. HydroplaneErrors pass through. */
export function translateEngineError(raw: unknown, ctx: ErrorContext): HydroplaneError {
  if (raw instanceof HydroplaneError) return raw;
  const err = toEngineError(raw);
  // The cause goes to the server's log only, still bounded: a registry's reply can be anything.
  const cause = new Error(boundedText(err.message, 2000));
  const engineSays = boundedText(err.message);

  if (err.kind === 'aborted') {
    return new HydroplaneError(
      'runtime_unavailable',
      `${ctx.action} was cancelled before it finished: its client went away or the server is shutting down; nothing was left behind`,
      { cause },
    );
  }

  if (err.kind === 'unreachable' && err.errno !== undefined && OUT_OF_DESCRIPTORS.has(err.errno)) {
    const which = err.errno === 'EMFILE' ? 'the server has' : 'the machine has';
    return new HydroplaneError(
      'runtime_unavailable',
      `${which} no file descriptor left (${err.errno}) to open a connection to the Docker Engine while ${ctx.action}: ` +
        'raise the limit on open files (LimitNOFILE= in the systemd unit, ulimit -n; docs/production.md, "Many processes"), ' +
        'or close some log follows',
      { cause },
    );
  }

  if (err.kind === 'unreachable') {
    const hint =
      err.errno === 'EACCES' || err.errno === 'EPERM'
        ? 'the server may not use the socket: run it as a user allowed to (the docker group), or point docker_host at another Engine'
        : "start the Docker daemon (for example 'sudo systemctl start docker' or 'bash scripts/ensure-docker.sh'), " +
          'or set docker_host in the config (or DOCKER_HOST) to the address of a running Engine';
    return new HydroplaneError(
      'runtime_unavailable',
      `the docker runtime cannot reach the Docker Engine at ${ctx.endpoint} while ${ctx.action} (${err.errno ?? engineSays}): ${hint}`,
      { cause },
    );
  }
  if (ctx.phase === 'pull') return pullError(err, ctx, cause);
  if (err.kind === 'timeout') {
    const limit = ctx.timeoutSeconds === undefined ? '' : ` within ${ctx.timeoutSeconds} s`;
    return new HydroplaneError(
      'runtime_timeout',
      `the Docker Engine at ${ctx.endpoint} did not answer${limit} while ${ctx.action}; it may be overloaded or stuck ` +
        '(request_timeout_seconds in the runtime config sets this limit)',
      { cause },
    );
  }

  if (PORT_IN_USE.test(engineSays)) {
    const port = /(?:Bind for |listen (?:tcp|udp)[46]? )(\S+):(\d+)/i.exec(engineSays);
    const which = port ? `host port ${port[2]} (on ${port[1]})` : 'a host port of the process';
    return new HydroplaneError(
      'port_in_use',
      `cannot start process '${ctx.processName ?? '?'}': ${which} is already in use on the Docker host; ` +
        `choose another host_port or stop what uses it (the Engine says: ${engineSays})`,
      { cause },
    );
  }

  const full = ctx.phase === 'start' || ctx.phase === 'create' ? networkFullness(err) : undefined;
  if (full !== undefined) {
    const network = ctx.network === undefined ? 'the network' : `network '${ctx.network}'`;
    const why =
      full === 'addresses'
        ? 'every address of its subnet is taken'
        : 'its Linux bridge has no free port (a bridge takes at most 1,023 containers, a limit of the kernel)';
    const way =
      full === 'addresses'
        ? 'stop processes, or give the runtime a network with a larger subnet (docs/production.md, "Many processes")'
        : 'stop processes, or spread them over more networks: another Hydroplane server whose config names another network (docs/production.md, "Many processes")';
    return new HydroplaneError(
      'runtime_unavailable',
      `cannot start process '${ctx.processName ?? '?'}': ${network} is full: ${why}; nothing was left of the start. ` +
        `To run more processes, ${way} (the Engine says: ${engineSays})`,
      { cause },
    );
  }

  if (err.status !== undefined && err.status >= 300 && err.status < 400) {
    return new HydroplaneError(
      'runtime_error',
      `the Docker Engine at ${ctx.endpoint} answered with a redirect (HTTP ${err.status}) while ${ctx.action}; Hydroplane never follows one: ` +
        'check that docker_host points at a Docker Engine',
      { cause },
    );
  }
  if ((ctx.phase === 'create' || ctx.phase === 'start') && IMAGE_MISSING.test(engineSays)) {
    return new HydroplaneError(
      'image_not_found',
      `image '${ctx.image ?? '?'}' is not on the Docker host (the Engine says: ${engineSays})`,
      { cause },
    );
  }
  if (ctx.phase === 'create' && isNameInUse(err)) {
    return new HydroplaneError('process_exists', `a process named '${ctx.processName ?? '?'}' already exists`, { cause });
  }
  if (isNetworkAmbiguous(err)) {
    return new HydroplaneError(
      'runtime_error',
      `the Docker Engine at ${ctx.endpoint} has several networks of the name that processes share, so none can join it by name ` +
        `while ${ctx.action}; keep one ('docker network ls', 'docker network rm ID') (the Engine says: ${engineSays})`,
      { cause },
    );
  }
  const refused = err.status === 400 || (ctx.phase === 'start' && CANNOT_EXEC.test(engineSays));
  if (refused && (ctx.phase === 'create' || ctx.phase === 'start')) {
    // A parameter that the Engine refuses (a memory limit under 6 MB, a command not in the image):
    // the spec asks for something this Engine cannot do.
    return new HydroplaneError('invalid_spec', `the Docker Engine refused process '${ctx.processName ?? '?'}': ${engineSays}`, { cause });
  }
  if (err.status === 401 || err.status === 403) {
    return new HydroplaneError('runtime_forbidden', `the Docker Engine at ${ctx.endpoint} refused ${ctx.action}: ${engineSays}`, { cause });
  }
  return new HydroplaneError('runtime_error', `the Docker Engine failed while ${ctx.action}: ${engineSays}`, { cause });
}

/** Registry statuses as the Engine words them: "HTTP status: 500", "error parsing HTTP 404 response", "status code 401", "StatusCode: 403,". */
const REGISTRY_STATUS =
  /\bHTTP status:? (\d{3})\b|\bHTTP (\d{3}) response\b|\bstatus code:? (\d{3})\b|\bStatusCode: (\d{3}),|\b(\d{3}) (?:Unauthorized|Forbidden|Not Found|Too Many Requests|Internal Server Error|Bad Gateway|Service Unavailable|Gateway Timeout)\b/i;

/**
 * What the Engine found when the registry refused a pull: the registry's HTTP status, or only the
 * registry's error code (DENIED, UNAUTHORIZED, MANIFEST_UNKNOWN...) that the Engine's registry
 * client read from the answer, or nothing it recognises.
 */
type PullFinding = { status: number } | { code: 'denied' | 'unauthorized' | 'missing' | 'rate_limited' | 'unknown' } | { guess: true };

/**
 * Podman words every pull error "initializing source docker://REF: reading manifest TAG in REPO:
 * ..." (in an error line of a 200 stream); Docker (20.10, 26) often says "Head "URL": ...". What
 * follows is the registry client's own text.
 */
const PULL_ENVELOPE = /^(?:Error: )?(?:initializing source \S+: )?(?:reading manifest \S+ in \S+: )?(?:(?:Head|Get) "[^"]*": )?/i;

/**
 * The forms that the Engines' registry clients give a registry's refusal, each anchored at the
 * start, so that the registry's own words, which follow, decide nothing. Measured on Engine 20.10,
 * 26.1 and Podman 4.3 (see README.md).
 */
const STATUS_FORMS: RegExp[] = [
  // Docker 20.10 and 26: a 4xx whose body is not a registry error document.
  /^error parsing HTTP (\d{3}) response body\b/i,
  // Docker and Podman: a 5xx.
  /^received unexpected HTTP status: (\d{3})\b/i,
  // Podman: a 4xx whose body is not a registry error document (then 50 characters of the body).
  /^StatusCode: (\d{3}),/,
];
const CODE_FORMS: Array<[RegExp, 'denied' | 'unauthorized' | 'missing' | 'rate_limited' | 'unknown']> = [
  // Docker's own phrase for DENIED (26 also gives it to a 403 whose body is not a registry error document).
  [/^pull access denied for \S+, repository does not exist or may require 'docker login'/i, 'denied'],
  // Podman: the code DENIED, with the registry's message or the code's default text.
  [/^(?:denied\b|requested access to the resource is denied\b)/i, 'denied'],
  // A 401 (any body), or the code UNAUTHORIZED; Docker 20.10 without credentials for a registry that wants them.
  [/^(?:unauthorized\b|authentication required\b|no basic auth credentials\b)/i, 'unauthorized'],
  [
    /^(?:manifest unknown\b|manifest for \S+ not found\b|name unknown\b|repository \S+ not found\b|repository name not known to registry\b)/i,
    'missing',
  ],
  // Docker 26: a 429 whose body is not a registry error document; or the code TOOMANYREQUESTS.
  [/^toomanyrequests\b/i, 'rate_limited'],
  // Docker 26: any other 4xx whose body is not a registry error document (its status not said); or the code UNKNOWN.
  [/^unknown\b/i, 'unknown'],
];

/** Reads a pull error's message by the forms above; for a form none of them knows, guesses as before. */
export function readPullError(message: string): PullFinding {
  const rest = message.trim().replace(PULL_ENVELOPE, '');
  for (const form of STATUS_FORMS) {
    const m = form.exec(rest);
    if (m) return { status: Number(m[1]) };
  }
  for (const [form, code] of CODE_FORMS) if (form.test(rest)) return { code };
  return { guess: true };
}

/**
 * A failed pull, summarised: what failed, the registry's HTTP status when the Engine names one,
 * the registry, and what to check. The Engine's message embeds the registry's reply, which can be
 * any bytes from any host that an image reference names, so none of it is repeated; it only
 * decides which summary applies, and only by the Engine's own wording (readPullError).
 */
function pullError(err: EngineError, ctx: ErrorContext, cause: Error): HydroplaneError {
  const image = `'${boundedText(ctx.image ?? '?', 200)}'`;
  const registry = ctx.registry ?? 'Docker Hub';
  if (err.kind === 'timeout') {
    return new HydroplaneError(
      'runtime_timeout',
      `the pull of image ${image} from registry ${registry} did not finish within ${ctx.pullTimeoutSeconds ?? '?'} s and was cancelled: ` +
        'check that the registry is available and answers; for a large image on a slow link, raise pull_timeout_seconds in the runtime config',
      { cause },
    );
  }
  const says = err.message;
  const finding = readPullError(says);
  let status: number | undefined;
  let kind: 'auth' | 'denied' | 'missing' | 'rate_limited' | 'unknown' | 'other';
  if ('status' in finding) {
    status = finding.status;
    kind = status === 401 || status === 403 ? 'auth' : status === 404 ? 'missing' : status === 429 ? 'rate_limited' : 'other';
  } else if ('code' in finding) {
    kind = finding.code === 'unauthorized' ? 'auth' : finding.code;
  } else {
    // An Engine wording not measured: the first status named anywhere, else the Engine's own
    // status when it is not the catch-all 500, else the words.
    const m = REGISTRY_STATUS.exec(says);
    const named = m ? Number(m[1] ?? m[2] ?? m[3] ?? m[4] ?? m[5]) : undefined;
    status = named ?? (err.status !== undefined && err.status !== 500 ? err.status : undefined);
    if (status !== undefined)
      kind = status === 401 || status === 403 ? 'auth' : status === 404 ? 'missing' : status === 429 ? 'rate_limited' : 'other';
    else kind = AUTH_ON_PULL.test(says) ? 'auth' : NOT_FOUND_ON_PULL.test(says) ? 'missing' : 'other';
  }
  const answered = status === undefined ? '' : ` (HTTP ${status})`;

  if (kind === 'denied') {
    // The registry denied access and said no more: Docker Hub and others answer so for a
    // repository that does not exist and for a private one alike, and the Engine passes on no status.
    if (ctx.withCredentials) {
      return new HydroplaneError(
        'registry_auth_failed',
        `registry ${registry} denied access to image ${image} with the credentials given: check container.username and the password secret, ` +
          'and the image name and tag (a registry also denies access to an image it does not have, and does not say which)',
        { cause },
      );
    }
    return new HydroplaneError(
      'image_not_found',
      `registry ${registry} denied access to image ${image}: either it does not exist there (check the image name and tag) or it is private ` +
        '(give container.username and container.password); the registry does not say which',
      { cause },
    );
  }
  if (kind === 'auth') {
    const advice = ctx.withCredentials
      ? 'check container.username and the password secret'
      : 'the registry wants a login: give container.username and container.password';
    return new HydroplaneError('registry_auth_failed', `registry ${registry} refused to serve image ${image}${answered}: ${advice}`, {
      cause,
    });
  }
  if (kind === 'missing') {
    return new HydroplaneError(
      'image_not_found',
      `image ${image} was not found on registry ${registry}${answered}: check the image name and tag`,
      { cause },
    );
  }
  const why =
    kind === 'rate_limited'
      ? `registry ${registry} limits how often it may be asked${answered}: try again later, or give container.username and container.password if it allows more to a login`
      : kind === 'unknown'
        ? `registry ${registry} refused it with an error that the Docker Engine does not classify, nor give its HTTP status for: ` +
          'check the image name and tag, and that the registry is available and reachable from the Docker host'
        : 'check that the registry is available and reachable from the Docker host, and that the image name is right';
  return new HydroplaneError(
    'runtime_error',
    `the Docker Engine could not pull image ${image} from registry ${registry}${kind === 'rate_limited' ? '' : answered}: ${why}`,
    { cause },
  );
}
