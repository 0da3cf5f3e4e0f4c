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
    if (error || reply.statusCode >= 500) reply.log.error(line, 'request');
    else reply.log.info(line, 'request');
  }
}
