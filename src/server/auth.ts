// Optional bearer-token access. The API can start any container, which is root on the host, so a
// server reachable from other machines must not be open to anyone who finds it.
import type { FastifyInstance } from 'fastify';
import { HydroplaneError, errorBody } from '../errors.ts';

/**
 * Routes that answer without a token: liveness and readiness probes carry none, nor does a browser loading the
 * dashboard's page and files (which hold no data; the page sends the token on its API calls).
 */
const OPEN_ROUTES = new Set(['/health', '/ready', '/', '/dashboard/*', '/dashboard/config']);

// node:crypto is loaded at the first use, not with the server: it is some twenty of Node's own
// modules, a part of every start that a server without a token never needs (bench/README.md,
// "Cold start").
const crypto = () => process.getBuiltinModule('node:crypto');

function digest(value: string): Buffer {
  return crypto().createHash('sha256').update(value, 'utf8').digest();
}

/** Constant-time comparison, also when the lengths differ (both sides are hashed first). */
export function tokenMatches(expected: string, presented: string): boolean {
  return crypto().timingSafeEqual(digest(expected), digest(presented));
}

export function installTokenAuth(app: FastifyInstance, token: string): void {
  app.addHook('onRequest', async (request, reply) => {
    if (OPEN_ROUTES.has(request.routeOptions.url ?? '')) return;
    const header = request.headers.authorization;
    const presented = header?.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : undefined;
    if (presented !== undefined && tokenMatches(token, presented)) return;
    const error = new HydroplaneError(
      'unauthorized',
      header === undefined
        ? "this server needs an API token: send 'Authorization: Bearer <token>' (hpctl: --token or HYDROPLANE_API_TOKEN)"
        : 'the API token is not valid',
    );
    return reply.status(error.status).header('www-authenticate', 'Bearer').send(errorBody(error));
  });
}
