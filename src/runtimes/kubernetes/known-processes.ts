// The uids of the objects of processes this server has seen as its own: so that a stop can delete
// them at once, by uid, instead of reading them first to tell that they are Hydroplane's.
//
// It is only a shortcut, never the truth: the cluster is. A delete by uid cannot touch another
// object (the API server refuses it, 409, when the name now holds another uid, and answers 404
// when nothing holds it), and then the stop reads the objects as it always did. So an entry that
// is stale (the process was stopped or replaced through another server, or by hand) costs one
// call, and a server that has just started, with none, does what it did before.
import type { V1Deployment, V1Service } from '@kubernetes/client-node';
import { usesOwnPullSecret } from './manifests.ts';

export interface KnownProcess {
  deploymentUid: string;
  /** Its Service's uid; undefined when it had none. */
  serviceUid: string | undefined;
  /** Whether its pods pull with the process's own image pull Secret, which a stop deletes too. */
  usesPullSecret: boolean;
}

/** The newest `limit` processes seen (started, looked up or listed), by name. */
export class KnownProcesses {
  readonly #byName = new Map<string, KnownProcess>();
  readonly #limit: number;

  constructor(limit = 4096) {
    this.#limit = limit;
  }

  /** What `deployment` and `service` (both checked to be the process's own) are now. */
  remember(name: string, deployment: V1Deployment, service: V1Service | undefined): void {
    const deploymentUid = deployment.metadata?.uid;
    if (deploymentUid === undefined) return;
    // Deleted first, so that the entry moves to the end: the Map's order is the age of the entries.
    this.#byName.delete(name);
    this.#byName.set(name, { deploymentUid, serviceUid: service?.metadata?.uid, usesPullSecret: usesOwnPullSecret(name, deployment) });
    if (this.#byName.size > this.#limit) this.#byName.delete(this.#byName.keys().next().value!);
  }

  /** The entry of `name`, removed: a stop uses it once, whatever it finds. */
  take(name: string): KnownProcess | undefined {
    const known = this.#byName.get(name);
    this.#byName.delete(name);
    return known;
  }

  forget(name: string): void {
    this.#byName.delete(name);
  }

  get size(): number {
    return this.#byName.size;
  }
}
