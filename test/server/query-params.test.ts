// Every route of the API refuses a query parameter it does not know: a typo (?wiat=running,
// ?tial=10) is a 400 that names it, never a request answered as if it had not been asked. The
// routes and their parameters come from the server's own OpenAPI document, so a route added later
// is covered without a change here.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/server/app.ts';
import { FakeRuntime } from '../support/fake-runtime.ts';

type Operation = { parameters?: Array<{ name: string; in: string }> };
type Document = { paths: Record<string, Record<string, Operation>> };

describe('unknown query parameters', () => {
  let app: FastifyInstance;
  let routes: Array<{ method: string; path: string; known: string[] }>;

  before(async () => {
    const runtime = new FakeRuntime();
    app = await buildApp({ runtime, logger: false, dashboard: false });
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json<Document>();
    routes = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, op]) => ({
        method: method.toUpperCase(),
        // Any name the rules accept; the route must refuse the query before it looks for the process.
        path: path.replace(/\{[^}]+\}/g, 'p1'),
        known: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
      })),
    );
    assert.ok(routes.length >= 8, JSON.stringify(routes));
  });
  after(() => app.close());

  it('are refused on every route with 400, naming the parameter', async () => {
    const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,20}$/);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), name, fc.string({ maxLength: 10 }), async (route, param, value) => {
        fc.pre(!route.known.includes(param));
        const url = `${route.path}?${new URLSearchParams({ [param]: value }).toString()}`;
        const res = await app.inject({ method: route.method as 'GET', url, ...(route.method === 'POST' ? { payload: {} } : {}) });
        assert.equal(res.statusCode, 400, `${route.method} ${url}: ${res.body}`);
        const body = res.json<{ code: string; fields: Array<{ path: string; message: string }> }>();
        assert.equal(body.code, 'invalid_request');
        assert.deepEqual(
          body.fields.map((f) => f.path),
          [param],
        );
        assert.match(body.fields[0]!.message, /^unknown field/);
      }),
      { numRuns: 300 },
    );
  });

  it('suggest the parameter meant when the name is a near miss', async () => {
    const cases: Array<[string, string, string]> = [
      ['GET', '/process/p1?wiat=running', 'wait'],
      ['GET', '/process/p1/logs?tial=3', 'tail'],
      ['POST', '/process?fieldvalidation=Strict', 'fieldValidation'],
    ];
    for (const [method, url, meant] of cases) {
      const res = await app.inject({ method: method as 'GET', url, ...(method === 'POST' ? { payload: {} } : {}) });
      assert.equal(res.statusCode, 400, res.body);
      assert.match(res.json<{ details: string }>().details, new RegExp(`did you mean '${meant}'`), res.body);
    }
  });

  it('leave known parameters and an empty query alone', async () => {
    assert.equal((await app.inject({ method: 'GET', url: '/process?' })).statusCode, 200);
    assert.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200);
    assert.equal((await app.inject({ method: 'GET', url: '/process/p1?wait=running&timeout=1' })).statusCode, 404);
  });
});
