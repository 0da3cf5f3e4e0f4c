// A small client for the REST API, used by hpctl, the tests and the benchmarks.
import type { ErrorBody } from './errors.ts';
import type { ProcessInfo } from './spec/process-info.ts';

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

/** "host:port", "http://host:port" or "https://..." -> a base URL. */
export function serverUrl(server: string): string {
  const withScheme = /^[a-z]+:\/\//i.test(server) ? server : `http://${server}`;
  return withScheme.replace(/\/+$/, '');
}

export class HydroplaneClient {
  readonly baseUrl: string;
  private readonly token: string | undefined;

  constructor(server: string, options: { token?: string } = {}) {
    this.baseUrl = serverUrl(server);
    this.token = options.token;
  }

  /** Sends a spec as it is, so that the server is the one judge of it. */
  start(spec: unknown): Promise<ProcessInfo> {
    return this.request('POST', '/process', spec) as Promise<ProcessInfo>;
  }

  list(group?: string): Promise<ProcessInfo[]> {
    return this.request('GET', group === undefined ? '/process' : `/group/${encodeURIComponent(group)}`) as Promise<ProcessInfo[]>;
  }

  get(name: string): Promise<ProcessInfo> {
    return this.request('GET', `/process/${encodeURIComponent(name)}`) as Promise<ProcessInfo>;
  }

  stop(name: string): Promise<{ stopped: string[] }> {
    return this.request('DELETE', `/process/${encodeURIComponent(name)}`) as Promise<{ stopped: string[] }>;
  }

  stopGroup(group: string): Promise<{ stopped: string[] }> {
    return this.request('DELETE', `/group/${encodeURIComponent(group)}`) as Promise<{ stopped: string[] }>;
  }

  async request(method: string, path: string, body?: unknown): Promise<unknown> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.token) headers['authorization'] = `Bearer ${this.token}`;
    let res: Response;
    try {
      res = await fetch(this.baseUrl + path, { method, headers, body: body === undefined ? null : JSON.stringify(body) });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new ConnectionError(`cannot reach the Hydroplane server at ${this.baseUrl}: ${cause?.code ?? cause?.message ?? String(error)}`, { cause: error });
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      // A proxy's HTML error page, say: keep the text.
    }
    if (!res.ok) throw new ApiError(res.status, parsed);
    return parsed;
  }
}
