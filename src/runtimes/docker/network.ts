// The bridge network that every process joins, so that processes reach each other by name. It is
// made when missing, checked once per runtime (concurrent starts share the check), made again when
// the Engine says it disappeared, and left as one network when racing servers made it twice.
import type { RuntimeLogger } from '../logger.ts';
import type { EngineClient } from './engine-client.ts';
import { type ErrorContext, isNetworkAmbiguous, isNetworkExists, isNetworkNotFound, isNotFound, translateEngineError } from './errors.ts';

/** Whether an Engine error of a create or start means the network is missing or exists twice. */
export function isNetworkTrouble(err: unknown): boolean {
  return isNetworkNotFound(err) || isNetworkAmbiguous(err);
}

export class ProcessNetwork {
  readonly name: string;
  readonly #engine: EngineClient;
  readonly #logger: RuntimeLogger;
  /** Resolves once the network is known to exist; shared by concurrent callers. */
  #ready: Promise<void> | undefined;

  constructor(engine: EngineClient, name: string, logger: RuntimeLogger) {
    this.#engine = engine;
    this.name = name;
    this.#logger = logger;
  }

  /**
   * Resolves once the network exists, creating it when missing. Only the first call asks the
   * Engine (a failed check is asked again next time). Fails with a HydroplaneError in `ctx`'s words.
   */
  ensure(ctx: ErrorContext): Promise<void> {
    if (this.#ready === undefined) {
      const pending = this.#createIfMissing();
      this.#ready = pending;
      pending.catch(() => {
        if (this.#ready === pending) this.#ready = undefined;
      });
    }
    return this.#ready.catch((err: unknown) => {
      throw translateEngineError(err, { ...ctx, action: `${ctx.action} (creating network '${this.name}')` });
    });
  }

  /** After the Engine said `err` (see isNetworkTrouble): checks the network again and puts it right. */
  async repair(err: unknown, ctx: ErrorContext): Promise<void> {
    const what = isNetworkAmbiguous(err) ? 'the network exists more than once; keeping one' : 'the network disappeared; creating it again';
    this.#logger.warn({ network: this.name }, what);
    this.#ready = undefined;
    await this.ensure(ctx);
  }

  async #createIfMissing(): Promise<void> {
    const network = this.name;
    try {
      await this.#engine.inspectNetwork(network);
      return;
    } catch (err) {
      if (isNetworkAmbiguous(err)) return this.#removeDuplicates();
      if (!isNotFound(err)) throw err;
    }
    try {
      await this.#engine.createNetwork(network);
      this.#logger.info({ network }, 'created bridge network');
    } catch (err) {
      // Another server or request created it in between (Docker 409, Podman 500).
      if (!isNetworkExists(err)) throw err;
    }
    await this.#removeDuplicates();
  }

  /**
   * The Engine's duplicate-name check is not atomic: servers that create the network at the same
   * moment can each get one, and then no container can join it by name. Every racer keeps the same
   * one (see networkToKeep) and removes the others.
   */
  async #removeDuplicates(): Promise<void> {
    const network = this.name;
    const named = (await this.#engine.listNetworks(network)).filter((n) => n.Name === network);
    if (named.length < 2) return;
    // The list leaves Containers empty; only an inspect fills it in.
    const found = await Promise.all(named.map((n) => this.#engine.inspectNetwork(n.Id).catch(() => n)));
    const [kept, ...extra] = found.sort(networkToKeep);
    await Promise.all(
      extra.map(async (n) => {
        try {
          await this.#engine.removeNetwork(n.Id);
        } catch (err) {
          if (!isNotFound(err))
            this.#logger.warn({ network, id: n.Id.slice(0, 12), err: String(err) }, 'could not remove a duplicate network');
        }
      }),
    );
    this.#logger.warn(
      { network, kept: kept?.Id.slice(0, 12), removed: extra.map((n) => n.Id.slice(0, 12)) },
      'removed duplicate networks of the same name',
    );
  }
}

/** What networkToKeep reads of a network (Dockerode.NetworkInspectInfo has it). */
interface NetworkFacts {
  Id: string;
  /** RFC 3339, to the nanosecond. */
  Created: string;
  /** Filled in by an inspect only; the list leaves it empty. */
  Containers?: Readonly<Record<string, unknown>>;
}

/**
 * Orders networks of one name so that every racer keeps the same first one: one that containers
 * already use, else the oldest (to the nanosecond), else the lowest id.
 */
export function networkToKeep(a: NetworkFacts, b: NetworkFacts): number {
  return inUse(b) - inUse(a) || compareCreated(a.Created, b.Created) || (a.Id < b.Id ? -1 : a.Id > b.Id ? 1 : 0);
}

function inUse(network: NetworkFacts): number {
  return Object.keys(network.Containers ?? {}).length > 0 ? 1 : 0;
}

/** Orders the Engine's RFC 3339 times to the nanosecond (Date.parse stops at milliseconds). */
function compareCreated(a: string, b: string): number {
  const nanos = (t: string): bigint => {
    const m = /^([^.]*?)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(t);
    if (!m) return 0n;
    return BigInt(Date.parse(`${m[1]}${m[3]}`) || 0) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0').slice(0, 9));
  };
  const d = nanos(a) - nanos(b);
  return d < 0n ? -1 : d > 0n ? 1 : 0;
}
