// The one logger type of the runtime layer: what a runtime, the culler and the runtime factory
// write to. pino's loggers (and so fastify's) are such loggers; tests pass their own.

type LogFn = (obj: Record<string, unknown>, msg?: string) => void;

export interface RuntimeLogger {
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  debug: LogFn;
}

const nothing: LogFn = () => {};

/** Writes nothing: the default when no logger is given. */
export const SILENT_LOGGER: RuntimeLogger = { info: nothing, warn: nothing, error: nothing, debug: nothing };
