// The server's API as the dashboard uses it: same origin, the token (if any) as a bearer header on
// every call, and errors carrying the body's `details`.
import type { ErrorBody } from '../errors.ts';
import type { AppliedProcessInfo, ProcessInfo } from '../spec/process-info.ts';

export type { ProcessInfo };

export type FieldProblem = NonNullable<ErrorBody['fields']>[number];

/** What PUT /process/{name} answers. */
export type Applied = AppliedProcessInfo;

export type FieldValidation = 'Strict' | 'Warn';

export interface DashboardConfig {
  auth: 'token' | 'none';
  version: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string | undefined;

  /** For an invalid request: each offending field, as the server names it. */
  readonly fields: FieldProblem[];

  constructor(status: number, message: string, code?: string, fields: FieldProblem[] = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.fields = fields;
  }
}

// Per tab and gone when it closes: the token is a key to the host's root.
const TOKEN_KEY = 'hydroplane.api-token';

export const token = {
  get(): string | null {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  set(value: string): void {
    sessionStorage.setItem(TOKEN_KEY, value);
  },
  clear(): void {
    sessionStorage.removeItem(TOKEN_KEY);
  },
};

async function errorFrom(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { details?: unknown; code?: unknown; fields?: unknown };
    if (typeof body.details === 'string') {
      const fields = Array.isArray(body.fields)
        ? body.fields.filter((f): f is FieldProblem => typeof f?.path === 'string' && typeof f?.message === 'string')
        : [];
      return new ApiError(response.status, body.details, typeof body.code === 'string' ? body.code : undefined, fields);
    }
  } catch {
    // not the API's error shape: a proxy's page, say
  }
  const excerpt = text.trim().slice(0, 200);
  return new ApiError(response.status, `${response.status} ${response.statusText}${excerpt ? `: ${excerpt}` : ''}`);
}

async function call(path: string, init: RequestInit = {}, withToken = true): Promise<Response> {
  const headers = new Headers(init.headers);
  const bearer = withToken ? token.get() : null;
  if (bearer) headers.set('authorization', `Bearer ${bearer}`);
  let response: Response;
  try {
    response = await fetch(path, { ...init, headers, cache: 'no-store' });
  } catch (error) {
    if (init.signal?.aborted) throw error;
    throw new ApiError(0, `the server does not answer (${(error as Error).message})`);
  }
  if (!response.ok) throw await errorFrom(response);
  return response;
}

const json = async <T>(response: Response): Promise<T> => (await response.json()) as T;
const name = (value: string) => encodeURIComponent(value);

export const api = {
  config: () => call('/dashboard/config', {}, false).then(json<DashboardConfig>),
  list: () => call('/process').then(json<ProcessInfo[]>),
  get: (process: string) => call(`/process/${name(process)}`).then(json<ProcessInfo>),
  stop: (process: string) => call(`/process/${name(process)}`, { method: 'DELETE' }).then(json<{ stopped: string[] }>),
  stopGroup: (group: string) => call(`/group/${name(group)}`, { method: 'DELETE' }).then(json<{ stopped: string[] }>),
  /** The log as a response to read: to its end, or as it grows when following. */
  logs: (process: string, options: { tail: number; follow: boolean }, signal: AbortSignal) =>
    call(`/process/${name(process)}/logs?tail=${options.tail}&follow=${options.follow}`, { signal }),
  /** The spec as the desired state of the process it names (the server's apply). */
  apply: (process: string, specText: string, fieldValidation: FieldValidation) =>
    call(`/process/${name(process)}?fieldValidation=${fieldValidation}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: specText,
    }).then(json<Applied>),
};

/** GET /events as a response to read: one group's events, or all ('');  `lastEventId` resumes after the event that had it. */
export function openEvents(options: { lastEventId: string; group: string }, signal: AbortSignal): Promise<Response> {
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  if (options.lastEventId) headers['last-event-id'] = options.lastEventId;
  return call(options.group ? `/events?group=${name(options.group)}` : '/events', { headers, signal });
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
