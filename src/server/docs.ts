// The interactive API documentation at /docs: Swagger UI (the swagger-ui-dist package) reading
// /openapi.json. Its files are served from the package as they are, by @fastify/static; this
// plugin adds the page and the few lines that start the UI.
//
// Why not @fastify/swagger-ui: outside the bundle (it serves files next to its code), it loaded a
// second copy of @fastify/static and set up its routes at every start: about 50 ms and 10 MB of a
// cold start with a 300 ms budget (bench/README.md). Here Swagger UI's files are read only when
// somebody opens /docs.
import { createReadStream, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';
import { HydroplaneError } from '../errors.ts';

/** The package's folder, found by Node's own resolution (the server may run bundled). */
const UI_ROOT = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

/** Only the files the page loads; the package also holds sources, maps and licences. */
const UI_FILES = new Set([
  'swagger-ui.css',
  'swagger-ui-bundle.js',
  'swagger-ui-standalone-preset.js',
  'favicon-32x32.png',
  'favicon-16x16.png',
]);

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Hydroplane API</title>
<link rel="stylesheet" href="/docs/static/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/static/favicon-32x32.png" sizes="32x32">
<link rel="icon" type="image/png" href="/docs/static/favicon-16x16.png" sizes="16x16">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/static/swagger-ui-bundle.js"></script>
<script src="/docs/static/swagger-ui-standalone-preset.js"></script>
<script src="/docs/start.js"></script>
</body>
</html>
`;

// A script of its own rather than inline, so that the page's policy can forbid inline scripts.
const START = `window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: 'StandaloneLayout',
});
`;

const PAGE_HEADERS = {
  // Swagger UI sets styles from script and shows its images as data: URLs; it calls this server only.
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

// Redoc at /redoc, the original's other documentation page: its standalone bundle (React and all,
// about 1 MB) comes from the redoc package, a dev dependency whose heavy peers a server has no use
// for; the build copies the one file into dist/redoc/ (build/copy-redoc.ts), and a checkout
// without a build reads it from node_modules.
const REDOC_FILE = 'redoc.standalone.js';
export const REDOC_BUILT = fileURLToPath(new URL(`../../dist/redoc/${REDOC_FILE}`, import.meta.url));

function redocBundle(): string | undefined {
  if (existsSync(REDOC_BUILT)) return REDOC_BUILT;
  try {
    return createRequire(import.meta.url).resolve(`redoc/bundles/${REDOC_FILE}`);
  } catch {
    return undefined;
  }
}

const REDOC_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Hydroplane API</title>
<link rel="icon" href="data:,">
</head>
<body>
<div id="redoc"></div>
<script src="/redoc/${REDOC_FILE}"></script>
<script src="/redoc/start.js"></script>
</body>
</html>
`;

const REDOC_START = `Redoc.init('/openapi.json', { hideDownloadButton: false }, document.getElementById('redoc'));
`;

const REDOC_NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Hydroplane API</title></head>
<body>
<p>Redoc is not part of this installation: run <code>npm run build</code> in the Hydroplane checkout.
The same documentation is at <a href="/docs">/docs</a>, and the document itself at <a href="/openapi.json">/openapi.json</a>.</p>
</body></html>
`;

const REDOC_HEADERS = {
  // Redoc styles from script (styled-components) and runs its search index in a worker made from a blob.
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; " +
    "connect-src 'self'; worker-src blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

export const docs: FastifyPluginAsync = async (app) => {
  const page = { schema: { hide: true }, logLevel: 'warn' as const };
  for (const url of ['/docs', '/docs/']) {
    app.get(url, page, async (_request, reply) => reply.headers(PAGE_HEADERS).type('text/html; charset=utf-8').send(PAGE));
  }
  app.get('/docs/start.js', page, async (_request, reply) =>
    reply.header('x-content-type-options', 'nosniff').type('text/javascript; charset=utf-8').send(START),
  );
  for (const url of ['/redoc', '/redoc/']) {
    app.get(url, page, async (_request, reply) => {
      const built = redocBundle() !== undefined;
      return reply
        .headers(REDOC_HEADERS)
        .status(built ? 200 : 503)
        .type('text/html; charset=utf-8')
        .send(built ? REDOC_PAGE : REDOC_NOT_BUILT);
    });
  }
  app.get('/redoc/start.js', page, async (_request, reply) =>
    reply.header('x-content-type-options', 'nosniff').type('text/javascript; charset=utf-8').send(REDOC_START),
  );
  app.get(`/redoc/${REDOC_FILE}`, page, async (_request, reply) => {
    const file = redocBundle();
    if (file === undefined) throw new HydroplaneError('route_not_found', 'Redoc is not part of this installation: run npm run build');
    return reply
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', 'public, max-age=3600')
      .type('text/javascript; charset=utf-8')
      .send(createReadStream(file));
  });
  await app.register(fastifyStatic, {
    root: UI_ROOT,
    prefix: '/docs/static/',
    decorateReply: false,
    logLevel: 'warn',
    allowedPath: (path) => UI_FILES.has(path.replace(/^\//, '')),
  });
};
