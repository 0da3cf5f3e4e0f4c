// The HTTP application, apart from process concerns (listening, signals, configuration), so that
// tests drive it through inject() without sockets.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import swagger from '@fastify/swagger';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifySchemaCompiler,
  type FastifyServerOptions,
} from 'fastify';
import { createSerializerCompiler, jsonSchemaTransform } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { HydroplaneError, errorBody } from '../errors.ts';
import type { Runtime } from '../runtimes/runtime.ts';
import { specShapeError } from '../spec/json-shape.ts';
import { ProcessSpec } from '../spec/process-spec.ts';
import { parseOrThrow, type FieldValidation } from '../spec/validate.ts';
import { installTokenAuth } from './auth.ts';
import { dashboard } from './dashboard.ts';
import { docs } from './docs.ts';
import { FeedSlots } from './feed-slots.ts';
import { transformObject } from './openapi.ts';
import { installErrorHandling } from './error-handler.ts';
import { Metrics, metricsRoutes } from './metrics.ts';
import { installRequestOriginChecks } from './request-origin.ts';
import { RequestLog } from './request-log.ts';
import { groupRoutes } from './routes/groups.ts';
import { healthRoutes } from './routes/health.ts';
import { DEFAULT_MAX_EVENT_STREAMS, eventRoutes } from './routes/events.ts';
import { logRoutes } from './routes/logs.ts';
import { processRoutes } from './routes/processes.ts';
import { shown } from '../spec/shown.ts';
import { NameParam, noSuchProcessName } from './routes/shared.ts';

export interface AppOptions {
  runtime: Runtime;
  /** A pino logger, or false for none. */
  logger?: FastifyBaseLogger | false;
  /** Largest request body in bytes. */
  bodyLimit?: number;
  version?: string;
  /** When set, every route but /health, /ready and the dashboard's page and files needs 'Authorization: Bearer <token>'. */
  apiToken?: string;
  /** The web dashboard at /: false for none; root for built files other than dist/dashboard. */
  dashboard?: false | { root?: string };
  /** How long one runtime ping answers GET /ready, in ms (default 1000; 0: a ping per request). */
  readyFreshMs?: number;
  /** How often GET /process/{name}?wait=running asks the runtime, in ms (5 times as long while its event feed is open). Default 1000. */
  waitPollMs?: number;
  /** How often GET /events sends a comment on a quiet stream, in ms. Default 15000. */
  eventHeartbeatMs?: number;
  /** The most runtime event feeds open at once (the config's max_event_streams): GET /events past it gets 503, a wait polls. Default 256. */
  maxEventStreams?: number;
  /** Without an API token: Host names served besides loopback, "name" or "name:port" (the config's allowed_hosts). */
  allowedHosts?: readonly string[];
  /** The port that a loopback Host must name; by default the port that the request came in on (the bound one). */
  port?: number;
  /** Connection limits; see DEFAULT_TIMEOUTS. */
  timeouts?: Partial<ConnectionTimeouts>;
  /** What POST /process does with unknown spec fields when the request does not say (fieldValidation). Default Warn. */
  fieldValidation?: FieldValidation;
}

export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/** How long a client may take, in ms, at each point where a slow one would hold a connection. */
export interface ConnectionTimeouts {
  /** From the connection (or the previous answer) to the end of the request's headers. */
  headersMs: number;
  /** To the end of the request's body. Answers may take longer: a long-poll or a followed log is not cut. */
  requestMs: number;
  /** An idle keep-alive connection between requests. */
  keepAliveMs: number;
}

// Keep-alive outlasts the 60 s idle timeout of common load balancers and proxies, so that none
// reuses a connection that the server is closing.
export const DEFAULT_TIMEOUTS: ConnectionTimeouts = { headersMs: 15_000, requestMs: 60_000, keepAliveMs: 65_000 };

