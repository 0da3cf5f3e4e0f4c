// A small client for the REST API, used by hpctl, the tests and the benchmarks.
import type { ErrorBody } from './errors.ts';
import type { AppliedProcessInfo, ProcessInfo, StartedProcessInfo } from './spec/process-info.ts';
import type { FieldValidation } from './spec/validate.ts';

export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;
  readonly body: unknown;

  constructor(status: number, body: unknown) {
    const details = (body as Partial<ErrorBody> | null)?.details;
    super(typeof details === 'string' ? details : `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export class ConnectionError extends Error {
  override readonly name = 'ConnectionError';
}

/**
 * An answer that a Hydroplane server would not give: a success that is not JSON, or an error
 * without the API's error shape (a proxy's or another web server's page, say).
 */
export class ForeignAnswer extends Error {
  override readonly name = 'ForeignAnswer';
  readonly status: number;
  readonly contentType: string;
  readonly text: string;

  constructor(url: string, status: number, contentType: string, text: string) {
    super(`the answer from ${url} (HTTP ${status}, ${contentType || 'no content type'}) is not from a Hydroplane server`);
    this.status = status;
    this.contentType = contentType;
    this.text = text;
  }
}

/** One request and its answer, as -d shows them; never the token. */
export interface Exchange {
  method: string;
  url: string;
  requestBody?: string | undefined;
  status?: number;
  contentType?: string;
  /** The answer's body when it was read whole (not a log stream). */
  responseBody?: string | undefined;
}

export interface ClientOptions {
  token?: string;
  /** Told of every request once its answer (or its failure) is known. */
  onExchange?: (exchange: Exchange) => void;
}

/** Whether a parsed error answer has the API's shape: {error, details}, as the original's too (code is ours). */
export function isErrorBody(body: unknown): body is ErrorBody {
  const b = body as Partial<ErrorBody> | null;
  return typeof b === 'object' && b !== null && typeof b.details === 'string' && typeof b.error === 'number';
}

export interface LogQuery {
  tail?: number;
  /** An ISO 8601 date-time with a time zone, or how long ago: 90 (seconds), 10m, 2h, 1d. */
  since?: string;
  follow?: boolean;
  timestamps?: boolean;
}

export interface WaitQuery {
  /** Long-poll: answer once the process is RUNNING, EXITED or FAILED, or after `timeout` seconds. */
  wait: 'running';
  timeout?: number;
}

/** "host:port", "http://host:port" or "https://..." -> a base URL. */
export function serverUrl(server: string): string {
  const withScheme = /^[a-z]+:\/\//i.test(server) ? server : `http://${server}`;
  return withScheme.replace(/\/+$/, '');
}

export class HydroplaneClient {
  readonly baseUrl: string;
  readonly #token: string | undefined;
  readonly #onExchange: ((exchange: Exchange) => void) | undefined;

  constructor(server: string, options: ClientOptions = {}) {
    this.baseUrl = serverUrl(server);
    this.#token = options.token;
    this.#onExchange = options.onExchange;
  }

  /**
   * Sends a spec as it is, so that the server is the one judge of it. `fieldValidation` says what
   * the server does with unknown fields (its own default when absent); with Warn, the answer's
   * `warnings` name those it dropped.
   */
  start(spec: unknown, options: { fieldValidation?: FieldValidation } = {}): Promise<StartedProcessInfo> {
    const query = options.fieldValidation === undefined ? '' : `?fieldValidation=${options.fieldValidation}`;
    return this.request('POST', `/process${query}`, spec) as Promise<StartedProcessInfo>;
  }

  /**
   * Applies a spec as the desired state of process `name` (PUT /process/{name}): the answer says
   * whether it was created, unchanged or replaced. The spec is sent as it is, as start() does; its
   * process_name must be `name`.
   */
  apply(name: string, spec: unknown, options: { fieldValidation?: FieldValidation } = {}): Promise<AppliedProcessInfo> {
    const query = options.fieldValidation === undefined ? '' : `?fieldValidation=${options.fieldValidation}`;
    return this.request('PUT', `/process/${encodeURIComponent(name)}${query}`, spec) as Promise<AppliedProcessInfo>;
  }

  list(group?: string): Promise<ProcessInfo[]> {
    return this.request('GET', group === undefined ? '/process' : `/group/${encodeURIComponent(group)}`) as Promise<ProcessInfo[]>;
  }

  get(name: string, wait?: WaitQuery, signal?: AbortSignal): Promise<ProcessInfo> {
    const query = wait === undefined ? '' : `?wait=${wait.wait}${wait.timeout === undefined ? '' : `&timeout=${wait.timeout}`}`;
    return this.request('GET', `/process/${encodeURIComponent(name)}${query}`, undefined, signal) as Promise<ProcessInfo>;
  }

  /** The log as text chunks, as they come; aborting `signal` ends it. */
  async logs(name: string, query: LogQuery = {}, signal?: AbortSignal): Promise<AsyncIterable<string>> {
    const params = new URLSearchParams();
    if (query.tail !== undefined) params.set('tail', String(query.tail));
    if (query.since !== undefined) params.set('since', query.since);
    if (query.follow !== undefined) params.set('follow', String(query.follow));
    if (query.timestamps !== undefined) params.set('timestamps', String(query.timestamps));
    const qs = params.size > 0 ? `?${params.toString()}` : '';
    const path = `/process/${encodeURIComponent(name)}/logs${qs}`;
    const res = await this.#send('GET', path, undefined, signal, 'text/plain');
    if (!res.ok) {
      const text = await res.text();
      this.#told('GET', path, undefined, res, text);
      throw this.#failure(path, res, text);
    }
    this.#told('GET', path, undefined, res, undefined);
    return textOf(res, signal);
  }

  stop(name: string): Promise<{ stopped: string[] }> {
    return this.request('DELETE', `/process/${encodeURIComponent(name)}`) as Promise<{ stopped: string[] }>;
  }

  stopGroup(group: string): Promise<{ stopped: string[] }> {
    return this.request('DELETE', `/group/${encodeURIComponent(group)}`) as Promise<{ stopped: string[] }>;
  }

  async request(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<unknown> {
    const res = await this.#send(method, path, body, signal);
    let text: string;
    try {
      text = await res.text();
    } catch (error) {
      if (signal?.aborted) throw error;
      throw new ConnectionError(`the connection to the Hydroplane server at ${this.baseUrl} broke: ${String(error)}`, { cause: error });
    }
    this.#told(method, path, body, res, text);
    if (!res.ok) throw this.#failure(path, res, text);
    const parsed = parseBody(text);
    // A web page where the API should be: hpctl pointed at another server, or a proxy's login page.
    if (typeof parsed === 'string' || parsed === null) {
      throw new ForeignAnswer(this.baseUrl + path, res.status, res.headers.get('content-type') ?? '', text);
    }
    return parsed;
  }

  /** The error of a failed answer: the server's, or a ForeignAnswer when it is not in the API's shape. */
  #failure(path: string, res: Response, text: string): Error {
    const parsed = parseBody(text);
    if (isErrorBody(parsed)) return new ApiError(res.status, parsed);
    return new ForeignAnswer(this.baseUrl + path, res.status, res.headers.get('content-type') ?? '', text);
  }

  #told(method: string, path: string, body: unknown, res: Response, text: string | undefined): void {
    this.#onExchange?.({
      method,
      url: this.baseUrl + path,
      requestBody: body === undefined ? undefined : JSON.stringify(body),
      status: res.status,
      contentType: res.headers.get('content-type') ?? '',
      responseBody: text,
    });
  }

  async #send(
    method: string,
    path: string,
    body: unknown,
    signal: AbortSignal | undefined,
    accept = 'application/json',
  ): Promise<Response> {
    const headers: Record<string, string> = { accept };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.#token) headers['authorization'] = `Bearer ${this.#token}`;
    try {
      return await fetch(this.baseUrl + path, {
        method,
        headers,
        body: body === undefined ? null : JSON.stringify(body),
        signal: signal ?? null,
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new ConnectionError(
        `cannot reach the Hydroplane server at ${this.baseUrl}: ${cause?.code ?? cause?.message ?? String(error)}`,
        { cause: error },
      );
    }
  }
}

function parseBody(text: string): unknown {
  try {
    return text === '' ? null : JSON.parse(text);
  } catch {
    // A proxy's HTML error page, say: keep the text.
    return text;
  }
}

/** A response body as text chunks; ends quietly when `signal` aborts. */
async function* textOf(res: Response, signal: AbortSignal | undefined): AsyncGenerator<string> {
  if (!res.body) return;
  const decoder = new TextDecoder();
  try {
    for await (const chunk of res.body) {
      const text = decoder.decode(chunk, { stream: true });
      if (text !== '') yield text;
    }
  } catch (error) {
    if (signal?.aborted) return;
    throw new ConnectionError(`the log stream from the server broke: ${String((error as { cause?: unknown }).cause ?? error)}`, {
      cause: error,
    });
  }
  const rest = decoder.decode();
  if (rest !== '') yield rest;
}
