// A small client for the REST API, used by hpctl, the tests and the benchmarks.
import type { ErrorBody } from './errors.ts';
import { exchange, type Answer } from './http-exchange.ts';
import type { ProcessEvent } from './spec/process-event.ts';
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

  /** `text`: the answer's body, or its first ANSWER_SHOWN_CHARS when it ran past ANSWER_MAX_BYTES (`tooLarge`). */
  constructor(url: string, status: number, contentType: string, text: string, tooLarge = false) {
    super(
      `the answer from ${url} (HTTP ${status}, ${contentType || 'no content type'}) ` +
        (tooLarge ? `runs past ${ANSWER_MAX_BYTES / 1024 / 1024} MiB, which no Hydroplane answer does` : 'is not from a Hydroplane server'),
    );
    this.status = status;
    this.contentType = contentType;
    this.text = tooLarge ? `${text.slice(0, ANSWER_SHOWN_CHARS)}\n… (the rest left unread)` : text;
  }
}

/**
 * The most of one answer the client reads whole (not a log or event stream): far above any
 * Hydroplane answer (a list of 10,000 processes is a few MB), and a bound on what an address that
 * is not a Hydroplane server (a download, a stream that never ends) makes it read and hold.
 */
export const ANSWER_MAX_BYTES = 64 * 1024 * 1024;
/** How much of an answer that ran past ANSWER_MAX_BYTES its error keeps, to show what it was. */
const ANSWER_SHOWN_CHARS = 2000;

