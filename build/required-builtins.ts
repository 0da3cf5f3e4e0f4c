// A Rolldown plugin for the bundles of the commands (build/bundle.config.ts) and of the bench's
// fastify floor (bench/scenarios/server.ts), so that the floor is bundled as the server is.
import type { Plugin } from 'rolldown';

/**
 * Node modules that the bundle takes as require() gives them, without Node's ES module facade, and,
 * for some, only when first used (measured in bench/README.md, "Cold start"):
 * - http: an ES import of node:http makes Node build its facade, which reads every export once, and
 *   one export is a getter that loads Node's fetch (undici): about 20 ms of every start.
 * - https and http2, lazily: fastify's server module loads both (for its https and http2 options,
 *   which Hydroplane never sets), prom-client's push gateway and docker-modem load https; with TLS
 *   they took about 25 ms of every start, and a server on a unix-socket Engine never uses them.
 * The lazy module is a Proxy over the real one, loaded at the first property read.
 */
const EAGER_BUILTINS = ['http'];
const LAZY_BUILTINS = ['https', 'http2'];
export const BUILTIN_PREFIX = '\0builtin:';

export function isRequiredBuiltin(id: string): boolean {
  const name = id.startsWith('node:') ? id.slice('node:'.length) : id;
  return EAGER_BUILTINS.includes(name) || LAZY_BUILTINS.includes(name);
}

function builtinSource(name: string): string {
  const load = `process.getBuiltinModule('node:${name}')`;
  if (EAGER_BUILTINS.includes(name)) return `module.exports = ${load};\n`;
  return `let loaded;
const load = () => (loaded ??= ${load});
module.exports = new Proxy({}, {
  get: (_, key) => load()[key],
  has: (_, key) => key in load(),
  ownKeys: () => Reflect.ownKeys(load()),
  getOwnPropertyDescriptor: (_, key) => {
    const found = Reflect.getOwnPropertyDescriptor(load(), key);
    return found && { ...found, configurable: true };
  },
});
`;
}

export const requiredBuiltins: Plugin = {
  name: 'required-builtins',
  resolveId(id) {
    return isRequiredBuiltin(id) ? BUILTIN_PREFIX + (id.startsWith('node:') ? id.slice('node:'.length) : id) : null;
  },
  load(id) {
    return id.startsWith(BUILTIN_PREFIX) ? builtinSource(id.slice(BUILTIN_PREFIX.length)) : null;
  },
};
