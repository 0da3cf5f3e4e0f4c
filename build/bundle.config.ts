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
import { BUILTIN_PREFIX, isRequiredBuiltin, requiredBuiltins } from './required-builtins.ts';

const EXTERNAL_PACKAGES = ['@kubernetes/client-node', 'google-auth-library', 'swagger-ui-dist'];
const EXTERNAL_SCOPES = ['@aws-sdk/', '@smithy/', '@google-cloud/'];

function isExternal(id: string): boolean {
  if (id.startsWith(BUILTIN_PREFIX) || isRequiredBuiltin(id)) return false;
  if (id.startsWith('node:')) return true;
  return EXTERNAL_PACKAGES.some((p) => id === p || id.startsWith(`${p}/`)) || EXTERNAL_SCOPES.some((s) => id.startsWith(s));
}

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