/** The answer's body as text, up to ANSWER_MAX_BYTES; past it, the rest is left unread and `whole` is false. */
async function bodyText(res: Answer): Promise<{ text: string; whole: boolean }> {
  const decoder = new TextDecoder();
  let text = '';
  let size = 0;
  // Leaving the loop early cancels the stream, and with it the connection's download.
  for await (const chunk of res.body) {
    size += chunk.byteLength;
    if (size > ANSWER_MAX_BYTES) return { text: text + decoder.decode(), whole: false };
    text += decoder.decode(chunk, { stream: true });
  }
  return { text: text + decoder.decode(), whole: true };
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

export interface EventQuery {
  group?: string;
  process?: string;
  /** Resume after this event id (sent as the Last-Event-ID header). */
  lastEventId?: string;
}

/** One event of GET /events, with the id to resume after. */
export type FollowedEvent = ProcessEvent & { id: string };

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
    if (!res.ok) throw await this.#failedAnswer('GET', path, res);
    this.#told('GET', path, undefined, res, undefined);
    return textOf(res, signal);
  }

  /**
   * GET /events: the process events as they come, once the server has answered 200 (an error
   * answer throws first). The iteration ends when the server ends the stream, quietly when `signal`
   * aborts; a broken connection throws a ConnectionError, an `event: error` the server's ApiError.
   */
  async events(query: EventQuery = {}, signal?: AbortSignal): Promise<AsyncIterable<FollowedEvent>> {
    const params = new URLSearchParams();
    if (query.group !== undefined) params.set('group', query.group);
    if (query.process !== undefined) params.set('process', query.process);
    const path = `/events${params.size > 0 ? `?${params.toString()}` : ''}`;
    const headers: Record<string, string> = query.lastEventId === undefined ? {} : { 'last-event-id': query.lastEventId };
    const res = await this.#send('GET', path, undefined, signal, 'text/event-stream', headers);
    if (!res.ok) throw await this.#failedAnswer('GET', path, res);
    this.#told('GET', path, undefined, res, undefined);
    const type = res.headers.get('content-type') ?? '';
    if (!type.startsWith('text/event-stream')) {
      const { text, whole } = await bodyText(res);
      throw new ForeignAnswer(this.baseUrl + path, res.status, type, text, !whole);
    }
    return followedEvents(serverSentEvents(textOf(res, signal, 'event')));
  }

  stop(name: string): Promise<{ stopped: string[] }> {
    return this.request('DELETE', `/process/${encodeURIComponent(name)}`) as Promise<{ stopped: string[] }>;
  }

  stopGroup(group: string): Promise<{ stopped: string[] }> {
    return this.request('DELETE', `/group/${encodeURIComponent(group)}`) as Promise<{ stopped: string[] }>;
  }

  async request(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<unknown> {
    const res = await this.#send(method, path, body, signal);
    const text = await this.#whole(method, path, body, res, signal);
    if (!res.ok) throw this.#failure(path, res, text);
    const parsed = parseBody(text);
    // A web page where the API should be: hpctl pointed at another server, or a proxy's login page.
    if (typeof parsed === 'string' || parsed === null) {
      throw new ForeignAnswer(this.baseUrl + path, res.status, res.headers.get('content-type') ?? '', text);
    }
    return parsed;
  }

  /**
   * The answer's whole body, told to onExchange. An answer past ANSWER_MAX_BYTES is no Hydroplane
   * answer: a ForeignAnswer. A connection that breaks meanwhile is a ConnectionError.
   */
  async #whole(method: string, path: string, body: unknown, res: Answer, signal?: AbortSignal): Promise<string> {
    let read: { text: string; whole: boolean };
    try {
      read = await bodyText(res);
    } catch (error) {
      if (signal?.aborted) throw error;
      throw new ConnectionError(`the connection to the Hydroplane server at ${this.baseUrl} broke: ${String(error)}`, { cause: error });
    }
    this.#told(method, path, body, res, read.whole ? read.text : `${read.text.slice(0, ANSWER_SHOWN_CHARS)}…`);
    if (!read.whole) throw new ForeignAnswer(this.baseUrl + path, res.status, res.headers.get('content-type') ?? '', read.text, true);
    return read.text;
  }

  /** The error of an answer that is not 2xx, its body read (within ANSWER_MAX_BYTES). */
  async #failedAnswer(method: string, path: string, res: Answer): Promise<Error> {
    try {
      return this.#failure(path, res, await this.#whole(method, path, undefined, res));
    } catch (error) {
      return error as Error;
    }
  }

  /** The error of a failed answer: the server's, or a ForeignAnswer when it is not in the API's shape. */
  #failure(path: string, res: Answer, text: string): Error {
    const parsed = parseBody(text);
    if (isErrorBody(parsed)) return new ApiError(res.status, parsed);
    return new ForeignAnswer(this.baseUrl + path, res.status, res.headers.get('content-type') ?? '', text);
  }

  #told(method: string, path: string, body: unknown, res: Answer, text: string | undefined): void {
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
    extraHeaders: Record<string, string> = {},
  ): Promise<Answer> {
    const headers: Record<string, string> = { ...extraHeaders, accept };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.#token) headers['authorization'] = `Bearer ${this.#token}`;
    try {
      return await exchange(new URL(this.baseUrl + path), method, headers, body === undefined ? undefined : JSON.stringify(body), signal);
    } catch (error) {
      if (signal?.aborted) throw error;
      const why = (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
      throw new ConnectionError(`cannot reach the Hydroplane server at ${this.baseUrl}: ${why}`, { cause: error });
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
async function* textOf(res: Answer, signal: AbortSignal | undefined, what: 'log' | 'event' = 'log'): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  try {
    for await (const chunk of res.body) {
      const text = decoder.decode(chunk, { stream: true });
      if (text !== '') yield text;
    }
  } catch (error) {
    if (signal?.aborted) return;
    throw new ConnectionError(`the ${what} stream from the server broke: ${String((error as { cause?: unknown }).cause ?? error)}`, {
      cause: error,
    });
  }
  const rest = decoder.decode();
  if (rest !== '') yield rest;
}

/** The longest line, and the most data of one message, that serverSentEvents takes: a Hydroplane event is well under 1 KiB. */
export const EVENT_MAX_CHARS = 1024 * 1024;

/** An event stream that sent a line or a message past EVENT_MAX_CHARS. */
export class OversizeEvent extends Error {
  override readonly name = 'OversizeEvent';
  constructor(what: 'a line' | 'a message') {
    super(
      `the event stream sent ${what} of more than ${EVENT_MAX_CHARS / 1024 / 1024} MiB, which no Hydroplane event is; is it a Hydroplane server?`,
    );
  }
}

/** One message of a text/event-stream: its fields as the stream gave them. */
export interface ServerSentEvent {
  /** The type: 'message' when the stream named none. */
  event: string;
  data: string;
  /** The last id the stream set (it carries over to later messages, as EventSource keeps it). */
  id: string | undefined;
}

/**
 * Text chunks of a text/event-stream -> its messages, parsed as the HTML standard's EventSource
 * does: lines end with LF, CR or CRLF; a blank line dispatches; ':' starts a comment; a field's
 * value loses one leading space; several data lines join with LF; a message without data is none.
 */
export async function* serverSentEvents(chunks: AsyncIterable<string>): AsyncGenerator<ServerSentEvent> {
  let pending = '';
  let event = '';
  let data: string[] = [];
  let dataLength = 0;
  let id: string | undefined;
  for await (const chunk of chunks) {
    pending += chunk;
    // A line or a message that never ends is no server's event: said, rather than held until memory runs out.
    if (pending.length > EVENT_MAX_CHARS && pending.search(/\r|\n/) < 0) throw new OversizeEvent('a line');
    for (;;) {
      const end = pending.search(/\r\n|\r|\n/);
      // A CR at the very end may be the first half of a CRLF: wait for more.
      if (end < 0 || (end === pending.length - 1 && pending[end] === '\r')) break;
      const line = pending.slice(0, end);
      pending = pending.slice(end + (pending.startsWith('\r\n', end) ? 2 : 1));
      if (line === '') {
        if (data.length > 0) yield { event: event || 'message', data: data.join('\n'), id };
        event = '';
        data = [];
        dataLength = 0;
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') event = value;
      else if (field === 'data') {
        dataLength += value.length + 1;
        if (dataLength > EVENT_MAX_CHARS) throw new OversizeEvent('a message');
        data.push(value);
      } else if (field === 'id' && !value.includes('\0')) id = value;
    }
  }
}

/** Messages of GET /events -> process events; an `error` message throws the server's error. */
async function* followedEvents(messages: AsyncIterable<ServerSentEvent>): AsyncGenerator<FollowedEvent> {
  for await (const message of messages) {
    if (message.event === 'error') {
      const body = parseBody(message.data);
      throw isErrorBody(body) ? new ApiError(body.error, body) : new ConnectionError(`the event stream failed: ${message.data}`);
    }
    if (message.event !== 'process') continue;
    const data = parseBody(message.data);
    if (typeof data !== 'object' || data === null) continue;
    yield { ...(data as ProcessEvent), id: message.id ?? '' };
  }
}
