// Pod logs, as the kubelet would keep them: lines with the time they were written, set by the
// tests per pod, served at GET /api/v1/namespaces/{ns}/pods/{name}/log with tailLines,
// sinceSeconds, timestamps and follow. A follow stays open for lines written later and ends when
// the pod is deleted, as the API server's does when the container goes.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from './registry.ts';
import { resourceOfKind, type KubeObject } from './resources.ts';
import { badRequest } from './status.ts';
import type { Store } from './store.ts';

type Json = any;

interface Line {
  at: Date;
  text: string;
}

interface Follower {
  res: ServerResponse;
  timestamps: boolean;
}

const PODS = resourceOfKind('Pod');

/** RFC3339Nano, as the kubelet writes it. */
const rfc3339Nano = (d: Date) => d.toISOString().replace(/Z$/, '000000Z');

/** "a\nb\nc" -> ["a\n", "b\n", "c"]: the newline stays with its line. */
function splitLines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

export class PodLogs {
  readonly #lines = new Map<string, Line[]>();
  readonly #followers = new Map<string, Set<Follower>>();

  constructor(store: Store) {
    store.onChange((e) => {
      if (e.type !== 'DELETED' || e.res !== PODS) return;
      const key = `${e.object.metadata.namespace}/${e.object.metadata.name}`;
      for (const f of this.#followers.get(key) ?? []) f.res.end();
      this.#followers.delete(key);
      this.#lines.delete(key);
    });
  }

  /** Replaces a pod's log; lines are stamped now. Followers see only later appends. */
  set(namespace: string, pod: string, text: string, at = new Date()): void {
    this.#lines.set(
      `${namespace}/${pod}`,
      splitLines(text).map((t) => ({ at, text: t })),
    );
  }

  /** Adds to a pod's log and sends the new lines to every follower. */
  append(namespace: string, pod: string, text: string, at = new Date()): void {
    const key = `${namespace}/${pod}`;
    const added = splitLines(text).map((t) => ({ at, text: t }));
    this.#lines.set(key, [...(this.#lines.get(key) ?? []), ...added]);
    for (const f of this.#followers.get(key) ?? []) f.res.write(render(added, f.timestamps));
  }

  /** How many follow requests are open, for a pod or in all. */
  followers(namespace?: string, pod?: string): number {
    let n = 0;
    for (const [key, set] of this.#followers) {
      if (namespace === undefined || key === `${namespace}/${pod}`) n += set.size;
    }
    return n;
  }

  /** Serves one log request; throws the API's error Status for a missing pod or a bad parameter. */
  serve(registry: Registry, namespace: string, pod: string, query: URLSearchParams, req: IncomingMessage, res: ServerResponse): void {
    const obj = registry.get(PODS, namespace, pod);
    checkContainer(obj, query.get('container'));
    const tail = intParam(query, 'tailLines');
    const since = intParam(query, 'sinceSeconds');
    if (since !== undefined && since < 1) throw badRequest('sinceSeconds: Invalid value: must be greater than 0');
    const timestamps = query.get('timestamps') === 'true';
    const follow = query.get('follow') === 'true';

    let lines = this.#lines.get(`${namespace}/${pod}`) ?? [];
    if (since !== undefined) {
      const from = Date.now() - since * 1000;
      lines = lines.filter((l) => l.at.getTime() >= from);
    }
    if (tail !== undefined) lines = tail === 0 ? [] : lines.slice(-tail);
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-cache, private' });
    res.write(render(lines, timestamps));
    if (!follow) {
      res.end();
      return;
    }
    const key = `${namespace}/${pod}`;
    const follower: Follower = { res, timestamps };
    const set = this.#followers.get(key) ?? new Set<Follower>();
    set.add(follower);
    this.#followers.set(key, set);
    const forget = () => set.delete(follower);
    req.on('close', forget);
    res.on('close', forget);
  }
}

function render(lines: Line[], timestamps: boolean): string {
  return lines.map((l) => (timestamps ? `${rfc3339Nano(l.at)} ${l.text}` : l.text)).join('');
}

function intParam(query: URLSearchParams, name: string): number | undefined {
  const raw = query.get(name);
  if (raw === null) return undefined;
  if (!/^-?\d+$/.test(raw)) throw badRequest(`${name}: Invalid value: "${raw}": strconv.ParseInt: parsing "${raw}": invalid syntax`);
  const value = Number(raw);
  if (name === 'tailLines' && value < 0) throw badRequest('tailLines: Invalid value: must be greater than or equal to 0');
  return value;
}

/** The container whose log is asked for; the API's 400s for a wrong one or one not started yet. */
function checkContainer(pod: KubeObject, asked: string | null): void {
  const containers: Json[] = pod.spec?.containers ?? [];
  const name = asked ?? (containers.length === 1 ? containers[0].name : undefined);
  if (name === undefined) {
    throw badRequest(
      `a container name must be specified for pod ${pod.metadata.name}, choose one of: [${containers.map((c) => c.name).join(' ')}]`,
    );
  }
  if (!containers.some((c) => c.name === name)) {
    throw badRequest(`container ${name} is not valid for pod ${pod.metadata.name}`);
  }
  const status: Json = pod.status?.containerStatuses?.find((c: Json) => c.name === name);
  const waiting = status?.state?.waiting;
  if (status === undefined || (waiting && status.restartCount === 0 && !status.lastState?.terminated)) {
    const reason = waiting?.reason ?? 'ContainerCreating';
    throw badRequest(`container "${name}" in pod "${pod.metadata.name}" is waiting to start: ${reason}`);
  }
}
