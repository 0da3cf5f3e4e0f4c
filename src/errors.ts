// The error catalogue. Every failure that reaches a user is a HydroplaneError with one of these
// codes; each backend translates its own errors at its edge, so no raw engine or API error (and
// none of its status codes) reaches the HTTP layer.
import { z } from 'zod';

const CATALOGUE = {
  invalid_spec: 422,
  invalid_request: 400,
  unauthorized: 401,
  cross_site_request: 403,
  route_not_found: 404,
  process_not_found: 404,
  process_exists: 409,
  name_taken: 409,
  port_in_use: 409,
  request_timeout: 408,
  payload_too_large: 413,
  misdirected_request: 421,
  headers_too_large: 431,
  image_not_found: 422,
  registry_auth_failed: 422,
  secret_not_found: 422,
  secrets_unavailable: 422,
  unsupported: 422,
  runtime_forbidden: 502,
  runtime_error: 502,
  runtime_unavailable: 503,
  too_many_event_streams: 503,
  runtime_timeout: 504,
  internal: 500,
  /** A configuration that the server cannot start with; never sent over HTTP. */
  invalid_config: 500,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof CATALOGUE;

export interface FieldProblem {
  /** Where in the request, e.g. "container.ports[0].host_port". */
  path: string;
  message: string;
}

export class HydroplaneError extends Error {
  override readonly name = 'HydroplaneError';
  readonly code: ErrorCode;
  readonly fields: FieldProblem[] | undefined;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; fields?: FieldProblem[] } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.fields = options.fields;
  }

  get status(): number {
    return CATALOGUE[this.code];
  }
}

export function httpStatusOf(code: ErrorCode): number {
  return CATALOGUE[code];
}

export const ErrorBody = z
  .object({
    error: z.number().int().describe('The HTTP status, as a number.'),
    details: z.string().describe('What went wrong, for people.'),
    code: z.string().optional().describe('What went wrong, for programs: a stable code from the error catalogue.'),
    fields: z
      .array(
        z
          .object({
            path: z.string().describe("Where: 'container.ports[0].host_port'; '' for a count of more problems."),
            message: z.string(),
          })
          .describe('One offending field.')
          .meta({ id: 'FieldProblem' }),
      )
      .optional()
      .describe('For an invalid request: every offending field with its path.'),
  })
  .describe('An error.')
  .meta({ id: 'ErrorBody' });
export type ErrorBody = z.infer<typeof ErrorBody>;

export function errorBody(err: HydroplaneError): ErrorBody {
  const body: ErrorBody = { error: err.status, details: err.message, code: err.code };
  if (err.fields) body.fields = err.fields;
  return body;
}
