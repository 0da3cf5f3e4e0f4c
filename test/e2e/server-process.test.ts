// The `hydroplane` command as users run it: start-up, configuration errors, an unreachable
// runtime, graceful shutdown. Needs no Docker Engine: it points the runtime at a socket that
// does not exist.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { freePort } from '../support/net.ts';
import { HYDROPLANE_BIN, NODE, runServerToExit, startServerProcess, writeConfig } from '../support/server-process.ts';

const missingSocket = '/tmp/hydroplane-test-no-such-docker.sock';

describe('hydroplane server process', () => {
  it('starts, answers 503 naming the runtime and socket while the engine is away, and exits 0 on SIGTERM', async () => {
    const config = await writeConfig(`runtime:\n  runtime_type: docker\n  docker_host: unix://${missingSocket}\n`);
    const server = await startServerProcess(['-c', config]);
    try {
      const health = await fetch(`${server.url}/health`);
      assert.deepEqual(await health.json(), { status: 'ok', runtime: 'docker' });
      const list = await fetch(`${server.url}/process`);
      assert.equal(list.status, 503);
      const body = (await list.json()) as { error: number; details: string };
      assert.equal(body.error, 503);
      assert.match(body.details, /docker/i);
      assert.ok(body.details.includes(missingSocket), body.details);
    } finally {
      const code = await server.stop('SIGTERM');
      assert.equal(code, 0, server.output());
    }
    assert.match(server.output(), /listening on http:\/\/127\.0\.0\.1:/);
  });

  it('stops at start-up on a config error, naming the file and the key', async () => {
    const config = await writeConfig('runtime:\n  runtime_type: docker\n  netwrok: x\n');
    const { code, output } = await runServerToExit(['-c', config]);
    assert.equal(code, 1);
    assert.ok(output.includes(config), output);
    assert.match(output, /runtime\.netwrok: unknown field; did you mean 'network'\?/);
  });

  it('stops at start-up when the config file is missing, saying how to pass one', async () => {
    const { code, output } = await runServerToExit(['-c', '/nonexistent/hydroplane.yml']);
    assert.equal(code, 1);
    assert.match(output, /cannot read the config file \/nonexistent\/hydroplane\.yml: no such file\. Pass one with -c\/--conf/);
  });

  it('refuses a bad port or host on the command line, in its own style', async () => {
    // Decimal digits only: Number() also took 1e3, 0x50 and ' 80'.
    for (const bad of ['eighty', '1e3', '0x50', ' 80', '-1', '65536', '']) {
      const { code, output } = await runServerToExit(['-p', bad]);
      assert.notEqual(code, 0, bad);
      assert.match(
        output,
        /^hydroplane: option '-p, --port <port>' argument '.*' is invalid\. A port is a whole number from 0 to 65535/,
        bad,
      );
      assert.match(output, /\(hydroplane --help says what each option takes\)\n$/);
    }
    const empty = await runServerToExit(['-H', ' ']);
    assert.match(empty.output, /^hydroplane: option '-H, --host <address>' argument ' ' is invalid\. Give an address of this machine/);
  });

  it('shows what it quotes from the config or the command line with control characters escaped', async () => {
    // YAML's "\e" is ESC: an Engine address that would clear the screen if printed as it is.
    const config = await writeConfig('runtime: {runtime_type: docker, docker_host: "ssh://\\e[2Jhost"}\n');
    const quoted = await runServerToExit(['-c', config]);
    assert.equal(quoted.code, 1);
    assert.match(quoted.output, /does not understand the Engine address 'ssh:\/\/\\x1b\[2Jhost'/);
    const usage = await runServerToExit(['-p', '\u001b[2J']);
    assert.match(usage.output, /argument '\\x1b\[2J' is invalid/);
    for (const output of [quoted.output, usage.output]) assert.doesNotMatch(output, /\u001b/);
  });

  // A log file on a full disk: before, pino's destination retried its last lines forever at exit,
  // and the server neither answered nor stopped, SIGTERM included.
  it(
    'serves on, and stops at SIGTERM, when its log cannot be written',
    { skip: existsSync('/dev/full') ? false : 'no /dev/full' },
    async () => {
      const config = await writeConfig(`runtime:\n  runtime_type: docker\n  docker_host: unix://${missingSocket}\n`);
      const port = await freePort();
      const full = openSync('/dev/full', 'w');
      const child = spawn(NODE, [HYDROPLANE_BIN, '-c', config, '-p', String(port)], { stdio: ['ignore', full, 'pipe'] });
      closeSync(full);
      let stderr = '';
      child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      try {
        let health: Response | undefined;
        for (let i = 0; i < 200 && health === undefined; i++) {
          health = await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined);
          if (health === undefined) await new Promise((r) => setTimeout(r, 50));
        }
        assert.equal(health?.status, 200, stderr);
        assert.equal((await fetch(`http://127.0.0.1:${port}/process`)).status, 503, 'the API answers too');
      } finally {
        child.kill('SIGTERM');
      }
      assert.equal(await exited, 0, stderr);
      assert.equal(
        stderr,
        'hydroplane: cannot write the log to standard output (ENOSPC); its lines are lost until it can be written again\n',
      );
    },
  );

  it('says what to change when it cannot listen: a port in use, an address or a name that is not this machine', async () => {
    const config = await writeConfig(`runtime:\n  runtime_type: docker\n  docker_host: unix://${missingSocket}\n`);
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const taken = (busy.address() as AddressInfo).port;
    try {
      const inUse = await runServerToExit(['-c', config, '-p', String(taken)]);
      assert.equal(inUse.code, 1);
      assert.match(
        inUse.output,
        new RegExp(
          `hydroplane: cannot listen on 127\\.0\\.0\\.1:${taken} \\(EADDRINUSE\\): another program listens there: stop it, or pass another port with -p`,
        ),
      );
    } finally {
      busy.close();
    }
    const token = { HYDROPLANE_API_TOKEN: 'tok-1' };
    const foreign = await runServerToExit(['-c', config, '-H', '192.0.2.1', '-p', '0'], token);
    assert.match(
      foreign.output,
      /cannot listen on 192\.0\.2\.1:0 \(EADDRNOTAVAIL\): 192\.0\.2\.1 is not an address of this machine: -H takes one of its own/,
    );
    const nameless = await runServerToExit(['-c', config, '-H', 'no-such-host.invalid', '-p', '0'], token);
    assert.match(nameless.output, /cannot listen on no-such-host\.invalid:0 \(ENOTFOUND\): no-such-host\.invalid names no host/);
  });

  it('refuses to listen beyond loopback without an API token', async () => {
    const config = await writeConfig(`runtime:\n  runtime_type: docker\n  docker_host: unix://${missingSocket}\n`);
    const { code, output } = await runServerToExit(['-c', config, '-H', '0.0.0.0', '-p', '0'], { HYDROPLANE_API_TOKEN: undefined });
    assert.equal(code, 1);
    assert.match(output, /refusing to listen on 0\.0\.0\.0 without an API token/);
  });

  it('listens beyond loopback with a token, and asks every client for it', async () => {
    const config = await writeConfig(`runtime:\n  runtime_type: docker\n  docker_host: unix://${missingSocket}\n`);
    const server = await startServerProcess(['-c', config, '-H', '0.0.0.0'], { HYDROPLANE_API_TOKEN: 'tok-123' });
    try {
      assert.equal((await fetch(`${server.url}/process`)).status, 401);
      const authorized = await fetch(`${server.url}/process`, { headers: { authorization: 'Bearer tok-123' } });
      assert.equal(authorized.status, 503, 'past the token check, the engine is away');
    } finally {
      assert.equal(await server.stop(), 0);
    }
    assert.doesNotMatch(server.output(), /tok-123/, 'the token never reaches the log');
  });

  it('refuses a token that no client could send the same way, without showing it', async () => {
    const config = await writeConfig(`runtime:\n  runtime_type: docker\n  docker_host: unix://${missingSocket}\n`);
    for (const [token, what] of [
      ['tok\nsecret-part', 'a line break'],
      ['tok\tsecret-part', 'a control character'],
      ['tök-secret-part', 'a character outside ASCII'],
    ] as const) {
      const { code, output } = await runServerToExit(['-c', config, '-p', '0'], { HYDROPLANE_API_TOKEN: token });
      assert.equal(code, 1, output);
      assert.match(output, new RegExp(`the API token from HYDROPLANE_API_TOKEN holds ${what} \\(character \\d+\\).*printable ASCII`));
      assert.doesNotMatch(output, /secret-part/);
    }
  });

  it('listens beyond loopback without a token only when told to', async () => {
    const config = await writeConfig(`runtime:\n  runtime_type: docker\n  docker_host: unix://${missingSocket}\n`);
    const server = await startServerProcess(['-c', config, '-H', '0.0.0.0', '--allow-unauthenticated'], {
      HYDROPLANE_API_TOKEN: undefined,
    });
    try {
      assert.equal((await fetch(`${server.url}/process`)).status, 503);
    } finally {
      assert.equal(await server.stop(), 0);
    }
    assert.match(server.output(), /without an API token/);
  });

  it('serves the dashboard at / unless told --no-dashboard', async () => {
    const config = await writeConfig(`runtime:\n  runtime_type: docker\n  docker_host: unix://${missingSocket}\n`);
    for (const [args, status] of [
      [[], 200],
      [['--no-dashboard'], 404],
    ] as const) {
      const server = await startServerProcess(['-c', config, ...args]);
      try {
        assert.equal((await fetch(`${server.url}/`)).status, status, args.join(' '));
        assert.equal((await fetch(`${server.url}/health`)).status, 200);
      } finally {
        assert.equal(await server.stop(), 0);
      }
    }
  });
});
