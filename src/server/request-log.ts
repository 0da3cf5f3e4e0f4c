import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

/**
 * One log line per request, with its method, path, status and time, and nothing else: no query
 * string, header or body, where a token or a secret could hide.
 */
export class RequestLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const line = {
      method: request.method,
      path: request.url.split('?')[0],
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
    };
    // Routes registered with a higher log level (health, docs) drop the info line.
    if (error || reply.statusCode === 500) reply.log.error(line, 'request');
    else if (reply.statusCode >= 500) reply.log.warn(line, 'request');
    else reply.log.info(line, 'request');
  }

  /** A client that leaves a followed log (Ctrl-C on hpctl logs -f) is normal: not worth a line at info. */
  override streamError(error: Error & { code?: string }, request: FastifyRequest, reply: FastifyReply): void {
    if (error.code === 'ERR_STREAM_PREMATURE_CLOSE')
      reply.log.debug({ path: request.url.split('?')[0] }, 'the client left before the end of the stream');
    else reply.log.warn({ err: error }, 'a response ended with an error after its headers were sent');
  }
}
