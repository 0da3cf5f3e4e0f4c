import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ErrorBody, HydroplaneError } from '../../errors.ts';
import type { Runtime } from '../../runtimes/runtime.ts';
import { MAX_ATTEMPTS, applyProcess } from '../../runtimes/apply.ts';
import { AppliedProcessInfo, ProcessInfo, StartedProcessInfo } from '../../spec/process-info.ts';
import { ProcessSpec } from '../../spec/process-spec.ts';
import { FIELD_VALIDATION, parseWithFieldValidation, type FieldValidation } from '../../spec/validate.ts';
import type { FeedSlots } from '../feed-slots.ts';
import { NameParam, NoQuery, StopResult } from './shared.ts';

/** The longest long-poll, in seconds: long enough for most starts, short enough for proxies' idle timeouts. */
export const MAX_WAIT_SECONDS = 300;

export const WaitQuery = z
  .strictObject({
    wait: z
      .enum(['running'], { error: "expected 'running'" })
      .optional()
      .describe(
        'running: answer once the status is RUNNING, EXITED or FAILED, or when the timeout passes (a long-poll). Without it, answer at once.',
      ),
    timeout: z
      .string()
      .regex(/^\d+(\.\d+)?$/, 'expected a number of seconds')
      .transform(Number)
      .pipe(z.number().max(MAX_WAIT_SECONDS, `at most ${MAX_WAIT_SECONDS} seconds`))
      .optional()
      .describe(
        `With wait: the longest wait in seconds, up to ${MAX_WAIT_SECONDS}; default 30. At the timeout the answer is the process as it is then.`,
      ),
  })
  .describe('Whether to wait for the process to settle.');

export const StartQuery = z
  .strictObject({
    fieldValidation: z
      .enum(FIELD_VALIDATION, { error: "expected 'Strict', 'Warn' or 'Ignore'" })
      .optional()
      .describe(
        'As Kubernetes: what becomes of unknown or misplaced fields in the spec. Strict: a 422 that names each one and where it belongs. ' +
          "Warn: they are dropped, and each is reported in a 'Warning: 299 - \"...\"' header and in the answer's warnings. " +
          "Ignore: they are dropped silently. Every other problem is a 422 in every mode. Default: the server's field_validation, else Warn.",
      ),
  })
  .describe('How to validate the spec.');

/**
 * A warning as an RFC 7234 Warning header value, as Kubernetes sends them (code 299, agent "-"):
 * a quoted-string in printable ASCII, whatever the text holds.
 */
export function warningHeader(text: string): string {
  let quoted = '';
  for (const char of text.replace(/…/g, '...')) {
    const code = char.codePointAt(0)!;
    if (char === '"' || char === '\\') quoted += `\\${char}`;
    else if (code >= 0x20 && code < 0x7f) quoted += char;
    // \uXXXX as text: its backslash quoted too, so that unquoting gives the escape, not a bare 'u'.
    else for (const unit of char.split('')) quoted += `\\\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`;
  }
  return `299 - "${quoted}"`;
}

/** Statuses that a wait for running ends on: it runs, or it never will. */
const SETTLED = new Set(['RUNNING', 'EXITED', 'FAILED']);

export interface ProcessRouteOptions {
  runtime: Runtime;
  /** How often a waiting request asks the runtime, in ms (FEED_POLL_FACTOR times as long while the runtime's event feed wakes it). */
  waitPollMs: number;
  /** Aborts when the server closes: waiting requests answer at once. */
  closing: AbortSignal;
  /** The runtime feeds this server may hold: a wait that finds none free polls without one. */
  feedSlots: FeedSlots;
  /** Field validation when a start does not ask for one. */
  fieldValidation: FieldValidation;
}

