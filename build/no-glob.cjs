// Stands in for the glob package in the bundled server. @fastify/static loads glob as it loads,
// and calls it only with `wildcard: false`, to list a served folder at start-up; Hydroplane's
// dashboard and docs serve their files with the default wildcard route (src/server/dashboard.ts,
// docs.ts). The real package is 140 kB of the bundle to compile at every start.
'use strict';

async function glob() {
  throw new Error('glob is not part of the bundled server: serve static files with wildcard: true');
}

module.exports = { glob };
