// The bundled commands in dist/ (build/bundle.config.ts): a package bundled into them must not
// look for files next to its own code, because that code now lives in dist/chunks/. The
// end-to-end tests run these same files; this test names the package when one starts to.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { VERSION } from '../../src/version.ts';
import { skipOrFail, unbuilt } from '../support/needs.ts';
import { ROOT, startServerProcess, writeConfig } from '../support/server-process.ts';

const DIST = join(ROOT, 'dist');
const skip = skipOrFail('bundle tests', [unbuilt(join(DIST, 'cli/hydroplane.js'))]);

/**
 * Bundled packages that mention __dirname or __filename, and why that never runs in Hydroplane.
 * Anything else that does is a bug: keep the package external in build/bundle.config.ts, or show
 * here why its path is never taken.
 */
const NEVER_REACHED: Record<string, string> = {
  pino: 'worker files of log transports; Hydroplane writes its logs to stdout and uses no transport',
  'thread-stream': "pino's transport worker, as above",
  '@fastify/swagger': 'reads its own package.json only for an info.version we always set, and catches the failure',
  commander: 'only in comments (executable subcommands, which the commands do not use)',
};

function bundledFiles(): string[] {
  return readdirSync(DIST, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.js') && !f.startsWith('dashboard'))
    .map((f) => join(DIST, f));
}

/** The package a line of the bundle comes from: the nearest `// node_modules/...` marker above it. */
function packageAt(lines: string[], index: number): string {
  for (let i = index; i >= 0; i--) {
    const line = lines[i]!;
    const marker = /^\/\/ node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(line);
    if (marker) return marker[1]!;
    if (line.startsWith('// src/')) return 'hydroplane';
  }
  return 'unknown';
}

describe('the bundled commands', { skip }, () => {
  it('contain no package that reads files next to its code, but those known never to do it here', () => {
    const offenders: string[] = [];
    for (const file of bundledFiles()) {
      const lines = readFileSync(file, 'utf8').split('\n');
      lines.forEach((line, i) => {
        if (!/\b__(dirname|filename)\b/.test(line)) return;
        const pkg = packageAt(lines, i);
        if (!(pkg in NEVER_REACHED)) offenders.push(`${relative(ROOT, file)}:${i + 1} (${pkg}): ${line.trim().slice(0, 120)}`);
      });
    }
    assert.deepEqual(offenders, []);
  });

  it('are ASCII only, so that Node reads each as a one-byte string', () => {
    const offenders: string[] = [];
    // The commands' code, which Node loads; not the browser's files that the server serves.
    for (const file of bundledFiles().filter((f) => /^(cli|chunks)\//.test(relative(DIST, f)))) {
      const lines = readFileSync(file, 'utf8').split('\n');
      lines.forEach((line, i) => {
        const at = line.search(/[^\x00-\x7f]/u);
        if (at >= 0)
          offenders.push(`${relative(ROOT, file)}:${i + 1} (${packageAt(lines, i)}): ${line.slice(Math.max(0, at - 40), at + 40).trim()}`);
      });
    }
    assert.deepEqual(offenders, []);
  });

  it('run as programs: each is executable and starts with its shebang, as the bin links of npm and npx run them', () => {
    // The project's Node first on PATH, as npm puts node_modules/.bin there for npx and npm run.
    const env = { ...process.env, PATH: `${join(ROOT, 'node_modules/.bin')}:${process.env['PATH'] ?? ''}` };
    for (const name of ['hydroplane', 'hpctl', 'local-secret-store']) {
      const out = execFileSync(join(DIST, 'cli', `${name}.js`), ['--version'], {
        env,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      assert.equal(out.trim(), VERSION, name);
    }
    // And once through npx itself, the way the README names as the slower alternative. The first
    // npx of a machine installs this folder into npx's cache, which runs its prepare script: a
    // whole `npm run build`, whose clean of dist/ would pull the files from under the tests that
    // run beside this one (seen in CI: hpctl and the server not found). dist/ is built already.
    assert.equal(
      execFileSync('npx', ['hpctl', '--version'], {
        cwd: ROOT,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, npm_config_ignore_scripts: 'true' },
      }).trim(),
      VERSION,
    );
  });

  it('leave the Kubernetes and cloud clients and Swagger UI in node_modules, and ssh2 and glob out', () => {
    const text = bundledFiles()
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    for (const pkg of [
      '@kubernetes/client-node',
      '@aws-sdk/client-eks',
      '@google-cloud/container',
      'google-auth-library',
      'swagger-ui-dist',
      'ssh2',
      'glob',
    ]) {
      assert.doesNotMatch(text, new RegExp(`^// node_modules/${pkg.replace('/', '\\/')}/`, 'm'), `${pkg} is bundled`);
    }
    for (const pkg of ['@kubernetes/client-node', '@aws-sdk/client-eks', '@google-cloud/container']) {
      assert.match(
        text,
        new RegExp(`import\\(["']${pkg.replace('/', '\\/')}["']\\)|from ["']${pkg.replace('/', '\\/')}["']`),
        `${pkg} is not imported`,
      );
    }
    assert.match(text, /ssh:\/\/ Docker Engine addresses are not supported/);
    assert.match(text, /glob is not part of the bundled server/);
  });

  it("start without TLS, HTTP/2, Node's fetch or crypto, which a server on a local Engine with no secret store or token never uses", async () => {
    // Node's own list of the built-in modules it has loaded, read from inside the running server.
    const dir = mkdtempSync(join(tmpdir(), 'hp-modules-'));
    const hook = join(dir, 'hook.mjs');
    const out = join(dir, 'modules.json');
    writeFileSync(
      hook,
      `import { writeFileSync } from 'node:fs';\n` +
        `process.on('SIGUSR2', () => writeFileSync(${JSON.stringify(out)}, JSON.stringify(process.moduleLoadList)));\n`,
    );
    const server = await startServerProcess([], { NODE_OPTIONS: `--import=${hook}`, DOCKER_HOST: `unix://${join(dir, 'no-engine.sock')}` });
    try {
      assert.equal((await fetch(`${server.url}/health`)).status, 200);
      server.child.kill('SIGUSR2');
      const loaded = await waitForFile(out);
      const modules = (JSON.parse(loaded) as string[]).filter((m) => m.startsWith('NativeModule '));
      assert.ok(modules.includes('NativeModule http'), 'the list names the modules loaded');
      for (const name of ['https', 'http2', 'tls', 'internal/deps/undici/undici', 'crypto']) {
        assert.ok(!modules.includes(`NativeModule ${name}`), `${name} was loaded at start-up`);
      }
    } finally {
      await server.stop();
    }
  });

  it('still speak TLS to an https:// Engine, loading it at the first call', async () => {
    // A TCP listener that records the first bytes it receives: a TLS handshake starts 0x16 0x03.
    const first: Buffer[] = [];
    const sockets = new Set<Socket>();
    const listener = createServer((socket) => {
      sockets.add(socket);
      socket.once('data', (data) => {
        first.push(data);
        socket.destroy();
      });
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const address = listener.address();
    assert.ok(address && typeof address === 'object');
    const config = await writeConfig(`runtime:\n  runtime_type: docker\n  docker_host: https://127.0.0.1:${address.port}\n`);
    const server = await startServerProcess(['-c', config]);
    try {
      const answer = await fetch(`${server.url}/process`);
      assert.ok(answer.status >= 500, `a list through an Engine that hangs up answers an error, not ${answer.status}`);
      assert.ok(first.length > 0, 'the server connected to the Engine');
      assert.deepEqual([...first[0]!.subarray(0, 2)], [0x16, 0x03], 'the first bytes are a TLS handshake');
      assert.equal((await fetch(`${server.url}/health`)).status, 200);
    } finally {
      await server.stop();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => listener.close(resolve));
    }
  });
});

async function waitForFile(path: string): Promise<string> {
  for (let i = 0; i < 200; i++) {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
  throw new Error(`${path} was not written`);
}
