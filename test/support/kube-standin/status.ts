// metav1.Status bodies, written the way the API server writes them
// (k8s.io/apimachinery/pkg/api/errors and pkg/util/validation/field).
import type { ResourceType } from './resources.ts';

export interface StatusCause {
  reason?: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

/** A failed request: the HTTP status is `status.code`. */
export class ApiError extends Error {
  readonly status: Status;
  constructor(status: Status) {
    super(status.message ?? status.reason ?? 'error');
    this.status = status;
  }
}

export function failure(code: number, reason: string, message: string, details?: StatusDetails): ApiError {
  // Key order as the API writes it.
  const status: Status = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details === undefined ? {} : { details }),
    code,
  };
  return new ApiError(status);
}

export function success(details: StatusDetails): Status {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details, code: 200 };
}

/** "deployments.apps" or "services": how the API names a resource in messages. */
export function qualifiedResource(res: ResourceType): string {
  return res.group === '' ? res.plural : `${res.plural}.${res.group}`;
}

function resourceDetails(res: ResourceType, name?: string): StatusDetails {
  const details: StatusDetails = {};
  if (name !== undefined) details.name = name;
  if (res.group !== '') details.group = res.group;
  details.kind = res.plural;
  return details;
}

export function notFound(res: ResourceType, name: string): ApiError {
  return failure(404, 'NotFound', `${qualifiedResource(res)} "${name}" not found`, resourceDetails(res, name));
}

export function alreadyExists(res: ResourceType, name: string): ApiError {
  return failure(409, 'AlreadyExists', `${qualifiedResource(res)} "${name}" already exists`, resourceDetails(res, name));
}

export function conflict(res: ResourceType, name: string): ApiError {
  return failure(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualifiedResource(res)} "${name}": ` +
      'the object has been modified; please apply your changes to the latest version and try again',
    resourceDetails(res, name),
  );
}

export function forbidden(
  res: ResourceType,
  verb: string,
  user: string,
  name: string | undefined,
  namespace: string | undefined,
): ApiError {
  const subject = name === undefined ? qualifiedResource(res) : `${qualifiedResource(res)} "${name}"`;
  const scope = namespace === undefined ? 'at the cluster scope' : `in the namespace "${namespace}"`;
  return failure(
    403,
    'Forbidden',
    `${subject} is forbidden: User "${user}" cannot ${verb} resource "${res.plural}" in API group "${res.group}" ${scope}`,
    resourceDetails(res, name),
  );
}

export function unauthorized(): ApiError {
  return failure(401, 'Unauthorized', 'Unauthorized');
}

export function badRequest(message: string): ApiError {
  return failure(400, 'BadRequest', message);
}

export function internalError(message: string): ApiError {
  return failure(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] });
}

/** Generic failures by HTTP status, as a fault to inject. */
export function statusFor(code: number, message?: string): ApiError {
  switch (code) {
    case 500:
      return internalError(message ?? 'injected fault');
    case 503:
      return failure(503, 'ServiceUnavailable', message ?? 'the server is currently unable to handle the request');
    case 429:
      return failure(429, 'TooManyRequests', message ?? 'the server has received too many requests and has asked us to try again later');
    case 504:
      return failure(
        504,
        'Timeout',
        message ?? 'the server was unable to return a response in the time allotted, but may still be processing the request',
      );
    default:
      return failure(code, 'Unknown', message ?? `injected fault ${code}`);
  }
}

// field.Error: https://github.com/kubernetes/apimachinery/blob/master/pkg/util/validation/field/errors.go
export type FieldErrorType =
  | 'FieldValueRequired'
  | 'FieldValueInvalid'
  | 'FieldValueDuplicate'
  | 'FieldValueNotSupported'
  | 'FieldValueForbidden'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany';

export interface FieldError {
  type: FieldErrorType;
  field: string;
  value?: unknown;
  detail?: string;
  supported?: string[];
}

export const required = (field: string, detail?: string): FieldError => ({ type: 'FieldValueRequired', field, detail });
export const invalid = (field: string, value: unknown, detail: string): FieldError => ({ type: 'FieldValueInvalid', field, value, detail });
export const duplicate = (field: string, value: unknown): FieldError => ({ type: 'FieldValueDuplicate', field, value });
export const notSupported = (field: string, value: unknown, supported: string[]): FieldError => ({
  type: 'FieldValueNotSupported',
  field,
  value,
  supported,
});
export const forbiddenField = (field: string, detail: string): FieldError => ({ type: 'FieldValueForbidden', field, detail });
export const tooLong = (field: string, max: number): FieldError => ({
  type: 'FieldValueTooLong',
  field,
  detail: `may not be more than ${max} bytes`,
});

function formatValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value) ?? 'null';
}

/** field.Error.ErrorBody() in Kubernetes: the cause's message, without the field (not our errors.ts errorBody). */
export function fieldErrorMessage(e: FieldError): string {
  switch (e.type) {
    case 'FieldValueRequired':
      return e.detail ? `Required value: ${e.detail}` : 'Required value';
    case 'FieldValueInvalid':
      return `Invalid value: ${formatValue(e.value)}${e.detail ? `: ${e.detail}` : ''}`;
    case 'FieldValueDuplicate':
      return `Duplicate value: ${formatValue(e.value)}`;
    case 'FieldValueNotSupported':
      return `Unsupported value: ${formatValue(e.value)}: supported values: ${(e.supported ?? []).map((s) => JSON.stringify(s)).join(', ')}`;
    case 'FieldValueForbidden':
      return e.detail ? `Forbidden: ${e.detail}` : 'Forbidden';
    case 'FieldValueTooLong':
      return `Too long: ${e.detail ?? ''}`;
    case 'FieldValueTooMany':
      return `Too many: ${e.detail ?? ''}`;
  }
}

/** errors.NewInvalid: 422 with one cause per field error. */
export function invalidObject(res: ResourceType, name: string, errors: FieldError[]): ApiError {
  const lines = errors.map((e) => `${e.field}: ${fieldErrorMessage(e)}`);
  const summary = lines.length === 1 ? lines[0]! : `[${lines.join(', ')}]`;
  const details: StatusDetails = { name };
  if (res.group !== '') details.group = res.group;
  details.kind = res.kind;
  details.causes = errors.map((e) => ({ reason: e.type, message: fieldErrorMessage(e), field: e.field }));
  const kind = res.group === '' ? res.kind : `${res.kind}.${res.group}`;
  return failure(422, 'Invalid', `${kind} "${name}" is invalid: ${summary}`, details);
}