export const processRoutes: FastifyPluginAsyncZod<ProcessRouteOptions> = async (
  app,
  { runtime, waitPollMs, closing, feedSlots, fieldValidation },
) => {
  /** The body as a spec: it comes unvalidated (see buildApp), since which fields it may hold depends on the query. */
  const validSpec = (body: unknown, mode: FieldValidation | undefined) =>
    parseWithFieldValidation(ProcessSpec, body, mode ?? fieldValidation, { subject: 'process spec' });

  /**
   * Runs `work` with a signal that aborts when nobody waits for the answer any more (the client
   * went away before it, or the server is closing): a start then stops its pull and removes what
   * it created.
   */
  const whileWanted = async <T>(request: FastifyRequest, reply: FastifyReply, work: (signal: AbortSignal) => Promise<T>): Promise<T> => {
    const gone = new AbortController();
    const onClose = () => {
      if (!reply.raw.writableFinished) gone.abort();
    };
    reply.raw.once('close', onClose);
    if (request.raw.socket?.destroyed) gone.abort();
    try {
      return await work(AbortSignal.any([gone.signal, closing]));
    } finally {
      reply.raw.off('close', onClose);
    }
  };

  /** The answer, with the dropped fields as Warning headers and in the body's warnings. */
  const answer = (reply: FastifyReply, status: number, body: ProcessInfo & { outcome?: string }, warnings: string[]) => {
    if (warnings.length === 0) return reply.status(status).send(body);
    return reply
      .status(status)
      .header('warning', warnings.map(warningHeader))
      .send({ ...body, warnings });
  };

  const mustGet = async (name: string) => {
    const info = await runtime.get(name);
    if (!info) throw new HydroplaneError('process_not_found', `no process named '${name}'`);
    return info;
  };

  app.post(
    '/process',
    {
      schema: {
        summary: 'Start a process',
        operationId: 'launch_process_process_post',
        description: 'Validates the spec, then starts it on the runtime. Nothing is left behind when it fails.',
        tags: ['processes'],
        body: ProcessSpec,
        querystring: StartQuery,
        response: { 201: StartedProcessInfo, 400: ErrorBody, 409: ErrorBody, 422: ErrorBody, 503: ErrorBody },
      },
    },
    async (request, reply) => {
      const { value: spec, warnings } = validSpec(request.body, request.query.fieldValidation);
      const info = await whileWanted(request, reply, (signal) => runtime.start(spec, { signal }));
      return answer(reply, 201, info, warnings);
    },
  );

  app.put(
    '/process/:process_name',
    {
      schema: {
        summary: 'Apply a process spec (the desired state)',
        operationId: 'apply_process',
        description:
          "Makes the process named in the path run the spec in the body, whose process_name must be the path's (else 422). " +
          'Absent: it is started (201, outcome created). Running or starting from the same spec: nothing is touched (200, outcome unchanged, ' +
          'the current info). Started from another spec (or by an older server, which recorded none), or EXITED or FAILED, or past its own expiry: it is stopped ' +
          'and started from this spec (200, outcome replaced). "The same spec" is the same digest (spec_digest: a sha256 over the ' +
          'validated spec, defaults filled in and keys sorted, secrets as their references), which every start, POST /process ' +
          'included, keeps on the container or Deployment, so the server stays stateless. Concurrent applies of one name leave ' +
          'exactly one process, started from one of their specs; an apply that keeps losing to others gives up with 409 after ' +
          `${MAX_ATTEMPTS} tries. fieldValidation and warnings as for POST /process.`,
        tags: ['processes'],
        params: NameParam,
        body: ProcessSpec,
        querystring: StartQuery,
        response: {
          200: AppliedProcessInfo,
          201: AppliedProcessInfo,
          400: ErrorBody,
          404: ErrorBody,
          409: ErrorBody,
          422: ErrorBody,
          503: ErrorBody,
        },
      },
    },
    async (request, reply) => {
      const { value: spec, warnings } = validSpec(request.body, request.query.fieldValidation);
      const name = request.params.process_name;
      if (spec.process_name !== name) {
        const message = `is '${spec.process_name}', but the path names process '${name}': they must be the same`;
        throw new HydroplaneError('invalid_spec', `invalid process spec: process_name ${message}`, {
          fields: [{ path: 'process_name', message }],
        });
      }
      const { info, outcome } = await whileWanted(request, reply, (signal) => applyProcess(runtime, spec, { signal }));
      return answer(reply, outcome === 'created' ? 201 : 200, { ...info, outcome }, warnings);
    },
  );

  app.get(
    '/process',
    {
      schema: {
        summary: 'List every process',
        operationId: 'list_processes_process_get',
        tags: ['processes'],
        querystring: NoQuery,
        response: { 200: z.array(ProcessInfo), 400: ErrorBody, 503: ErrorBody },
      },
    },
    async () => runtime.list(),
  );

  app.get(
    '/process/:process_name',
    {
      schema: {
        summary: 'One process',
        operationId: 'get_process',
        description:
          'With wait=running, a long-poll: the answer comes as soon as the status is RUNNING, EXITED or FAILED, ' +
          "or at the timeout with the status as it is then (still 200; look at status). The wait follows the runtime's event feed " +
          '(as GET /events does), with a slow poll besides.',
        tags: ['processes'],
        params: NameParam,
        querystring: WaitQuery,
        response: { 200: ProcessInfo, 400: ErrorBody, 404: ErrorBody, 503: ErrorBody },
      },
    },
    async (request, reply) => {
      const { process_name: name } = request.params;
      let info = await mustGet(name);
      if (request.query.wait === undefined) return info;
      if (SETTLED.has(info.status)) return info;
      const deadline = Date.now() + (request.query.timeout ?? 30) * 1000;
      const gone = new AbortController();
      reply.raw.once('close', () => gone.abort());
      const stop = AbortSignal.any([gone.signal, closing]);
      // The runtime's feed wakes the wait as soon as the process changes; the slower poll is only a
      // safety net (a runtime without a feed, or a state that the runtime records just after its event).
      const changes = await ProcessChanges.open(runtime, name, stop, feedSlots);
      const pollMs = changes.open ? waitPollMs * FEED_POLL_FACTOR : waitPollMs;
      try {
        // Asked again once the feed is open: a change between the first get and the feed is not missed.
        if (changes.open) info = await mustGet(name);
        // An event can come a moment before the runtime shows its state (the Engine's die before
        // its inspect says exited): after one that left the status unsettled, ask again soon.
        let soon = false;
        while (!SETTLED.has(info.status) && !stop.aborted) {
          const left = deadline - Date.now();
          if (left <= 0) break;
          soon = (await changes.next(Math.min(soon ? AFTER_EVENT_MS : pollMs, left))) === 'event';
          info = await mustGet(name);
        }
      } finally {
        changes.close();
      }
      return info;
    },
  );

  app.delete(
    '/process/:process_name',
    {
      schema: {
        summary: 'Stop a process',
        operationId: 'terminate_process_process__process_name__delete',
        description: 'Stops the process (SIGTERM, then SIGKILL after a grace period) and removes it.',
        tags: ['processes'],
        params: NameParam,
        querystring: NoQuery,
        response: { 200: StopResult, 400: ErrorBody, 404: ErrorBody, 503: ErrorBody },
      },
    },
    async (request) => {
      await runtime.stop(request.params.process_name);
      return { stopped: [request.params.process_name] };
    },
  );
};

