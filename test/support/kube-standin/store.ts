// The stand-in's "etcd": objects by resource, namespace and name, one resourceVersion counter,
// and change events for the controllers. Internal writes (controllers) bypass the API's checks
// the way real controllers' writes are trusted after their own validation.
import { randomUUID } from 'node:crypto';
import { RESOURCES, clone, type KubeObject, type ResourceType } from './resources.ts';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';
export interface StoreEvent {
  type: EventType;
  res: ResourceType;
  object: KubeObject;
}

export class Store {
  private readonly objects = new Map<string, KubeObject>();
  private version = 1000;
  private readonly listeners: Array<(e: StoreEvent) => void> = [];

  private key(res: ResourceType, namespace: string | undefined, name: string): string {
    return `${res.plural}/${res.namespaced ? (namespace ?? '') : ''}/${name}`;
  }

  get resourceVersion(): string {
    return String(this.version);
  }

  newUid(): string {
    return randomUUID();
  }

  onChange(listener: (e: StoreEvent) => void): void {
    this.listeners.push(listener);
  }

  get(res: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    const obj = this.objects.get(this.key(res, namespace, name));
    return obj && clone(obj);
  }

  /**
   * In etcd key order: namespace, then name. `where` is asked of the stored objects (it must not
   * change them) before any is copied: the controllers look for a few objects among thousands.
   */
  list(res: ResourceType, namespace?: string, where?: (o: KubeObject) => boolean): KubeObject[] {
    const prefix = namespace === undefined || !res.namespaced ? `${res.plural}/` : `${res.plural}/${namespace}/`;
    return [...this.objects.entries()]
      .filter(([k, o]) => k.startsWith(prefix) && (where === undefined || where(o)))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, o]) => clone(o));
  }

  /** Stores the object with a new resourceVersion; returns the stored copy. */
  put(res: ResourceType, obj: KubeObject): KubeObject {
    const key = this.key(res, obj.metadata.namespace, obj.metadata.name);
    const type: EventType = this.objects.has(key) ? 'MODIFIED' : 'ADDED';
    const stored = clone(obj);
    stored.metadata.resourceVersion = String(++this.version);
    this.objects.set(key, stored);
    this.emit({ type, res, object: clone(stored) });
    return clone(stored);
  }

  remove(res: ResourceType, obj: KubeObject): void {
    const key = this.key(res, obj.metadata.namespace, obj.metadata.name);
    const existing = this.objects.get(key);
    if (!existing) return;
    this.objects.delete(key);
    // As etcd's: the deletion is a change of its own, and the DELETED event's object carries its version.
    const deleted = clone(existing);
    deleted.metadata.resourceVersion = String(++this.version);
    this.emit({ type: 'DELETED', res, object: deleted });
  }

  /** Objects whose ownerReferences name this uid. */
  dependentsOf(uid: string): Array<{ res: ResourceType; object: KubeObject }> {
    const out: Array<{ res: ResourceType; object: KubeObject }> = [];
    for (const [key, o] of this.objects) {
      if (o.metadata.ownerReferences?.some((r) => r.uid === uid)) out.push({ res: this.resourceOfKey(key), object: clone(o) });
    }
    return out;
  }

  private resourceOfKey(key: string): ResourceType {
    const plural = key.slice(0, key.indexOf('/'));
    const res = RESOURCES.find((r) => r.plural === plural);
    if (!res) throw new Error(`no resource ${plural}`);
    return res;
  }

  private emit(e: StoreEvent): void {
    for (const l of this.listeners) l(e);
  }
}

/** Tracks timers so that close() stops them all and settle() can wait for queued work. */
export class Scheduler {
  private readonly timers = new Set<NodeJS.Timeout>();
  private immediate = 0;
  private closed = false;

  after(ms: number, fn: () => void): void {
    if (this.closed) return;
    if (ms <= 0) this.immediate++;
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (ms <= 0) this.immediate--;
      if (!this.closed) fn();
    }, ms);
    this.timers.add(t);
  }

  /** Resolves once no zero-delay work is queued (timed work such as pod start delays may remain). */
  async settle(): Promise<void> {
    for (let rounds = 0; rounds < 1000; rounds++) {
      await new Promise((r) => setTimeout(r, 1));
      if (this.immediate === 0) return;
    }
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
