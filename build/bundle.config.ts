// The three commands, bundled: dist/cli/{hydroplane,hpctl,local-secret-store}.js and the chunks
// they share in dist/chunks/. Node's module loader costs per file, not per byte: one file instead
// of several hundred took about 110 ms off the server's cold start (bench/README.md).
//
// What stays outside (in node_modules, loaded by Node as usual):
// - the Kubernetes, AWS and Google clients: large, and loaded only when the config picks such a
//   runtime (src/runtimes/index.ts imports them lazily);
// - swagger-ui-dist: static files, served from the package's folder.
// And what is never run here stands in by a stub: ssh2 (build/no-ssh2.cjs) and glob (no-glob.cjs).
// A bundled package must not look for files next to its own code (__dirname, __filename):
// test/build/bundle.test.ts checks the built server for that.
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'rolldown';

const EXTERNAL_PACKAGES = ['@kubernetes/client-node', 'google-auth-library', 'swagger-ui-dist'];
const EXTERNAL_SCOPES = ['@aws-sdk/', '@smithy/', '@google-cloud/'];

function isExternal(id: string): boolean {
  if (id.startsWith(BUILTIN_PREFIX) || isRequiredBuiltin(id)) return false;
  if (id.startsWith('node:')) return true;
  return EXTERNAL_PACKAGES.some((p) => id === p || id.startsWith(`${p}/`)) || EXTERNAL_SCOPES.some((s) => id.startsWith(s));
}

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
const BUILTIN_PREFIX = '\0builtin:';

function isRequiredBuiltin(id: string): boolean {
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

const requiredBuiltins: Plugin = {
  name: 'required-builtins',
  resolveId(id) {
    return isRequiredBuiltin(id) ? BUILTIN_PREFIX + (id.startsWith('node:') ? id.slice('node:'.length) : id) : null;
  },
  load(id) {
    return id.startsWith(BUILTIN_PREFIX) ? builtinSource(id.slice(BUILTIN_PREFIX.length)) : null;
  },
};

/**
 * The commands are run as programs (`npx hydroplane`, the package's bin links): their files must
 * be executable. npm marks them so at install, before `prepare` builds them anew.
 */
const executableEntries: Plugin = {
  name: 'executable-entries',
  async writeBundle(options, bundle) {
    for (const [file, output] of Object.entries(bundle)) {
      if (output.type === 'chunk' && output.isEntry) await chmod(join(options.dir ?? 'dist', file), 0o755);
    }
  },
};

export default defineConfig({
  input: {
    hydroplane: 'src/cli/entry/hydroplane.ts',
    hpctl: 'src/cli/entry/hpctl.ts',
    'local-secret-store': 'src/cli/entry/local-secret-store.ts',
  },
  platform: 'node',
  external: isExternal,
  resolve: {
    alias: {
      ssh2: fileURLToPath(new URL('./no-ssh2.cjs', import.meta.url)),
      glob: fileURLToPath(new URL('./no-glob.cjs', import.meta.url)),
    },
  },
  plugins: [requiredBuiltins, executableEntries],
  output: {
    dir: 'dist',
    format: 'esm',
    entryFileNames: 'cli/[name].js',
    chunkFileNames: 'chunks/[name]-[hash].js',
    sourcemap: true,
    cleanDir: true,
  },
});
