// Who may drive the API from a browser. Without an API token, any page that a browser loads from a
// name resolving to this machine (DNS rebinding) shares the API's origin, so only Host values that
// name loopback or a configured name are served (421 otherwise). Token or not, requests that a
// browser marks as coming from another site are refused (403): a page elsewhere must not start,
// stop or read anything, even with a user's cookie-less <form> or <img>. Programs (curl, hpctl,
// the original's Python client) send neither Origin nor Sec-Fetch-Site and are not affected.
import { isLoopbackHost } from './loopback.ts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HydroplaneError, errorBody } from '../errors.ts';
import { quoteName } from './routes/shared.ts';

export interface RequestOriginOptions {
  /** Whether an API token is required: then the token is the gate, and any Host is served. */
  tokenRequired: boolean;
  /** Host names served besides loopback when there is no token: "name" (any port) or "name:port". */
  allowedHosts?: readonly string[];
  /** The port that a loopback Host must name; by default the port that the request came in on. */
  port?: number;
}

/** Probes carry whatever Host their platform gives them (a pod's IP, say). */
const UNCHECKED_ROUTES = new Set(['/health', '/ready']);

/** Pages and files that hold no data: a link from another site to the dashboard still opens it. */
function isPage(url: string): boolean {
  return (
    url === '/' ||
    url.startsWith('/dashboard/') ||
    url === '/docs' ||
    url.startsWith('/docs/') ||
    url === '/redoc' ||
    url.startsWith('/redoc/') ||
    url === '/openapi.json'
  );
}

/** "name", "name:port", "[v6]" or "[v6]:port" -> its parts, the name in lowercase; undefined when malformed. */
export function splitHost(host: string): { name: string; port: number | undefined } | undefined {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]\s]+)(?::(\d{1,5}))?$/.exec(host);
  if (!match) return undefined;
  const port = match[2] === undefined ? undefined : Number(match[2]);
  if (port !== undefined && port > 65535) return undefined;
  return { name: match[1]!.toLowerCase(), port };
}

export function installRequestOriginChecks(app: FastifyInstance, options: RequestOriginOptions): void {
  const allowed = (options.allowedHosts ?? []).map((entry) => splitHost(entry)).filter((e) => e !== undefined);
  // The port the connection came in on, which is the bound one (port 0 picks it at listen);
  // inject() has no socket, hence no port to hold the Host to.
  const serverPort = (request: FastifyRequest): number | undefined => options.port ?? request.socket.localPort;

  const hostServed = (request: FastifyRequest, host: string): boolean => {
    const parts = splitHost(host);
    if (!parts) return false;
    if (isLoopbackHost(parts.name)) {
      const port = serverPort(request);
      return port === undefined || (parts.port ?? 80) === port;
    }
    return allowed.some((entry) => entry.name === parts.name && (entry.port === undefined || entry.port === parts.port));
  };

  app.addHook('onRequest', async (request, reply) => {
    // The Host that is checked must be the only one, and the one the target means: Node keeps the
    // first of several Host headers, and routes an absolute-form target (GET http://other/...) by
    // its path while the Host says something else. No browser sends either.
    const ambiguity = ambiguousTarget(request.raw.url, request.raw.rawHeaders);
    if (ambiguity) {
      const error = new HydroplaneError('invalid_request', ambiguity);
      return reply.status(error.status).send(errorBody(error));
    }
    const url = request.routeOptions.url ?? '';
    if (UNCHECKED_ROUTES.has(url)) return;
    const host = request.headers.host;
    // HTTP/1.0 may leave Host out; every browser sends it, so a request without one is a program's.
    if (!options.tokenRequired && host !== undefined && !hostServed(request, host)) {
      const error = new HydroplaneError(
        'misdirected_request',
        `this server does not answer for the host ${quoteName(host, 100)}: without an API token it serves 127.0.0.1, localhost and [::1] on its own port, ` +
          'and the names in allowed_hosts (docs/configuration.md)',
      );
      return reply.status(error.status).send(errorBody(error));
    }
    if (isPage(url)) return;
    const problem = crossSiteProblem(request.headers.origin, request.headers['sec-fetch-site'], host);
    if (problem) {
      const error = new HydroplaneError(
        'cross_site_request',
        `refused a request from another site (${problem}): the API answers programs and its own pages only`,
      );
      return reply.status(error.status).send(errorBody(error));
    }
  });
}

/** Why the request's target or Host is ambiguous, or undefined when it is a path with at most one Host. */
export function ambiguousTarget(target: string | undefined, rawHeaders: readonly string[]): string | undefined {
  if (target !== undefined && !target.startsWith('/')) {
    return `the request target must be a path starting with '/', not ${quoteName(target, 100)}; the server is named by the Host header`;
  }
  let hosts = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]!.toLowerCase() === 'host') hosts++;
  return hosts > 1 ? `the request has ${hosts} Host headers; send one` : undefined;
}

/** What makes a request cross-site in a browser's own words, or undefined when nothing does. */
export function crossSiteProblem(
  origin: string | undefined,
  fetchSite: string | string[] | undefined,
  host: string | undefined,
): string | undefined {
  // A browser that sends Sec-Fetch-Site computed it from the page's real URL, and no page can set
  // it: 'same-origin' holds even behind a proxy that rewrites Host (nginx's proxy_pass to
  // 127.0.0.1), where Origin and Host differ. same-site is refused: another port of localhost is
  // the same site. Anything else (a joined pair of values, say) is no browser's and is refused.
  if (fetchSite !== undefined) {
    if (fetchSite === 'same-origin' || fetchSite === 'none') return undefined;
    return `Sec-Fetch-Site: ${quoteName(String(fetchSite), 100)}`;
  }
  // Older browsers send Origin alone.
  if (origin === undefined) return undefined;
  if (host === undefined || !sameOrigin(origin, host)) return `Origin ${quoteName(origin, 100)}`;
  return undefined;
}

/** Whether an Origin is scheme://Host; https too, for a server behind a proxy that ends TLS. */
function sameOrigin(origin: string, host: string): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false; // "null", or not a URL
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== origin.toLowerCase().replace(/\/$/, '')) return false;
  const defaultPort = url.protocol === 'https:' ? ':443' : ':80';
  const requestHost = host.toLowerCase().endsWith(defaultPort) ? host.toLowerCase().slice(0, -defaultPort.length) : host.toLowerCase();
  return url.host === requestHost;
}
