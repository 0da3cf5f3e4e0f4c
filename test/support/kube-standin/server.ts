// The HTTP face of the stand-in: routes, bearer-token authentication, injected faults, and a
// record of every request by verb and resource.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { findResource, type ResourceType } from './resources.ts';
import type { PodLogs } from './logs.ts';
import type { DeleteOptions, ListOptions, Registry } from './registry.ts';
import { ApiError, badRequest, failure, forbidden, statusFor, unauthorized } from './status.ts';
import type { WatchHub } from './watch.ts';

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

export interface RequestRecord {
  method: string;
  path: string;
  verb: Verb | undefined;
  /** "deployments", "pods", "deployments/status", "pods/log"; undefined for non-resource paths. */
  resource: string | undefined;
  namespace: string | undefined;
  name: string | undefined;
  labelSelector: string | undefined;
  /** The resourceVersion a list or watch asked for. */
  resourceVersion: string | undefined;
  status: number;
}

export interface FaultMatch {
  verb?: Verb;
  resource?: string;
  namespace?: string;
  name?: string;
  /** Fire this many times, then stop; default: until removed. */
  times?: number;
}

/** 403 answers the RBAC Forbidden Status for the verb and resource; other codes their Status. */
export type FaultEffect = { status: number; message?: string } | { hang: true } | { reset: true };

export interface Fault {
  match: FaultMatch;
  effect: FaultEffect;
  hits: number;
}

interface Route {
  res: ResourceType;
  namespace: string | undefined;
  name: string | undefined;
  subresource: string | undefined;
}

const NOT_FOUND = failure(404, 'NotFound', 'the server could not find the requested resource', {});
const MAX_BODY = 3 * 1024 * 1024;

function parseRoute(pathname: string): Route | undefined {
  let rest: string[];
  let group: string;
  const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'api' && parts[1] === 'v1') {
    group = '';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts[1] === 'apps' && parts[2] === 'v1') {
    group = 'apps';
    rest = parts.slice(3);
  } else {
    return undefined;
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [plural, name, subresource, extra] = rest;
  if (plural === undefined || extra !== undefined) return undefined;
  const res = findResource(group, plural);
  if (!res) return undefined;
  if (namespace !== undefined && !res.namespaced) return undefined;
  if (subresource !== undefined && subresource !== 'status' && !(subresource === 'log' && res.plural === 'pods')) return undefined;
  return { res, namespace, name, subresource };
}

function verbOf(method: string, route: Route, query: URLSearchParams): Verb | undefined {
  const item = route.name !== undefined;
  switch (method) {
    case 'GET':
      if (item) return 'get';
      return query.get('watch') === 'true' || query.get('watch') === '1' ? 'watch' : 'list';
    case 'POST':
      return item ? undefined : 'create';
    case 'PUT':
      return item ? 'update' : undefined;
    case 'PATCH':
      return item ? 'patch' : undefined;
    case 'DELETE':
      return item ? 'delete' : 'deletecollection';
    default:
      return undefined;
  }
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw failure(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw badRequest(`couldn't get version/kind; json parse error: ${(err as Error).message}`);
  }
}

export interface HandlerOptions {
  token: string;
  user: string;
  registry: Registry;
  faults: Fault[];
  requests: RequestRecord[];
  /** Responses held open by a "hang" fault, ended by close(). */
  hanging: Set<ServerResponse>;
  /** Decides which bearer tokens are accepted, instead of comparing them with `token`. */
  authenticate?: ((token: string) => boolean) | undefined;
  logs: PodLogs;
  watches: WatchHub;
}

