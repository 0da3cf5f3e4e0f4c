// The Engine calls that the docker runtime makes, each with a per-call timeout, each failing
// with an EngineError. Built on docker-modem, dockerode's own transport, rather than on dockerode:
// only some of dockerode's methods accept an abort signal, and importing dockerode loads gRPC and
// protobuf (for BuildKit sessions that Hydroplane never opens), a third of the server's start-up.
import type { IncomingMessage } from 'node:http';
import type Dockerode from 'dockerode';
import type DockerModem from 'docker-modem';
import { parseImageReference } from '../../spec/image-reference.ts';
import { EngineError, toEngineError } from './errors.ts';
import { JsonArrayError, JsonArraySplitter } from './json-array-stream.ts';
import './modem-http.ts';

export interface RegistryAuth {
  username: string;
  password: string;
  serveraddress: string;
}

const OK = { 200: true, 201: true, 204: true } as const;

export class EngineClient {
  readonly #modem: DockerModem;
  readonly #timeoutMs: number;

  constructor(modem: DockerModem, timeoutSeconds: number) {
    this.#modem = modem;
    this.#timeoutMs = timeoutSeconds * 1000;
  }

  /** GET /_ping: the cheapest call that proves the Engine answers. */
  ping(): Promise<unknown> {
    return this.#call({ path: '/_ping?', method: 'GET' });
  }

  /**
   * GET /containers/json?all=true&filters={"label":[...]}: one call, whose answer is read as it
   * arrives, each entry handed to `keep` as soon as it is complete (json-array-stream.ts): only
   * what `keep` returns stays. The timeout covers the whole answer.
   */
  async listContainers<T>(labelFilters: string[], keep: (entry: Dockerode.ContainerInfo) => T): Promise<T[]> {
    const limit = deadline(this.#timeoutMs);
    let stream: IncomingMessage | undefined;
    try {
      stream = await new Promise<IncomingMessage>((resolve, reject) => {
        this.#dial(
          {
            path: '/containers/json?',
            method: 'GET',
            options: { all: true, filters: { label: labelFilters } },
            isStream: true,
            statusCodes: OK,
            abortSignal: limit.signal,
          },
          (err, data) => (err ? reject(err) : resolve(quiet(data as IncomingMessage))),
        );
      });
      const entries = new JsonArraySplitter((entry) => keep(entry as Dockerode.ContainerInfo));
      for await (const chunk of stream as AsyncIterable<Buffer>) entries.push(chunk);
      // A connection that closed before the end of the answer ends the iteration quietly.
      if (!stream.complete) throw new EngineError('unreachable', 'the list ended early', { errno: 'ECONNRESET' });
      return entries.end();
    } catch (err) {
      // The timeout first: the answer that it cut may end quietly, and look like a reset.
      if (limit.timedOut()) throw new EngineError('timeout', 'no answer in time');
      if (err instanceof JsonArrayError)
        throw new EngineError('stream', `the Engine's list of containers is not a JSON array: ${err.message}`);
      throw toEngineError(err);
    } finally {
      limit.clear();
      stream?.destroy();
    }
  }

  inspectContainer(nameOrId: string): Promise<Dockerode.ContainerInspectInfo> {
    return this.#call({ path: `/containers/${encodeURIComponent(nameOrId)}/json?`, method: 'GET' });
  }

  createContainer(options: Dockerode.ContainerCreateOptions): Promise<{ Id: string; Warnings?: string[] }> {
    const { name, ...body } = options;
    return this.#call({ path: '/containers/create?', method: 'POST', options: { _query: { name }, _body: body } });
  }

