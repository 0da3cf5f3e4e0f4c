// The docker runtime: one container per process on a shared bridge network, over the Engine
// calls of engine-client.ts. The Engine is the only store; nothing here outlives a call except the
// knowledge that the network exists (network.ts), which is checked again whenever the Engine says
// otherwise.
import DockerModem from 'docker-modem';
import type Dockerode from 'dockerode';
import { HydroplaneError } from '../../errors.ts';
import { PROCESS_LABEL, dockerLabelFilter } from '../../labels.ts';
import type { SecretStore } from '../../secrets/secret-store.ts';
import type { DockerRuntimeConfig } from '../../config/schema.ts';
import { type ProcessInfo, byProcessName } from '../../spec/process-info.ts';
import type { ProcessSpec } from '../../spec/process-spec.ts';
import { GROUP_CONCURRENCY, settleBounded } from '../bounded.ts';
import { logText, noText, textLines, utf8Text } from '../log-text.ts';
import {
  foreignEventId,
  type EventOptions,
  type ListFilter,
  type LogOptions,
  type Runtime,
  type RuntimeEvent,
  type StartOptions,
} from '../runtime.ts';
import { describeEngine, engineConnection } from './connection.ts';
import {
  type ContainerFacts,
  asListed,
  factsFromInspect,
  factsFromListEntry,
  withTimes,
  isOurs,
  needsPublicHost,
  processInfo,
  withStartError,
} from './container-info.ts';
import { containerCreateOptions } from './container-options.ts';
import { startRecord } from '../start-record.ts';
import { EngineClient, type RegistryAuth } from './engine-client.ts';
import { ENGINE_ACTIONS, EngineEventFeed, engineLabelFilter, parseCursor, parseEngineEventLine } from './event-mapping.ts';
import {
  type ErrorContext,
  EngineError,
  boundedText,
  isAmbiguousIdPrefix,
  isMarkedForRemoval,
  isImageMissing,
  isNameInUse,
  isNotFound,
  isRemovalInProgress,
  translateEngineError,
} from './errors.ts';
import { cachedPublicHost } from './host-address.ts';
import { SILENT_LOGGER, type RuntimeLogger } from '../logger.ts';
import { parseImageReference } from '../../spec/image-reference.ts';
import { demultiplexedText } from './log-stream.ts';
import { ProcessNetwork, isNetworkTrouble } from './network.ts';
import { readStartSecrets } from './start-secrets.ts';

export interface DockerRuntimeOptions {
  config: DockerRuntimeConfig;
  secrets: SecretStore;
  /** An Engine connection to use instead of one made from the config (tests pass a Dockerode). */
  docker?: { modem: DockerModem };
  logger?: RuntimeLogger;
}

/** What the Engine takes as a container's name (its own pattern); no other name is looked up as one. */
const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** States of a container of ours that a new start may replace. */
const REPLACEABLE = new Set(['exited', 'dead']);

/** What a list keeps of an Engine's entry: its id (for an inspect) and its facts. */
interface ListedContainer {
  id: string;
  facts: ContainerFacts;
}

export class DockerRuntime implements Runtime {
  readonly type = 'docker';
  readonly #config: DockerRuntimeConfig;
  readonly #secrets: SecretStore;
  readonly #logger: RuntimeLogger;
  readonly #engine: EngineClient;
  readonly #endpoint: string;
  /** The address reported for ports published on every interface (host-address.ts). */
  readonly #publicHostOf: () => Promise<string>;
  readonly #network: ProcessNetwork;

  constructor(options: DockerRuntimeOptions) {
    this.#config = options.config;
    this.#secrets = options.secrets;
    this.#logger = options.logger ?? SILENT_LOGGER;
    if (options.docker) {
      const described = describeEngine(options.docker.modem);
      this.#endpoint = described.endpoint;
      this.#publicHostOf = cachedPublicHost(described.remoteHost);
      this.#engine = new EngineClient(options.docker.modem, options.config.request_timeout_seconds);
    } else {
      const connection = engineConnection(options.config.docker_host);
      this.#endpoint = connection.endpoint;
      this.#publicHostOf = cachedPublicHost(connection.remoteHost);
      this.#engine = new EngineClient(new DockerModem(connection.options), options.config.request_timeout_seconds);
    }
    this.#network = new ProcessNetwork(this.#engine, options.config.network, this.#logger);
  }

