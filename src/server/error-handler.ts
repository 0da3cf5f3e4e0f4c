// Every error leaves the server in the contract's shape: {error: <status>, details, code, fields?}.
import type { FastifyError, FastifyInstance } from 'fastify';
import { HydroplaneError, errorBody, httpStatusOf } from '../errors.ts';
import { shown } from '../spec/shown.ts';

/** Fastify's own errors for a bad request, by their code. */
const FASTIFY_ERRORS: Record<string, (err: FastifyError) => HydroplaneError> = {
  FST_ERR_CTP_BODY_TOO_LARGE: (err) => new HydroplaneError('payload_too_large', `request body is too large: ${err.message}`),
  FST_ERR_CTP_INVALID_JSON_BODY: () => new HydroplaneError('invalid_request', 'request body is not valid JSON'),
  FST_ERR_CTP_EMPTY_JSON_BODY: () =>
    new HydroplaneError('invalid_request', "request body is empty; send a JSON document with 'Content-Type: application/json'"),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: (err) =>
    new HydroplaneError('invalid_request', `${err.message}; send JSON with 'Content-Type: application/json'`),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => new HydroplaneError('invalid_request', 'request body does not match its Content-Length'),
};

export function toHydroplaneError(err: unknown): HydroplaneError {
  if (err instanceof HydroplaneError) return err;
  const fastifyError = err as Partial<FastifyError>;
  const known = fastifyError.code ? FASTIFY_ERRORS[fastifyError.code] : undefined;
  if (known) return known(err as FastifyError);
  if (err instanceof SyntaxError && (err as { statusCode?: number }).statusCode === 400) {
    return new HydroplaneError('invalid_request', `request body is not valid JSON: ${err.message}`);
  }
  const status = fastifyError.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new HydroplaneError('invalid_request', fastifyError.message ?? 'bad request');
  }
  return new HydroplaneError('internal', 'internal error; the server log has the details', { cause: err });
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err, request, reply) => {
    const error = toHydroplaneError(err);
    // A stack trace only for a bug (500); an unreachable runtime (503) is the world, not the code,
    // and its message already says what is wrong and what to do.
    if (error.status === 500) request.log.error({ err: error.cause ?? err, code: error.code }, error.message);
    else if (error.status >= 500) request.log.warn({ code: error.code }, error.message);
    else request.log.info({ code: error.code }, error.message);
    return reply.status(error.status).send(errorBody(error));
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    const body = errorBody(new HydroplaneError('route_not_found', `no route ${request.method} ${shown(path, 200)}; see /docs for the API`));
    return reply.status(httpStatusOf('route_not_found')).send(body);
  });
}