  startContainer(id: string): Promise<void> {
    return this.#call({
      path: `/containers/${encodeURIComponent(id)}/start?`,
      method: 'POST',
      options: {},
      statusCodes: { ...OK, 304: true },
    });
  }

  /** SIGTERM, then SIGKILL after `graceSeconds`; the call lasts up to that long on top of the usual timeout. */
  stopContainer(id: string, graceSeconds: number): Promise<void> {
    return this.#call(
      {
        path: `/containers/${encodeURIComponent(id)}/stop?`,
        method: 'POST',
        options: { _query: { t: graceSeconds }, _body: {} },
        statusCodes: { ...OK, 304: true },
      },
      graceSeconds * 1000,
    );
  }

  removeContainer(id: string): Promise<void> {
    return this.#call({ path: `/containers/${encodeURIComponent(id)}?`, method: 'DELETE', options: { force: true, v: true } });
  }

  /**
   * Pulls one image and follows the progress stream to its end, for at most `timeoutMs`. Aborting
   * `signal` (or the timeout) closes the connection, which makes the Engine cancel the pull.
   */
  async pullImage(
    image: string,
    auth: RegistryAuth | undefined,
    options: { timeoutMs: number; signal?: AbortSignal | undefined },
  ): Promise<void> {
    const { fromImage, tag } = pullArguments(image);
    const query: Record<string, string> = { fromImage };
    if (tag !== undefined) query.tag = tag;
    const limit = deadline(options.timeoutMs, options.signal);
    const abortSignal = limit.signal;
    const dial: DockerModem.DialOptions = {
      path: '/images/create?',
      method: 'POST',
      options: { _query: query, _body: {} },
      isStream: true,
      statusCodes: { 200: true },
      abortSignal,
    };
    if (auth) dial.authconfig = auth;
    let stream: IncomingMessage | undefined;
    const onAbort = () => stream?.destroy();
    abortSignal.addEventListener('abort', onAbort, { once: true });
    const failure = (err: unknown) =>
      limit.timedOut()
        ? new EngineError('timeout', 'the pull did not finish in time')
        : abortSignal.aborted
          ? aborted()
          : toEngineError(err);
    try {
      if (abortSignal.aborted) throw aborted();
      stream = await new Promise<IncomingMessage>((resolve, reject) => {
        this.#dial(dial, (err, data) => (err ? reject(err) : resolve(quiet(data as IncomingMessage))));
      });
      if (abortSignal.aborted) throw aborted();
      let buffered = '';
      for await (const chunk of stream as AsyncIterable<Buffer | string>) {
        const text = chunk.toString();
        buffered += text;
        // Only a chunk that ends a line gives lines to read: the rest waits, unsplit.
        if (text.includes('\n')) {
          const lines = buffered.split('\n');
          buffered = lines.pop() ?? '';
          for (const line of lines) checkProgress(line);
        }
        // One progress line is small; a stream that never ends a line is not the Engine's.
        if (buffered.length > 1 << 20) throw new EngineError('stream', 'a progress line longer than 1 MiB');
      }
      // A connection that closed before the end of the stream ends the iteration quietly.
      if (!stream.complete) throw failure(new EngineError('unreachable', 'the pull stream ended early', { errno: 'ECONNRESET' }));
      checkProgress(buffered);
    } catch (err) {
      throw failure(err);
    } finally {
      limit.clear();
      abortSignal.removeEventListener('abort', onAbort);
      stream?.destroy();
    }
  }

  /**
   * GET /containers/{id}/logs as an open stream. The timeout covers the wait for the Engine's
   * answer only: a followed log lasts as long as the container, or until `signal` aborts.
   */
  openLogs(id: string, query: Record<string, string | number | boolean>, signal?: AbortSignal): Promise<IncomingMessage> {
    return this.#openStream(`/containers/${encodeURIComponent(id)}/logs?`, query, signal);
  }

  /**
   * GET /events as an open stream of JSON lines, filtered at the Engine. The timeout covers the wait
   * for the Engine's answer only; the stream lasts until `signal` aborts or the Engine ends it.
   */
  openEvents(query: { filters: Record<string, string[]>; since?: string }, signal?: AbortSignal): Promise<IncomingMessage> {
    return this.#openStream('/events?', query, signal);
  }

  #openStream(path: string, query: object, signal: AbortSignal | undefined): Promise<IncomingMessage> {
    const limit = deadline(this.#timeoutMs, signal);
    return new Promise<IncomingMessage>((resolve, reject) => {
      this.#dial(
        {
          path,
          method: 'GET',
          options: query,
          isStream: true,
          statusCodes: { 200: true },
          abortSignal: limit.signal,
        },
        (err, data) => {
          limit.clear();
          if (err) reject(toEngineError(err, limit.timedOut()));
          else resolve(quiet(data as IncomingMessage));
        },
      );
    });
  }

  inspectNetwork(name: string): Promise<Dockerode.NetworkInspectInfo> {
    return this.#call({ path: `/networks/${encodeURIComponent(name)}?`, method: 'GET' });
  }

  /** Every network whose name contains `name` (the Engine's filter is a substring match). */
  listNetworks(name: string): Promise<Dockerode.NetworkInspectInfo[]> {
    return this.#call({ path: '/networks?', method: 'GET', options: { filters: { name: [name] } } });
  }

  removeNetwork(id: string): Promise<void> {
    return this.#call({ path: `/networks/${encodeURIComponent(id)}?`, method: 'DELETE', options: {} });
  }

  createNetwork(name: string): Promise<{ Id: string }> {
    return this.#call({
      path: '/networks/create?',
      method: 'POST',
      options: { _body: { Name: name, Driver: 'bridge', CheckDuplicate: true } },
    });
  }

  #call<T>(dial: DockerModem.DialOptions, extraMs = 0): Promise<T> {
    const limit = deadline(this.#timeoutMs + extraMs);
    return new Promise<T>((resolve, reject) => {
      this.#dial({ statusCodes: OK, ...dial, abortSignal: limit.signal }, (err, data) => {
        limit.clear();
        if (err) reject(toEngineError(err, limit.timedOut()));
        else resolve(data as T);
      });
    });
  }

  #dial(dial: DockerModem.DialOptions, callback: DockerModem.RequestCallback): void {
    try {
      this.#modem.dial(dial, callback);
    } catch (err) {
      callback(err as Error, null);
    }
  }
}