/** How much slower a wait polls while the runtime's feed tells it of changes. */
const FEED_POLL_FACTOR = 5;
/** How soon a wait asks again after an event that the runtime's state did not show yet, in ms. */
const AFTER_EVENT_MS = 200;

/**
 * The changes of one process, from the runtime's event feed, for a wait. Without a feed (the
 * runtime has none, it failed to open, or the server holds as many as it may) next() is a plain timer.
 */
class ProcessChanges {
  readonly open: boolean;
  readonly #controller: AbortController;
  readonly #signal: AbortSignal;
  #changed = false;
  #wake: (() => void) | undefined;

  readonly #release: () => void;

  private constructor(open: boolean, controller: AbortController, signal: AbortSignal, release: () => void) {
    this.open = open;
    this.#controller = controller;
    this.#signal = signal;
    this.#release = release;
  }

  static async open(runtime: Runtime, name: string, signal: AbortSignal, slots: FeedSlots): Promise<ProcessChanges> {
    const controller = new AbortController();
    const both = AbortSignal.any([signal, controller.signal]);
    let feed: AsyncIterable<unknown> | undefined;
    let release = slots.take();
    try {
      if (release !== undefined) feed = await runtime.events({ filter: { processName: name }, signal: both });
    } catch {
      feed = undefined;
    }
    if (feed === undefined) {
      release?.();
      release = undefined;
    }
    const changes = new ProcessChanges(feed !== undefined, controller, both, release ?? (() => {}));
    if (feed !== undefined) void changes.#read(feed);
    return changes;
  }

  async #read(feed: AsyncIterable<unknown>): Promise<void> {
    try {
      for await (const _ of feed) {
        this.#changed = true;
        this.#wake?.();
      }
    } catch {
      // The poll carries on alone.
    }
  }

  /** Resolves with 'event' at the next event of the process (or one since the last call), else with 'time' after `ms` or at the abort. */
  next(ms: number): Promise<'event' | 'time'> {
    if (this.#changed) {
      this.#changed = false;
      return Promise.resolve('event');
    }
    return new Promise((resolve) => {
      const done = (why: 'event' | 'time') => {
        clearTimeout(timer);
        this.#signal.removeEventListener('abort', onAbort);
        this.#wake = undefined;
        this.#changed = false;
        resolve(why);
      };
      const onAbort = () => done('time');
      const timer = setTimeout(onAbort, ms);
      this.#signal.addEventListener('abort', onAbort, { once: true });
      this.#wake = () => done('event');
    });
  }

  close(): void {
    this.#controller.abort();
    this.#release();
  }
}
