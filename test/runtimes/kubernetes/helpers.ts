// Shared by the Kubernetes tests: clients on a stand-in, API errors as Status bodies, polling.
import { inspect } from 'node:util';
import { ApiException, AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { KubeStandin } from '../../support/kube-standin/index.ts';

export function clientsFor(api: KubeStandin): { kc: KubeConfig; apps: AppsV1Api; core: CoreV1Api } {
  const kc = new KubeConfig();
  kc.loadFromFile(api.kubeconfigPath);
  return { kc, apps: kc.makeApiClient(AppsV1Api), core: kc.makeApiClient(CoreV1Api) };
}

/** The HTTP status and parsed Status body of a call that must fail. */
export async function apiError(call: Promise<unknown>): Promise<{ code: number; status: any }> {
  try {
    await call;
  } catch (err) {
    if (err instanceof ApiException) {
      const body = (err as ApiException<unknown>).body;
      return { code: (err as ApiException<unknown>).code, status: typeof body === 'string' && body !== '' ? JSON.parse(body) : body };
    }
    throw err;
  }
  throw new Error('the call succeeded; expected an API error');
}

/** Polls until `check` returns a value other than undefined/false, or fails after the timeout. */
export async function waitFor<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  timeoutMs = 3000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${last instanceof Error ? last.message : inspect(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let counter = 0;
/** A name unique within the test run, valid as a DNS-1035 label. */
export function uniqueName(prefix = 'p'): string {
  counter++;
  return `${prefix}-${process.pid.toString(36)}-${counter}`;
}

/** client-node's model instances as plain JSON, for deepEqual. */
export function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
