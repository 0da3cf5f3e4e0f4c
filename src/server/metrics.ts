// Prometheus metrics of one app, in a registry of its own (never prom-client's global one), so that
// several apps in one process, as in the tests, keep their counts apart.
import type { FastifyInstance } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { z } from 'zod';
import { ErrorBody } from '../errors.ts';
import type { Runtime } from '../runtimes/runtime.ts';
import { ProcessStatus } from '../spec/process-info.ts';
import { InstrumentedRuntime, type RuntimeCallLabels } from './instrumented-runtime.ts';
import { NoQuery } from './routes/shared.ts';

type HttpLabels = 'method' | 'route' | 'status';

/** Route label of a request that matched no route: never the raw URL, which is unbounded. */
export const UNMATCHED_ROUTE = 'unmatched';
/** Status label of a request whose client went away before it was answered. */
export const CLIENT_CLOSED = 499;

export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter<HttpLabels>({
    name: 'hydroplane_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status'],
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram<HttpLabels>({
    name: 'hydroplane_http_request_duration_seconds',
    help: 'Time to answer an HTTP request (for a followed log or a wait, until its end), by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });
  readonly runtimeCalls = new Histogram<RuntimeCallLabels>({
    name: 'hydroplane_runtime_call_duration_seconds',
    help: "Time of a runtime call, by runtime type, operation and outcome ('ok' or the error code).",
    labelNames: ['runtime', 'operation', 'outcome'],
    // Starts include image pulls.
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers: [this.registry],
  });
  readonly eventFeeds = new Gauge<'runtime'>({
    name: 'hydroplane_event_feeds',
    help: "The runtime's event feeds open now: one per follower of GET /events (their opening is timed as the operation 'events').",
    labelNames: ['runtime'],
    registers: [this.registry],
  });
  readonly processes = new Gauge<'status'>({
    name: 'hydroplane_processes',
    help: 'Processes of the runtime by status, from one list at scrape time.',
    labelNames: ['status'],
    registers: [this.registry],
  });
  readonly runtimeUp = new Gauge({
    name: 'hydroplane_runtime_up',
    help: "1 when the runtime answered this scrape's list of processes, 0 when it failed.",
    registers: [this.registry],
  });

  /** The runtime, with every call timed into runtimeCalls. */
  instrument(runtime: Runtime): Runtime {
    return new InstrumentedRuntime(runtime, this.runtimeCalls, this.eventFeeds);
  }

  /**
   * Counts every request by its route pattern once its response closes: finished, or cut short by
   * the client (a followed log, a long-poll), which fastify's onResponse never sees. One that the
   * client left before any answer counts as 499, as nginx says it. Install before any hook that
   * may answer early (the token check), so that those answers count too.
   */
  install(app: FastifyInstance): void {
    app.addHook('onRequest', async (request, reply) => {
      reply.raw.once('close', () => {
        const status = reply.raw.headersSent ? reply.statusCode : CLIENT_CLOSED;
        const labels = { method: request.method, route: request.routeOptions.url ?? UNMATCHED_ROUTE, status: String(status) };
        this.httpRequests.inc(labels);
        this.httpDuration.observe(labels, reply.elapsedTime / 1000);
      });
    });
  }

  /** The text to scrape, with the process gauges from one list of the runtime. */
  async scrape(runtime: Runtime): Promise<string> {
    try {
      const processes = await runtime.list();
      this.processes.reset();
      for (const status of ProcessStatus.options) this.processes.set({ status }, processes.filter((p) => p.status === status).length);
      this.runtimeUp.set(1);
    } catch {
      // No process counts rather than stale ones; the runtime call's own metric has the error code.
      this.processes.reset();
      this.runtimeUp.set(0);
    }
    return this.registry.metrics();
  }
}

export const metricsRoutes: FastifyPluginAsyncZod<{ runtime: Runtime; metrics: Metrics }> = async (app, { runtime, metrics }) => {
  app.get(
    '/metrics',
    {
      schema: {
        summary: 'Metrics for Prometheus',
        operationId: 'get_metrics',
        description:
          'The Prometheus text format: HTTP requests and their durations by route pattern, runtime call durations by operation ' +
          'and outcome, processes by status and whether the runtime answered (one list per scrape). Needs the API token like every route but /health and /ready.',
        tags: ['server'],
        querystring: NoQuery,
        response: {
          200: { description: 'Prometheus text format 0.0.4.', content: { 'text/plain': { schema: z.string() } } },
          400: ErrorBody,
          401: ErrorBody,
        },
      },
      logLevel: 'warn',
    },
    async (_request, reply) => {
      const text = await metrics.scrape(runtime);
      return reply.header('content-type', metrics.registry.contentType).send(text);
    },
  );
};
