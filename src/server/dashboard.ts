// The web dashboard: the page at /, its built files under /dashboard/, and /dashboard/config,
// which tells the page whether to ask for a token. None of them holds data, so they are open
// without a token (see OPEN_ROUTES in auth.ts); the page reads everything through the API.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';

export interface DashboardOptions {
  /** Whether the API needs a token: the page then asks for one before it shows or stops anything. */
  auth: 'token' | 'none';
  version: string;
  /** The built dashboard; defaults to dist/dashboard in the package. */
  root?: string;
}

// Two levels up from src/server/ and from dist/server/ alike.
export const DEFAULT_DASHBOARD_ROOT = fileURLToPath(new URL('../../dist/dashboard/', import.meta.url));

// The page talks to this server only; no framing, so that nobody can dress up its stop buttons.
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Hydroplane</title></head>
<body>
<h1>Hydroplane</h1>
<p>The server runs, but its dashboard has not been built. Run <code>npm run build</code> (or
<code>npm ci</code>) in the Hydroplane checkout, then restart the server.</p>
<p>The API answers meanwhile: see <a href="/docs">/docs</a>.</p>
</body></html>
`;

export const dashboard: FastifyPluginAsync<DashboardOptions> = async (app, options) => {
  const root = options.root ?? DEFAULT_DASHBOARD_ROOT;
  const built = existsSync(join(root, 'index.html'));

  app.get('/dashboard/config', { schema: { hide: true }, logLevel: 'warn' }, async (_request, reply) => {
    void reply.header('cache-control', 'no-store');
    return { auth: options.auth, version: options.version };
  });

  if (!built) {
    app.get('/', { schema: { hide: true } }, async (_request, reply) =>
      reply.status(200).headers(PAGE_HEADERS).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(NOT_BUILT_PAGE),
    );
    return;
  }

  await app.register(fastifyStatic, {
    root,
    prefix: '/dashboard/',
    logLevel: 'warn',
    // After the library's own headers, for the static route and sendFile alike.
    setHeaders: (reply, path) => {
      if (path.endsWith('index.html')) void reply.headers(PAGE_HEADERS).header('cache-control', 'no-cache');
      // Vite names the built files by their content: they may be cached for good.
      else if (path.includes('/assets/')) void reply.header('cache-control', 'public, max-age=31536000, immutable');
    },
  });
  app.get('/', { schema: { hide: true } }, async (_request, reply) => reply.sendFile('index.html'));
};