/** A signal that aborts after `ms`, or with `signal`; and whether it was the time that ran out. */
function deadline(ms: number, signal?: AbortSignal): { signal: AbortSignal; timedOut(): boolean; clear(): void } {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, ms);
  return {
    signal: signal ? AbortSignal.any([signal, controller.signal]) : controller.signal,
    timedOut: () => timedOut,
    clear: () => clearTimeout(timer),
  };
}

/**
 * An 'error' event without a listener ends the process. A stream handed out may wait for its
 * reader (a log that the route has not started to read), so it always has one; the reader still
 * sees every error through its own iteration.
 */
function quiet<T extends NodeJS.EventEmitter>(stream: T): T {
  stream.on('error', () => {});
  return stream;
}

/**
 * The arguments of POST /images/create. Without a tag or digest the Engine would pull every tag
 * of the repository, so 'latest' is named, as `docker pull` does.
 */
export function pullArguments(image: string): { fromImage: string; tag: string | undefined } {
  const { tag, digest } = parseImageReference(image);
  return { fromImage: image, tag: tag === undefined && digest === undefined ? 'latest' : undefined };
}

function aborted(): EngineError {
  return new EngineError('aborted', 'cancelled by the caller');
}

/** Throws the error that a line of a progress stream reports, if any. */
function checkProgress(line: string): void {
  if (line.trim() === '') return;
  let event: { error?: unknown; errorDetail?: { message?: unknown } };
  try {
    event = JSON.parse(line);
  } catch {
    return;
  }
  if (event.error !== undefined || event.errorDetail !== undefined) {
    const message = event.errorDetail?.message ?? event.error;
    throw new EngineError('stream', typeof message === 'string' ? message : 'unknown error');
  }
}