export function makeHandler(o: HandlerOptions) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://standin');
    const method = req.method ?? 'GET';
    const route = parseRoute(url.pathname);
    const verb = route && verbOf(method, route, url.searchParams);
    const record: RequestRecord = {
      method,
      path: url.pathname,
      verb,
      resource: route && (route.subresource ? `${route.res.plural}/${route.subresource}` : route.res.plural),
      namespace: route?.namespace,
      name: route?.name,
      labelSelector: url.searchParams.get('labelSelector') ?? undefined,
      resourceVersion: url.searchParams.get('resourceVersion') ?? undefined,
      status: 0,
    };
    o.requests.push(record);
    const send = (code: number, body: unknown) => {
      record.status = code;
      const text = JSON.stringify(body);
      res.writeHead(code, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
        'cache-control': 'no-cache, private',
      });
      res.end(text);
    };
    try {
      const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      if (bearer === undefined || !(o.authenticate ? o.authenticate(bearer) : bearer === o.token)) throw unauthorized();
      const fault = o.faults.find((f) => matchesFault(f, record));
      if (fault) {
        fault.hits++;
        if ('hang' in fault.effect) {
          o.hanging.add(res);
          record.status = -1;
          return;
        }
        if ('reset' in fault.effect) {
          record.status = -1;
          req.socket.destroy();
          return;
        }
        if (fault.effect.status === 403 && route)
          throw forbidden(route.res, verb ?? method.toLowerCase(), o.user, route.name, route.namespace);
        throw statusFor(fault.effect.status, fault.effect.message);
      }
      if (url.pathname === '/version') {
        send(200, { major: '1', minor: '31', gitVersion: 'v1.31.0-standin', platform: 'linux/amd64' });
        return;
      }
      if (!route) throw NOT_FOUND;
      if (!verb) throw failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
      if (route.subresource === 'log') {
        if (verb !== 'get') throw failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
        o.logs.serve(o.registry, route.namespace ?? '', route.name!, url.searchParams, req, res);
        record.status = 200;
        return;
      }
      if (verb === 'watch') {
        o.watches.serve(route.res, route.namespace, url.searchParams, req, res);
        record.status = 200;
        return;
      }
      const body = method === 'GET' ? undefined : await readBody(req);
      const [code, reply] = dispatch(o.registry, verb, route, url.searchParams, body, req.headers['content-type'] ?? '');
      send(code, reply);
    } catch (err) {
      if (err instanceof ApiError) send(err.status.code, err.status);
      else send(500, statusFor(500, (err as Error).message).status);
    }
  };
}

function matchesFault(f: Fault, r: RequestRecord): boolean {
  const m = f.match;
  if (m.times !== undefined && f.hits >= m.times) return false;
  return (
    (m.verb === undefined || m.verb === r.verb) &&
    (m.resource === undefined || m.resource === r.resource) &&
    (m.namespace === undefined || m.namespace === r.namespace) &&
    (m.name === undefined || m.name === r.name)
  );
}

function listOptions(q: URLSearchParams): ListOptions {
  const o: ListOptions = {};
  const label = q.get('labelSelector');
  const field = q.get('fieldSelector');
  const limit = q.get('limit');
  const cont = q.get('continue');
  if (label !== null) o.labelSelector = label;
  if (field !== null) o.fieldSelector = field;
  if (limit !== null) o.limit = Number(limit);
  if (cont !== null) o.continue = cont;
  return o;
}

function deleteOptions(q: URLSearchParams, body: any): DeleteOptions {
  const o: DeleteOptions = { ...(body && typeof body === 'object' ? body : {}) };
  const policy = q.get('propagationPolicy');
  const grace = q.get('gracePeriodSeconds');
  const orphan = q.get('orphanDependents');
  if (policy !== null) o.propagationPolicy = policy;
  if (grace !== null) o.gracePeriodSeconds = Number(grace);
  if (orphan !== null) o.orphanDependents = orphan === 'true';
  if (q.get('dryRun') === 'All' || (Array.isArray(body?.dryRun) && body.dryRun.includes('All'))) o.dryRun = true;
  return o;
}

function dispatch(registry: Registry, verb: Verb, route: Route, q: URLSearchParams, body: unknown, contentType: string): [number, unknown] {
  const { res, namespace, name } = route;
  const dryRun = q.get('dryRun') === 'All';
  if (res.namespaced && namespace === undefined && verb !== 'list') {
    throw failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
  }
  switch (verb) {
    case 'list':
      return [200, registry.list(res, namespace, listOptions(q))];
    case 'watch':
      throw new Error('watches are served by watch.ts, not dispatched');
    case 'get':
      return [200, registry.get(res, namespace, name!)];
    case 'create': {
      const created = registry.create(res, namespace, body, dryRun);
      return [201, created];
    }
    case 'update':
      return [200, registry.update(res, namespace, name!, body, { subresource: route.subresource, dryRun })];
    case 'patch':
      return [200, registry.patch(res, namespace, name!, contentType.split(';')[0]!.trim(), body, dryRun)];
    case 'delete': {
      const reply = registry.delete(res, namespace, name!, deleteOptions(q, body));
      return [reply.code, reply.body];
    }
    case 'deletecollection':
      return [200, registry.deleteCollection(res, namespace, listOptions(q), deleteOptions(q, body))];
  }
}
