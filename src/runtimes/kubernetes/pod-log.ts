// GET /api/v1/namespaces/{ns}/pods/{name}/log as an open stream. client-node's Log class is not
// used: it pipes the response body without an error handler, so aborting a follow throws an
// uncaught AbortError (it would take the server down when a client goes away), and it drops the
// API's Status body for every error but 500. This is the same request over node:http(s), with
// the KubeConfig's own TLS settings, agent and credentials (applyToHTTPSOptions).
import http, { type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import { ApiException, type KubeConfig } from '@kubernetes/client-node';

export interface PodLogQuery {
  namespace: string;
  pod: string;
  container: string;
  follow: boolean;
  timestamps: boolean;
  tailLines?: number;
  sinceSeconds?: number;
}

/**
 * Opens the log. Fails as client-node's API calls do, so that translateKubeError applies: an
 * ApiException with the API's Status for an error answer, a TimeoutError when no answer comes
 * within `timeoutMs`, the socket's error (ECONNREFUSED...) when there is no answer at all.
 */
export async function openPodLog(kc: KubeConfig, q: PodLogQuery, timeoutMs: number, signal?: AbortSignal): Promise<IncomingMessage> {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error('the kubeconfig names no cluster');
  const url = new URL(
    `${server.replace(/\/+$/, '')}/api/v1/namespaces/${encodeURIComponent(q.namespace)}/pods/${encodeURIComponent(q.pod)}/log`,
  );
  url.searchParams.set('container', q.container);
  url.searchParams.set('follow', String(q.follow));
  url.searchParams.set('timestamps', String(q.timestamps));
  if (q.tailLines !== undefined) url.searchParams.set('tailLines', String(q.tailLines));
  if (q.sinceSeconds !== undefined) url.searchParams.set('sinceSeconds', String(q.sinceSeconds));

  const options: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(options);
  const timeout = AbortSignal.timeout(timeoutMs);
  const opening = signal ? AbortSignal.any([signal, timeout]) : timeout;
  const request = (url.protocol === 'https:' ? https : http).request;

  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(
      url,
      { ...options, method: 'GET', headers: { ...headerObject(options.headers), accept: 'text/plain, */*' } },
      resolve,
    );
    const onAbort = () =>
      req.destroy(timeout.aborted ? Object.assign(new Error('no answer in time'), { name: 'TimeoutError' }) : opening.reason);
    opening.addEventListener('abort', onAbort, { once: true });
    req.once('response', () => opening.removeEventListener('abort', onAbort));
    req.once('error', (err) => {
      opening.removeEventListener('abort', onAbort);
      reject(err);
    });
    if (opening.aborted) onAbort();
    req.end();
  });

  if (res.statusCode === 200) return res;
  let body = '';
  try {
    for await (const chunk of res) body += String(chunk);
  } catch {
    // The Status body is a courtesy; the status code is what matters.
  }
  throw new ApiException(res.statusCode ?? 500, `HTTP ${res.statusCode}`, body, headersOf(res));
}

/** Request headers as an object: Node also takes them as a flat [name, value, ...] list. */
function headerObject(headers: https.RequestOptions['headers']): OutgoingHttpHeaders {
  if (!isHeaderList(headers)) return { ...headers };
  const out: OutgoingHttpHeaders = {};
  for (let i = 0; i + 1 < headers.length; i += 2) out[headers[i]!] = headers[i + 1];
  return out;
}

const isHeaderList = (headers: unknown): headers is readonly string[] => Array.isArray(headers);

function headersOf(res: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}
