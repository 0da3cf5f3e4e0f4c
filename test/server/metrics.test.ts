// GET /metrics: the Prometheus text of one app, with route patterns (never raw URLs), runtime
// call timings by outcome, and process counts from one list per scrape.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { HydroplaneError } from '../../src/errors.ts';
import { buildApp } from '../../src/server/app.ts';
import { FakeRuntime } from '../support/fake-runtime.ts';

async function setup(apiToken?: string) {
  const runtime = new FakeRuntime();
  const app = await buildApp({ runtime, logger: false, dashboard: false, ...(apiToken ? { apiToken } : {}) });
  return { runtime, app };
}

const spec = (name: string) => ({ process_name: name, group: 'g', container: { image_uri: 'nginx' } });

/** The value of one sample line, by its exact name and labels. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('GET /metrics', () => {
  it('counts requests by method, route pattern and status, in the Prometheus text format', async () => {
    const { app } = await setup();
    await app.inject({ method: 'POST', url: '/process', payload: spec('web') });
    await app.inject({ url: '/process/web' });
    await app.inject({ url: '/process/web' });
    await app.inject({ url: '/process/secret-name-1' });
    await app.inject({ url: '/process/web/logs?tail=5' });
    await app.inject({ url: '/no/such/route' });

    const res = await app.inject({ url: '/metrics' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    const text = res.body;
    assert.match(text, /^# HELP hydroplane_http_requests_total /m);
    assert.match(text, /^# TYPE hydroplane_http_requests_total counter$/m);
    assert.equal(sample(text, 'hydroplane_http_requests_total{method="POST",route="/process",status="201"}'), 1);
    assert.equal(sample(text, 'hydroplane_http_requests_total{method="GET",route="/process/:process_name",status="200"}'), 2);
    assert.equal(sample(text, 'hydroplane_http_requests_total{method="GET",route="/process/:process_name",status="404"}'), 1);
    assert.equal(sample(text, 'hydroplane_http_requests_total{method="GET",route="/process/:process_name/logs",status="200"}'), 1);
    assert.equal(sample(text, 'hydroplane_http_requests_total{method="GET",route="unmatched",status="404"}'), 1);
    assert.ok(!text.includes('secret-name-1') && !text.includes('/no/such/route') && !text.includes('tail='), 'no raw URL in a label');

    assert.match(text, /^# TYPE hydroplane_http_request_duration_seconds histogram$/m);
    assert.equal(
      sample(text, 'hydroplane_http_request_duration_seconds_count{method="GET",route="/process/:process_name",status="200"}'),
      2,
    );
    assert.equal(
      sample(text, 'hydroplane_http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/process/:process_name",status="200"}'),
      2,
    );
  });

  it('times runtime calls by runtime, operation and outcome', async () => {
    const { app } = await setup();
    await app.inject({ method: 'POST', url: '/process', payload: spec('web') });
    await app.inject({ method: 'POST', url: '/process', payload: spec('web') });
    await app.inject({ method: 'DELETE', url: '/process/nope' });
    await app.inject({ method: 'DELETE', url: '/group/g' });
    const text = (await app.inject({ url: '/metrics' })).body;
    assert.match(text, /^# TYPE hydroplane_runtime_call_duration_seconds histogram$/m);
    const count = (operation: string, outcome: string) =>
      sample(text, `hydroplane_runtime_call_duration_seconds_count{runtime="docker",operation="${operation}",outcome="${outcome}"}`);
    assert.equal(count('start', 'ok'), 1);
    assert.equal(count('start', 'process_exists'), 1);
    assert.equal(count('stop', 'process_not_found'), 1);
    assert.equal(count('stop_group', 'ok'), 1);
    // The scrape's own list.
    assert.equal(count('list', 'ok'), 1);
  });

  it('counts processes by status from the runtime at scrape time, and says the runtime is up', async () => {
    const { app, runtime } = await setup();
    for (const name of ['a', 'b', 'c']) await app.inject({ method: 'POST', url: '/process', payload: spec(name) });
    runtime.exit('c', 1);
    const text = (await app.inject({ url: '/metrics' })).body;
    assert.equal(sample(text, 'hydroplane_processes{status="RUNNING"}'), 2);
    assert.equal(sample(text, 'hydroplane_processes{status="EXITED"}'), 1);
    assert.equal(sample(text, 'hydroplane_processes{status="STARTING"}'), 0);
    assert.equal(sample(text, 'hydroplane_processes{status="FAILED"}'), 0);
    assert.equal(sample(text, 'hydroplane_runtime_up'), 1);

    await runtime.stop('a');
    const later = (await app.inject({ url: '/metrics' })).body;
    assert.equal(sample(later, 'hydroplane_processes{status="RUNNING"}'), 1);
  });

  it('still answers when the runtime cannot list: no process counts, runtime_up 0, the other metrics', async () => {
    const { app, runtime } = await setup();
    await app.inject({ method: 'POST', url: '/process', payload: spec('web') });
    assert.equal(sample((await app.inject({ url: '/metrics' })).body, 'hydroplane_processes{status="RUNNING"}'), 1);
    runtime.failWith = new HydroplaneError('runtime_unavailable', 'the fake runtime is away');
    const res = await app.inject({ url: '/metrics' });
    assert.equal(res.statusCode, 200);
    assert.equal(sample(res.body, 'hydroplane_runtime_up'), 0);
    assert.ok(!/^hydroplane_processes\{/m.test(res.body), 'no stale process counts');
    assert.equal(
      sample(res.body, 'hydroplane_runtime_call_duration_seconds_count{runtime="docker",operation="list",outcome="runtime_unavailable"}'),
      1,
    );
    assert.equal(sample(res.body, 'hydroplane_http_requests_total{method="POST",route="/process",status="201"}'), 1);

    runtime.failWith = undefined;
    assert.equal(sample((await app.inject({ url: '/metrics' })).body, 'hydroplane_runtime_up'), 1);
  });

  it('keeps each app to its own registry', async () => {
    const one = await setup();
    const two = await setup();
    await one.app.inject({ url: '/process' });
    await one.app.inject({ url: '/process' });
    await two.app.inject({ url: '/process' });
    assert.equal(
      sample(
        (await one.app.inject({ url: '/metrics' })).body,
        'hydroplane_http_requests_total{method="GET",route="/process",status="200"}',
      ),
      2,
    );
    assert.equal(
      sample(
        (await two.app.inject({ url: '/metrics' })).body,
        'hydroplane_http_requests_total{method="GET",route="/process",status="200"}',
      ),
      1,
    );
  });

  it('needs the API token like every route but /health', async () => {
    const { app } = await setup('t0ken');
    const refused = await app.inject({ url: '/metrics' });
    assert.equal(refused.statusCode, 401);
    assert.equal(refused.json().code, 'unauthorized');
    const res = await app.inject({ url: '/metrics', headers: { authorization: 'Bearer t0ken' } });
    assert.equal(res.statusCode, 200);
    // The refusal is counted too, under its route.
    assert.equal(sample(res.body, 'hydroplane_http_requests_total{method="GET",route="/metrics",status="401"}'), 1);
  });

  it('counts requests that the client cut short: a follow as 200, a wait left before its answer as 499', async () => {
    const runtime = new FakeRuntime();
    const app = await buildApp({ runtime, logger: false, dashboard: false, waitPollMs: 10 });
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      await app.inject({ method: 'POST', url: '/process', payload: spec('web') });
      const follow = new AbortController();
      await fetch(`${base}/process/web/logs?follow=true`, { signal: follow.signal });
      follow.abort();
      runtime.processes.set('web', { ...runtime.processes.get('web')!, status: 'STARTING' });
      const wait = new AbortController();
      const waiting = fetch(`${base}/process/web?wait=running`, { signal: wait.signal }).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 50));
      wait.abort();
      await waiting;
      const counted = async () => {
        const text = (await app.inject({ url: '/metrics' })).body;
        const logs = sample(text, 'hydroplane_http_requests_total{method="GET",route="/process/:process_name/logs",status="200"}');
        const left = sample(text, 'hydroplane_http_requests_total{method="GET",route="/process/:process_name",status="499"}');
        return logs === 1 && left === 1;
      };
      for (let i = 0; i < 100 && !(await counted()); i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(
        await counted(),
        (await app.inject({ url: '/metrics' })).body
          .split('\n')
          .filter((l) => l.startsWith('hydroplane_http_requests_total'))
          .join('\n'),
      );
    } finally {
      await app.close();
    }
  });

  it('is described in the OpenAPI document as text', async () => {
    const { app } = await setup();
    const doc = (await app.inject({ url: '/openapi.json' })).json();
    assert.ok(doc.paths['/metrics'].get.responses['200'].content['text/plain']);
    assert.ok(doc.paths['/process/{process_name}/logs'].get.responses['200'].content['text/plain']);
  });
});
