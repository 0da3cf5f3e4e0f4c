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
import { defineConfig, RolldownMagicString, type Plugin } from 'rolldown';
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

/**
 * The bundle as ASCII only: `charset: 'ascii'` escapes non-ASCII characters in the code, JSDoc and
 * annotation comments are left out, and this escapes them in the licence comments that stay (one
 * author's name, today). A single non-ASCII character anywhere makes Node decode the whole 1.8 MB
 * file as UTF-8 and V8 hold and scan it as a two-byte string, at every start (bench/README.md,
 * "Cold start"). test/build/bundle.test.ts checks that the built files are ASCII.
 */
const asciiLicenceComments: Plugin = {
  name: 'ascii-licence-comments',
  renderChunk(code) {
    if (!/[^\x00-\x7f]/.test(code)) return null;
    // Through rolldown's MagicString, which keeps the chunk's source map true (offsets in UTF-16).
    const edited = new RolldownMagicString(code);
    for (const comment of code.matchAll(/\/\*![\s\S]*?\*\//g)) {
      for (const letter of comment[0].matchAll(/[^\x00-\x7f]/gu)) {
        const at = comment.index + letter.index;
        edited.overwrite(at, at + letter[0].length, `\\u{${letter[0].codePointAt(0)!.toString(16)}}`);
      }
    }
    return edited;
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
  plugins: [requiredBuiltins, executableEntries, asciiLicenceComments],
  output: {
    dir: 'dist',
    format: 'esm',
    charset: 'ascii',
    comments: { legal: true, annotation: false, jsdoc: false },
    entryFileNames: 'cli/[name].js',
    chunkFileNames: 'chunks/[name]-[hash].js',
    sourcemap: true,
    cleanDir: true,
  },
});