  async start(spec: ProcessSpec, options: StartOptions = {}): Promise<ProcessInfo> {
    const name = spec.process_name;
    const { signal } = options;
    const ctx = this.#context(`starting process '${name}'`, {
      processName: name,
      image: spec.container.image_uri,
      network: this.#config.network,
    });
    const cancelled = () => cancelledError(ctx);
    // Every secret first: a missing one must fail the start with nothing created.
    const { secretEnv, auth } = await readStartSecrets(this.#secrets, spec);
    if (signal?.aborted) throw cancelled();

    await this.#network.ensure(ctx);
    const id = await this.#createAndStart(spec, secretEnv, auth, ctx, signal);
    try {
      // A create or start is never cut short (the Engine could finish it unseen); what it made
      // is removed instead when nobody wants the answer any more.
      if (signal?.aborted) throw cancelled();
      let inspected: Dockerode.ContainerInspectInfo;
      try {
        inspected = await this.#engine.inspectContainer(id);
      } catch (err) {
        if (isNotFound(err)) throw replacedWhileStarting(name);
        throw err;
      }
      const facts = factsFromInspect(inspected);
      if (signal?.aborted) throw cancelled();
      this.#logger.info({ process: name, container: id.slice(0, 12), image: spec.container.image_uri }, 'process started');
      return processInfo(facts, await this.#publicHost([facts]));
    } catch (err) {
      if (signal?.aborted) {
        await this.#removeQuietly(id, name);
        this.#logger.info({ process: name, container: id.slice(0, 12) }, 'start cancelled; container removed');
        throw cancelled();
      }
      throw translateEngineError(err, ctx);
    }
  }

  async get(name: string): Promise<ProcessInfo | undefined> {
    const ctx = this.#context(`looking up process '${name}'`);
    // The container that a start of this process makes has its name: one inspect answers, with
    // the times. A list by label (which the Engine answers by going through every container, so
    // it grows with all of them) is needed only when there is no such container of ours. (A
    // process can also have a container named otherwise, from an older server or made by hand;
    // a start under the name always makes the newer one, which is what the list would pick.)
    const named = CONTAINER_NAME.test(name) ? await this.#inspectByName(name, ctx) : undefined;
    if (named !== undefined && named.Config?.Labels?.[PROCESS_LABEL] === name) {
      const facts = asListed(factsFromInspect(named));
      return processInfo(facts, await this.#publicHost([facts]));
    }
    const [entry] = await this.#containersOf(name, ctx);
    if (entry === undefined) return undefined;
    const facts = await this.#facts({ id: entry.Id, facts: factsFromListEntry(entry) }, { times: true });
    return processInfo(facts, await this.#publicHost([facts]));
  }

  async list(filter: ListFilter = {}): Promise<ProcessInfo[]> {
    const ctx = this.#context(filter.group === undefined ? 'listing processes' : `listing group '${filter.group}'`);
    let entries: ListedContainer[];
    try {
      // Each entry's facts as it arrives; the rest of the entry (mounts, networks, ...) goes.
      entries = await this.#engine.listContainers(
        dockerLabelFilter(filter.group === undefined ? {} : { group: filter.group }),
        (entry) => ({
          id: entry.Id,
          facts: factsFromListEntry(entry),
        }),
      );
    } catch (err) {
      throw translateEngineError(err, ctx);
    }
    const facts = await Promise.all(entries.map((entry) => this.#facts(entry, { times: false })));
    const host = await this.#publicHost(facts);
    return facts.map((f) => processInfo(f, host)).sort(byProcessName);
  }

  async stop(name: string): Promise<void> {
    const ctx = this.#context(`stopping process '${name}'`, { processName: name });
    // The container of the process's name (as a start makes it) is stopped at once; the list by
    // label, which finds any other container of the process (an older server's) and which the
    // Engine answers by going through all its containers, runs meanwhile rather than first.
    const named = CONTAINER_NAME.test(name) ? await this.#inspectByName(name, ctx) : undefined;
    if (named !== undefined && named.Config?.Labels?.[PROCESS_LABEL] === name) {
      const [own, others] = await Promise.allSettled([this.#stopAndRemove(named.Id, ctx), this.#containersOf(name, ctx)]);
      const rest = others.status === 'fulfilled' ? others.value.filter((entry) => entry.Id !== named.Id) : [];
      const results = [own, others, ...(await Promise.allSettled(rest.map((entry) => this.#stopAndRemove(entry.Id, ctx))))];
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      this.#logger.info(
        { process: name, containers: [named.Id, ...rest.map((e) => e.Id)].map((id) => id.slice(0, 12)) },
        'process stopped',
      );
      return;
    }
    const entries = await this.#containersOf(name, ctx);
    if (entries.length === 0) throw notFound(name);
    // Every container that the list shows under the name (more than one only from older servers
    // or by hand): after a stop, the name is gone from the list.
    const results = await Promise.allSettled(entries.map((entry) => this.#stopAndRemove(entry.Id, ctx)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    this.#logger.info({ process: name, containers: entries.map((e) => e.Id.slice(0, 12)) }, 'process stopped');
  }

  async logs(name: string, options: LogOptions = {}): Promise<AsyncIterable<string>> {
    const ctx = this.#context(`reading the logs of process '${name}'`, { processName: name });
    if (options.since !== undefined && !Number.isFinite(options.since.getTime())) {
      // The Engine answers an invalid time with a 500; the caller's mistake is a 400.
      throw new HydroplaneError('invalid_request', "'since' is not a valid time: give an RFC 3339 time or a duration such as 10m");
    }
    const [entry] = await this.#containersOf(name, ctx);
    if (entry === undefined) throw notFound(name);
    // The list does not say whether the container has a TTY, which decides the stream's framing.
    let container: Dockerode.ContainerInspectInfo;
    try {
      container = await this.#engine.inspectContainer(entry.Id);
    } catch (err) {
      if (isNotFound(err)) throw notFound(name);
      throw translateEngineError(err, ctx);
    }
    const query: Record<string, string | number | boolean> = {
      stdout: true,
      stderr: true,
      follow: options.follow ?? false,
      timestamps: options.timestamps ?? false,
      tail: options.tail ?? 'all',
    };
    // The Engine takes seconds since the epoch, with a fraction.
    if (options.since !== undefined) query['since'] = (options.since.getTime() / 1000).toFixed(3);
    const { signal } = options;
    let stream;
    try {
      stream = await this.#engine.openLogs(container.Id, query, signal);
    } catch (err) {
      if (signal?.aborted) return noText();
      if (isNotFound(err)) throw notFound(name);
      throw translateEngineError(err, ctx);
    }
    const decode = container.Config?.Tty ? utf8Text : demultiplexedText;
    return logText(stream, decode, signal, (err) => translateEngineError(err, ctx));
  }

  async stopGroup(group: string): Promise<string[]> {
    const ctx = this.#context(`stopping group '${group}'`);
    let entries: Array<{ id: string; name: string }>;
    try {
      entries = await this.#engine.listContainers(dockerLabelFilter({ group }), (entry) => ({
        id: entry.Id,
        name: entry.Labels?.[PROCESS_LABEL] ?? '',
      }));
    } catch (err) {
      throw translateEngineError(err, ctx);
    }
    // Bounded: a thousand stops at once only queue in the Engine, each holding a connection.
    const results = await settleBounded(entries, GROUP_CONCURRENCY, (entry) => this.#stopAndRemove(entry.id, ctx));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const names = entries.map((entry) => entry.name).sort();
    this.#logger.info({ group, processes: names }, 'group stopped');
    return names;
  }

  /**
   * The Engine's GET /events, filtered at the Engine by type, action and label, and exactly by the feed, told
   * as process events (event-mapping.ts). With `after`, the Engine replays what it still keeps from
   * a little before that cursor (its events are a bounded ring: 256 on Docker Engine, of all kinds),
   * and the feed tells only what came after it.
   */
  async events(options: EventOptions = {}): Promise<AsyncIterable<RuntimeEvent>> {
    const { filter = {}, signal } = options;
    const cursor = options.after === undefined ? undefined : parseCursor(options.after);
    if (options.after !== undefined && cursor === undefined) {
      throw foreignEventId(this.type, '<timeNano>-<container id>-<action>');
    }
    const ctx = this.#context('following the Engine events');
    const filters: Record<string, string[]> = {
      type: ['container'],
      event: [...ENGINE_ACTIONS],
    };
    const labels = engineLabelFilter(filter);
    if (labels.length > 0) filters['label'] = labels;
    const query: { filters: Record<string, string[]>; since?: string } = { filters };
    // Whole seconds, as every Engine takes them; the lookback lets the feed learn the kills and
    // starts that decide how the events just after the cursor are told (a stop lasts up to the grace).
    if (cursor !== undefined) {
      const lookback = BigInt(Math.ceil(this.#config.stop_grace_seconds) + EVENT_LOOKBACK_SECONDS);
      const seconds = cursor.nanos / 1_000_000_000n - lookback;
      query.since = String(seconds > 0n ? seconds : 0n);
    }
    let stream;
    try {
      stream = await this.#engine.openEvents(query, signal);
    } catch (err) {
      if (signal?.aborted) return noEvents();
      throw translateEngineError(err, ctx);
    }
    const feed = new EngineEventFeed(cursor, filter);
    const events = async function* (lines: AsyncIterable<string>): AsyncGenerator<RuntimeEvent> {
      for await (const line of lines) {
        const event = parseEngineEventLine(line);
        if (event !== undefined) yield* feed.push(event);
      }
    };
    return logText(
      stream,
      (source) => events(textLines(utf8Text(source))),
      signal,
      (err) => translateEngineError(err, ctx),
    );
  }

  async ping(): Promise<void> {
    try {
      await this.#engine.ping();
    } catch (err) {
      throw translateEngineError(err, this.#context('checking that the Engine answers'));
    }
  }

  async close(): Promise<void> {
    // Nothing to release: every call opens its own request; the state is the Engine's.
  }

  #context(action: string, extra: Partial<ErrorContext> = {}): ErrorContext {
    return { action, endpoint: this.#endpoint, timeoutSeconds: this.#config.request_timeout_seconds, ...extra };
  }

  /**
   * The containers that list() shows under this process name: those whose process label is the
   * name, whatever the containers are called. Newest first (by creation time, then by id), so that
   * get and logs pick the same one every time. One Engine call.
   */
  async #containersOf(name: string, ctx: ErrorContext): Promise<Dockerode.ContainerInfo[]> {
    let entries: Dockerode.ContainerInfo[];
    try {
      entries = await this.#engine.listContainers([`${PROCESS_LABEL}=${name}`], (entry) => entry);
    } catch (err) {
      throw translateEngineError(err, ctx);
    }
    return entries
      .filter((entry) => entry.Labels?.[PROCESS_LABEL] === name)
      .sort((a, b) => b.Created - a.Created || (a.Id < b.Id ? -1 : a.Id > b.Id ? 1 : 0));
  }

  /**
   * A list entry's facts, as list() and get() both report them. The list does not say when a
   * container started or ended, nor why a created one never ran. get() inspects its container for
   * its times; list() does not, so that a list stays one Engine call however many processes there
   * are (the bench holds it to that), and inspects only a created container (rare: a start in
   * flight, or one that failed and could not be removed) for the Engine's error.
   */
  async #facts({ id, facts }: ListedContainer, options: { times: boolean }): Promise<ContainerFacts> {
    if (!options.times && facts.state !== 'created') return facts;
    try {
      // The list has no start and end times either (ProcessInfo.started, .finished).
      const state = (await this.#engine.inspectContainer(id)).State;
      const timed = state && options.times ? withTimes(facts, state) : facts;
      return facts.state === 'created' ? withStartError(timed, state?.Error) : timed;
    } catch {
      // Gone or unreadable in between: what the list said stands.
      return facts;
    }
  }

  /** Inspects the container of that exact name; undefined when there is none. */
  async #inspectByName(name: string, ctx: ErrorContext): Promise<Dockerode.ContainerInspectInfo | undefined> {
    try {
      const container = await this.#engine.inspectContainer(name);
      // The Engine also matches an ID prefix; only a container with this very name counts.
      return container.Name === `/${name}` ? container : undefined;
    } catch (err) {
      // The Engine tries the name first: a prefix of several IDs means no container has the name.
      if (isNotFound(err) || isAmbiguousIdPrefix(err)) return undefined;
      throw translateEngineError(err, ctx);
    }
  }

  /**
   * Makes the name free: removes our own ended container of that name, refuses anything else. A
   * container of ours that is only created is another request's start in flight (or what a failed
   * removal left): it is refused too, never removed under that request.
   */
  async #clearName(name: string, ctx: ErrorContext): Promise<void> {
    const existing = await this.#inspectByName(name, ctx);
    if (existing === undefined) return;
    if (!isOurs(existing.Config?.Labels)) throw nameTaken(name);
    // A container of ours called by this name but listed as another process is that process's.
    if (existing.Config.Labels[PROCESS_LABEL] !== name) throw heldByOther(name, existing.Config.Labels[PROCESS_LABEL] ?? '');
    if (!REPLACEABLE.has(existing.State.Status)) {
      throw new HydroplaneError('process_exists', `a process named '${name}' already exists (${existing.State.Status}); stop it first`);
    }
    this.#logger.info({ process: name, state: existing.State.Status }, 'replacing an ended process of the same name');
    await this.#removeTolerant(existing.Id, ctx);
  }

  async #pullImage(image: string, auth: RegistryAuth | undefined, ctx: ErrorContext, signal: AbortSignal | undefined): Promise<void> {
    const registry = parseImageReference(image).domain ?? 'Docker Hub';
    const timeoutSeconds = this.#config.pull_timeout_seconds;
    this.#logger.info({ image, registry, withCredentials: auth !== undefined }, 'pulling image');
    try {
      await this.#engine.pullImage(image, auth, { timeoutMs: timeoutSeconds * 1000, signal });
    } catch (err) {
      throw translateEngineError(err, {
        ...ctx,
        phase: 'pull',
        withCredentials: auth !== undefined,
        registry,
        pullTimeoutSeconds: timeoutSeconds,
      });
    }
  }

  /**
   * Creates and starts the container; when the start fails, removes it again. Returns its id.
   * The create comes first, as the cheap common case costs two Engine calls: only when the Engine
   * says the image is missing is it pulled, and only when the name is taken is the holder looked
   * at (an ended process of ours gives way; anything else is refused). A network that vanished,
   * or that racing servers made twice, is put right. Each of these is retried once at most.
   */
  async #createAndStart(
    spec: ProcessSpec,
    secretEnv: ReadonlyMap<string, string>,
    auth: RegistryAuth | undefined,
    ctx: ErrorContext,
    signal: AbortSignal | undefined,
  ): Promise<string> {
    const options = containerCreateOptions(spec, secretEnv, { network: this.#config.network, record: startRecord(spec, new Date()) });
    const retried = { pull: false, name: false, network: 0 };
    for (;;) {
      let id: string;
      try {
        const created = await this.#engine.createContainer(options);
        id = created.Id;
        for (const warning of created.Warnings ?? []) this.#logger.warn({ process: spec.process_name, warning }, 'Engine warning');
      } catch (err) {
        if (!retried.pull && isImageMissing(err)) {
          retried.pull = true;
          await this.#pullImage(spec.container.image_uri, auth, ctx, signal);
          if (signal?.aborted) throw cancelledError(ctx);
          continue;
        }
        if (!retried.name && isNameInUse(err)) {
          retried.name = true;
          await this.#clearName(spec.process_name, ctx);
          continue;
        }
        if (retried.network < 2 && isNetworkTrouble(err)) {
          retried.network++;
          await this.#network.repair(err, ctx);
          continue;
        }
        if (isNameInUse(err) || (err instanceof EngineError && err.status === 409)) throw await this.#nameConflict(spec.process_name, ctx);
        throw translateEngineError(err, { ...ctx, phase: 'create' });
      }
      if (signal?.aborted) {
        await this.#removeQuietly(id, spec.process_name);
        throw cancelledError(ctx);
      }
      try {
        await this.#engine.startContainer(id);
        return id;
      } catch (err) {
        // Nothing may be left behind: the container goes before the error is reported.
        await this.#removeQuietly(id, spec.process_name);
        if (retried.network < 2 && isNetworkTrouble(err)) {
          retried.network++;
          await this.#network.repair(err, ctx);
          continue;
        }
        // Another request's stop (an apply replacing the process) removed the new container, or is removing it.
        if ((isNotFound(err) && NO_SUCH_CONTAINER.test(err instanceof Error ? err.message : '')) || isMarkedForRemoval(err))
          throw replacedWhileStarting(spec.process_name);
        throw translateEngineError(err, { ...ctx, phase: 'start' });
      }
    }
  }

  /** Docker's own name uniqueness decided a race of two starts: say who holds the name. */
  async #nameConflict(name: string, ctx: ErrorContext): Promise<HydroplaneError> {
    const holder = await this.#inspectByName(name, ctx).catch(() => undefined);
    if (holder !== undefined && !isOurs(holder.Config?.Labels)) return nameTaken(name);
    if (holder !== undefined && holder.Config.Labels[PROCESS_LABEL] !== name)
      return heldByOther(name, holder.Config.Labels[PROCESS_LABEL] ?? '');
    return new HydroplaneError('process_exists', `a process named '${name}' already exists`);
  }

  async #stopAndRemove(id: string, ctx: ErrorContext): Promise<void> {
    try {
      await this.#engine.stopContainer(id, this.#config.stop_grace_seconds);
    } catch (err) {
      // Gone already: a concurrent stop, or an old server's container that removed itself.
      if (isNotFound(err)) return;
      throw translateEngineError(err, { ...ctx, timeoutSeconds: this.#config.request_timeout_seconds + this.#config.stop_grace_seconds });
    }
    await this.#removeTolerant(id, ctx);
  }

  async #removeTolerant(id: string, ctx: ErrorContext): Promise<void> {
    try {
      await this.#engine.removeContainer(id);
    } catch (err) {
      if (isNotFound(err) || isRemovalInProgress(err)) return;
      throw translateEngineError(err, ctx);
    }
  }

  async #removeQuietly(id: string, process: string): Promise<void> {
    try {
      await this.#engine.removeContainer(id);
    } catch (err) {
      if (isNotFound(err) || isRemovalInProgress(err)) return;
      this.#logger.error({ process, container: id.slice(0, 12), err: String(err) }, 'could not remove the container of a failed start');
    }
  }

  /**
   * The address reported for public ports, looked up only when one of these containers has one,
   * and then at most once per 30 s (cachedPublicHost): the lookup walks every network interface,
   * and Docker adds one per running container.
   */
  async #publicHost(facts: readonly ContainerFacts[]): Promise<string> {
    return facts.some(needsPublicHost) ? this.#publicHostOf() : '';
  }
}

/** How much further back than the stop grace a resumed feed reads, in seconds. */
const EVENT_LOOKBACK_SECONDS = 30;

async function* noEvents(): AsyncGenerator<RuntimeEvent> {}

/** A start that nobody waits for any more, in the catalogue's words. */
function cancelledError(ctx: ErrorContext): HydroplaneError {
  return translateEngineError(new EngineError('aborted', 'cancelled'), ctx);
}

/** The Engine's words for a container that is not there (any more). */
const NO_SUCH_CONTAINER = /no such container/i;

/**
 * The container that this start had just created was removed before the start ended: another
 * request (a stop, an apply of the same name) took the name over. A conflict, which an apply
 * answers by looking again.
 */
function replacedWhileStarting(name: string): HydroplaneError {
  return new HydroplaneError(
    'process_exists',
    `process '${name}' was stopped or replaced by another request while it was starting; look at it again (GET) or try again`,
  );
}

function notFound(name: string): HydroplaneError {
  return new HydroplaneError('process_not_found', `no process named '${name}'`);
}

function heldByOther(name: string, holder: string): HydroplaneError {
  return new HydroplaneError(
    'name_taken',
    `the container named '${name}' belongs to process '${boundedText(holder, 100)}' (its hydroplane/process-id label); ` +
      `choose another process_name, or stop process '${boundedText(holder, 100)}' first`,
  );
}

function nameTaken(name: string): HydroplaneError {
  return new HydroplaneError(
    'name_taken',
    `a container named '${name}' exists that Hydroplane does not manage (it has no hydroplane/process-id label); ` +
      'choose another process_name, or remove that container yourself',
  );
}