type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  // Validation goes through the schemas' own parser, so coercions and defaults apply and every
  // problem is reported with its path (a spec body is 422, a bad path or query 400).
  const validatorCompiler: FastifySchemaCompiler<z.ZodType> =
    ({ schema, httpPart }) =>
    (data) => {
      try {
        // A name that no runtime can hold names no process: 404, as for any missing one.
        if (schema === NameParam && !NameParam.safeParse(data).success)
          throw noSuchProcessName((data as { process_name?: unknown } | undefined)?.process_name);
        const body = httpPart === 'body';
        // The route validates a spec itself: how depends on the query's fieldValidation.
        if (body && schema === ProcessSpec) return { value: data };
        return {
          value: parseOrThrow(
            schema,
            data,
            body ? { subject: 'process spec' } : { code: 'invalid_request', subject: httpPart ?? 'request' },
          ),
        };
      } catch (error) {
        return { error: error as Error };
      }
    };
  const serializerCompiler = createSerializerCompiler({});
  // Ours from the start, so that fastify never loads its default compilers (ajv and
  // fast-json-stringify), which no route uses: they were a sixth of the server's start-up. Fastify
  // types these factories for ajv's compilers; the zod ones are called the same way.
  const compilersFactory = {
    buildValidator: () => validatorCompiler,
    buildSerializer: () => serializerCompiler,
  } as unknown as CompilersFactory;
  const timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  const app = Fastify({
    schemaController: { compilersFactory },
    // Node checks the headers and request timeouts every connectionsCheckingInterval (30 s by
    // default); fastify's connectionTimeout, an idle timeout on the socket, stays off because it
    // would cut a followed log that is silent for a while.
    http: {
      headersTimeout: timeouts.headersMs,
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(timeouts.headersMs / 4))),
    },
    requestTimeout: timeouts.requestMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    connectionTimeout: 0,
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    // Deep nesting is refused by the spec's shape; this bounds the parser's own work.
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    return503OnClosing: true,
    // A process launched by an older server may have a name of up to 253 characters.
    routerOptions: { maxParamLength: 300 },
    // Router errors (a malformed URL) in the contract's shape too.
    frameworkErrors: (error, request, reply) => {
      const message = shown(error.message, 300);
      const body = errorBody(new HydroplaneError('invalid_request', `bad request URL: ${message}`));
      void (reply as FastifyReply).status(body.error).send(body);
    },
    logController: new RequestLog(),
    // What Node's HTTP parser refuses (a NUL in the target, a malformed header, a request too slow
    // to arrive) never reaches a route: answer it in the contract's shape too, then close.
    clientErrorHandler: (error: NodeJS.ErrnoException, socket) => {
      if (error.code === 'ECONNRESET' || socket.destroyed) return;
      const problem =
        error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? new HydroplaneError('request_timeout', 'the request did not arrive in time')
          : error.code === 'HPE_HEADER_OVERFLOW'
            ? new HydroplaneError('headers_too_large', 'the request headers are too large')
            : new HydroplaneError(
                'invalid_request',
                `the request is not valid HTTP (${shown(error.code ?? 'malformed')}): check the URL's characters and the headers`,
              );
      const body = JSON.stringify(errorBody(problem));
      // As Node's own handler: no answer on a connection whose previous answer has begun (a
      // followed log, a long-poll); writing one would land in the middle of that answer.
      const answering = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
      if (socket.writable && !answering?.headersSent) {
        socket.write(
          `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        );
      }
      socket.destroy();
    },
  });

  installErrorHandling(app);
  // A body's shape is looked at before it is parsed: a megabyte of tiny values would build an
  // object graph ten times its size (src/spec/json-shape.ts). The only body is a process spec.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const refusal = specShapeError(body as string);
    if (refusal) done(refusal, undefined);
    else void parseJson(request, body as string, done);
  });
  const metrics = new Metrics();
  metrics.install(app);
  installRequestOriginChecks(app, {
    tokenRequired: Boolean(options.apiToken),
    ...(options.allowedHosts ? { allowedHosts: options.allowedHosts } : {}),
    ...(options.port !== undefined ? { port: options.port } : {}),
  });
  if (options.apiToken) installTokenAuth(app, options.apiToken);
  // Long-polls, followed logs and event streams end when the server closes, rather than holding the close up.
  const closing = new AbortController();
  app.addHook('preClose', async () => closing.abort());
  // Node counts a connection that has sent nothing yet as neither idle nor active: neither
  // closeIdleConnections nor the headers timeout ends it, and the close waited for it as long as the
  // client kept it open. At close, a connection in no answer is dropped, also one that comes after.
  const quiet = (socket: Socket) => !(socket as { _httpMessage?: unknown })._httpMessage;
  const sockets = new Set<Socket>();
  app.server.on('connection', (socket: Socket) => {
    if (closing.signal.aborted) return void socket.destroy();
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  app.addHook('preClose', async () => {
    for (const socket of sockets) if (quiet(socket)) socket.destroy();
  });
  // The close waits for every connection to end, and one whose long answer ended after the close
  // began stays open for keep-alive: close it once it is idle.
  app.addHook('onResponse', async () => {
    if (closing.signal.aborted) setImmediate(() => app.server.closeIdleConnections());
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Hydroplane',
        description: 'A small, stateless control plane that runs containers on Docker or Kubernetes.',
        version: options.version ?? '0.0.0',
      },
      tags: [
        { name: 'processes', description: 'Start, list and stop processes' },
        { name: 'groups', description: 'Processes that share a group' },
        { name: 'server', description: 'The server itself' },
      ],
    },
    transform: jsonSchemaTransform,
    transformObject,
  });
  await app.register(docs);
  app.get('/openapi.json', { schema: { hide: true }, logLevel: 'warn' }, async () => app.swagger());

  const deps = { runtime: metrics.instrument(options.runtime) };
  const feedSlots = new FeedSlots(options.maxEventStreams ?? DEFAULT_MAX_EVENT_STREAMS);
  await app.register(healthRoutes, { ...deps, readyFreshMs: options.readyFreshMs ?? 1000 });
  await app.register(processRoutes, {
    ...deps,
    waitPollMs: options.waitPollMs ?? 1000,
    closing: closing.signal,
    feedSlots,
    fieldValidation: options.fieldValidation ?? 'Warn',
  });
  await app.register(logRoutes, { ...deps, closing: closing.signal });
  await app.register(eventRoutes, {
    ...deps,
    closing: closing.signal,
    heartbeatMs: options.eventHeartbeatMs ?? 15_000,
    slots: feedSlots,
  });
  await app.register(groupRoutes, deps);
  await app.register(metricsRoutes, { ...deps, metrics });
  if (options.dashboard !== false) {
    const root = options.dashboard?.root;
    await app.register(dashboard, {
      auth: options.apiToken ? 'token' : 'none',
      version: options.version ?? '0.0.0',
      ...(root ? { root } : {}),
    });
  }
  return app;
}
