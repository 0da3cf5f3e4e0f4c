// One HTTP request and its answer, for the API client: node:http (node:https for an https URL,
// loaded only then), not fetch. The Fetch standard refuses some ports outright ("bad port": 6000,
// 6665-6669, 10080 and others kept from old protocols), and a Hydroplane server may well listen on
// one of them; node:http reaches any port, as curl does.
import type { ClientRequest, IncomingMessage, OutgoingHttpHeaders, RequestOptions } from 'node:http';

/** An answer: its status line and headers, and its body as it arrives. */
export interface Answer {
  readonly status: number;
  /** 2xx. */
  readonly ok: boolean;
  readonly headers: Headers;
  /** The body's chunks (a Node stream: leaving an iteration of it early destroys it, and its connection). */
  readonly body: AsyncIterable<Uint8Array>;
}

type RequestFunction = (url: URL, options: RequestOptions, callback: (res: IncomingMessage) => void) => ClientRequest;

/**
 * Sends `payload` (if any) to `url` and resolves once the status line and headers have come.
 * Rejects with the socket's error (its `code`: ECONNREFUSED, ENOTFOUND, ...), or with an
 * AbortError when `signal` aborts first.
 */
export function exchange(
  url: URL,
  method: string,
  headers: OutgoingHttpHeaders,
  payload: string | undefined,
  signal: AbortSignal | undefined,
): Promise<Answer> {
  const { request } = process.getBuiltinModule(url.protocol === 'https:' ? 'node:https' : 'node:http') as { request: RequestFunction };
  return new Promise<Answer>((resolve, reject) => {
    const withLength = payload === undefined ? headers : { ...headers, 'content-length': Buffer.byteLength(payload) };
    const req = request(url, { method, headers: withLength, ...(signal ? { signal } : {}) }, (res) => {
      const answerHeaders = new Headers();
      for (const [name, value] of Object.entries(res.headers)) {
        if (Array.isArray(value)) for (const one of value) answerHeaders.append(name, one);
        else if (value !== undefined) answerHeaders.set(name, value);
      }
      const status = res.statusCode ?? 0;
      resolve({ status, ok: status >= 200 && status < 300, headers: answerHeaders, body: res });
    });
    req.once('error', reject);
    req.end(payload);
  });
}
