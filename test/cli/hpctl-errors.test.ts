// How hpctl reports what went wrong: for a person at a terminal, the server's error as sentences
// with each field problem on its own line; for a script (stderr not a terminal, or -o json), the
// error body as JSON, as the original printed it. An answer that no Hydroplane server would give
// is named as such; -d shows each request and answer, never the token.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { main, type Io } from '../../src/cli/hpctl.ts';
import { buildApp } from '../../src/server/app.ts';
import { FakeRuntime } from '../support/fake-runtime.ts';
import { runHpctl } from '../support/hpctl.ts';

/** A spec with an invalid port and a misspelt field, for `start -`. */
const BAD_SPEC = '{"process_name": "x", "container": {"image_uri": "nginx", "ports": [{"container_port": 99999}]}, "grup": 1}';

const hpctl = (server: string, argv: string[], io: Partial<Io> = {}) => runHpctl(server, argv, { stdin: BAD_SPEC, io });

const person: Partial<Io> = { stdoutIsTerminal: true, stderrIsTerminal: true };

describe('hpctl errors', () => {
  const runtime = new FakeRuntime();
  let server = '';
  let close: () => Promise<void>;
  before(async () => {
    const app = await buildApp({ runtime, logger: false, dashboard: false, apiToken: 'the-token' });
    await app.listen({ host: '127.0.0.1', port: 0 });
    server = `127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    close = () => app.close();
  });
  after(() => close());

  it('for a person: the details, then each field problem on a line of its own', async () => {
    const refused = await hpctl(server, ['-t', 'the-token', 'start', '-'], person);
    assert.equal(refused.code, 1);
    const lines = refused.stderr.trimEnd().split('\n');
    assert.match(lines[0]!, /^hpctl: the server refused it \(invalid_spec, HTTP 422\):$/);
    assert.ok(
      lines.some((l) => /^ {2}container\.ports\[0\]\.container_port: /.test(l)),
      refused.stderr,
    );
    assert.ok(
      lines.some((l) => /^ {2}grup: unknown field; did you mean 'group'\?$/.test(l)),
      refused.stderr,
    );
    assert.doesNotMatch(refused.stderr, /[{}"]/, 'no JSON');
    const missing = await hpctl(server, ['-t', 'the-token', 'get', 'nobody'], person);
    assert.equal(missing.stderr, "hpctl: no process named 'nobody'\n");
  });

  it('for a script, and with -o json: the error body as JSON', async () => {
    const script = await hpctl(server, ['-t', 'the-token', 'get', 'nobody']);
    assert.deepEqual(JSON.parse(script.stderr), { error: 404, code: 'process_not_found', details: "no process named 'nobody'" });
    const asked = await hpctl(server, ['-t', 'the-token', 'get', 'nobody', '-o', 'json'], person);
    assert.equal(JSON.parse(asked.stderr).code, 'process_not_found');
  });

  it('-d shows each request and its answer, and never the token', async () => {
    const res = await hpctl(server, ['-t', 'the-token', '-d', 'list'], person);
    assert.equal(res.code, 0, res.stderr);
    const lines = res.stderr.trimEnd().split('\n');
    assert.equal(lines[0], `> GET http://${server}/process`);
    assert.match(lines[1]!, /^< 200 application\/json/);
    assert.equal(lines[2], '< []');
    const refused = await hpctl(server, ['-t', 'the-token', '-d', 'start', '-'], person);
    assert.match(refused.stderr, /^> POST http:\/\/.*\/process\?fieldValidation=Strict\n> \{"process_name":"x"/);
    assert.match(refused.stderr, /^< 422 application\/json/m);
    assert.doesNotMatch(res.stderr + refused.stderr, /the-token/);
  });

  it('stop says what it stopped as lines on a terminal, and as JSON to a program', async () => {
    for (const name of ['a1', 'a2'])
      await runtime.start({ process_name: name, group: 'sg', has_public_ip: false, container: { image_uri: 'nginx', ports: [] } } as never);
    const said = await hpctl(server, ['-t', 'the-token', 'stop', 'a1'], person);
    assert.equal(said.stdout, 'stopped a1\n');
    assert.deepEqual(JSON.parse((await hpctl(server, ['-t', 'the-token', 'stop', '-g', 'sg'])).stdout), { stopped: ['a2'] });
    assert.equal((await hpctl(server, ['-t', 'the-token', 'stop', '-g', 'sg'], person)).stdout, 'nothing to stop in group sg\n');
  });
});

describe('hpctl pointed at something else', () => {
  let web: Server;
  let address = '';
  let answer: { status: number; type: string; body: string } = {
    status: 200,
    type: 'text/html',
    body: '<html>\n<p>Welcome</p>\n</html>\n',
  };
  before(async () => {
    web = createServer((_req, res) => res.writeHead(answer.status, { 'content-type': answer.type }).end(answer.body));
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    address = `127.0.0.1:${(web.address() as AddressInfo).port}`;
  });
  after(() => web.close());

  for (const [what, given] of [
    ['a web page answered 200', { status: 200, type: 'text/html', body: '<html>\n<p>Welcome</p>\n</html>\n' }],
    ["a proxy's error page", { status: 502, type: 'text/html', body: '<h1>502 Bad Gateway</h1>\n' }],
    ['JSON without the error shape', { status: 500, type: 'application/json', body: '{"message":"boom"}' }],
    ['an empty answer', { status: 200, type: 'text/plain', body: '' }],
  ] as const) {
    it(`names ${what} as not from a Hydroplane server, and exits 1`, async () => {
      answer = given;
      for (const io of [person, {}]) {
        const res = await hpctl(address, ['list'], io);
        assert.equal(res.code, 1, res.stderr);
        assert.equal(res.stdout, '');
        const lines = res.stderr.trimEnd().split('\n');
        assert.match(
          lines[0]!,
          new RegExp(
            `^hpctl: the answer from http://${address}/process \\(HTTP ${given.status}, ${given.type.replace('/', '\\/')}\\) is not from a Hydroplane server; is -s the address of a Hydroplane server\\?$`,
          ),
        );
        assert.equal(lines.slice(1).join('\n'), given.body.trimEnd());
      }
    });
  }
});

describe('hpctl pointed at an answer that never ends', () => {
  // A download or a stream where the API should be: before, hpctl read it until its memory or the
  // text's length gave out. Now it stops past 64 MiB, says so, shows the start, and hangs up.
  let endless: Server;
  let address = '';
  const closed: string[] = [];
  before(async () => {
    const chunk = Buffer.alloc(1 << 20, 0x61);
    endless = createServer((req, res) => {
      const status = req.url?.includes('nobody') ? 500 : 200;
      res.writeHead(status, { 'content-type': req.url?.startsWith('/events') ? 'text/plain' : 'application/json' });
      res.write('BEGIN');
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
      };
      res.on('drain', pump);
      res.on('close', () => closed.push(req.url ?? ''));
      pump();
    });
    await new Promise<void>((resolve) => endless.listen(0, '127.0.0.1', resolve));
    address = `127.0.0.1:${(endless.address() as AddressInfo).port}`;
  });
  after(() => {
    endless.closeAllConnections();
    endless.close();
  });

  for (const argv of [['list'], ['get', 'nobody'], ['events'], ['logs', 'nobody'], ['stop', 'x']]) {
    it(`${argv.join(' ')}: exits 1 past 64 MiB, naming the answer, and closes the connection`, async () => {
      const res = await hpctl(address, argv);
      assert.equal(res.code, 1, res.stderr);
      const lines = res.stderr.split('\n');
      assert.match(
        lines[0]!,
        /^hpctl: the answer from http:\/\/.* runs past 64 MiB, which no Hydroplane answer does; is -s the address of a Hydroplane server\?$/,
      );
      assert.match(lines[1]!, /^BEGINa{1995}$/);
      assert.equal(lines[2], '… (the rest left unread)');
      assert.ok(res.stderr.length < 3000, `${res.stderr.length} characters on stderr`);
      const url = `/${argv[0] === 'list' ? 'process' : argv[0] === 'events' ? 'events' : `process/${argv[1]}`}`;
      for (let i = 0; i < 100 && !closed.some((c) => c.startsWith(url)); i++) await new Promise((r) => setTimeout(r, 20));
      assert.ok(
        closed.some((c) => c.startsWith(url)),
        `the connection to ${url} stayed open: ${closed.join(', ')}`,
      );
    });
  }
});

describe('hpctl events from a stream that never ends a line or a message', () => {
  // text/event-stream as the API's, but a line (or one message's data) that goes on: before, hpctl
  // held it all and never printed a thing; now it stops past 1 MiB, says why, and does not retry.
  for (const [what, unit] of [
    ['a line', 'a'.repeat(65536)],
    ['a message', 'data: x\n'.repeat(8192)],
  ] as const) {
    it(`names ${what} of more than 1 MiB and exits 1`, async () => {
      const endless = createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(what === 'a line' ? 'data: ' : '');
        const pump = () => {
          while (!res.destroyed && res.write(unit));
        };
        res.on('drain', pump);
        pump();
      });
      await new Promise<void>((resolve) => endless.listen(0, '127.0.0.1', resolve));
      try {
        const res = await hpctl(`127.0.0.1:${(endless.address() as AddressInfo).port}`, ['events'], {
          sleep: async () => assert.fail('hpctl retried'),
        });
        assert.equal(res.code, 1, res.stderr);
        assert.equal(
          res.stderr,
          `hpctl: the event stream sent ${what} of more than 1 MiB, which no Hydroplane event is; is it a Hydroplane server?\n`,
        );
      } finally {
        endless.closeAllConnections();
        endless.close();
      }
    });
  }
});

describe('hpctl usage errors', () => {
  it("are in hpctl's style too, commander's included, and exit 2", async () => {
    for (const argv of [['lst'], ['list', '-x'], ['list', '-o', 'xml'], ['start'], ['start', '--timeout', '5', 'a.json']]) {
      const res = await hpctl('127.0.0.1:9', argv);
      assert.equal(res.code, 2, `${argv.join(' ')}: ${res.stderr}`);
      assert.match(res.stderr, /^hpctl: \S/, argv.join(' '));
      assert.doesNotMatch(res.stderr, /^error:/m, argv.join(' '));
    }
  });

  it('name an address that is not one, from -s or HYDROPLANE_SERVER, before any request', async () => {
    for (const address of ['::::', 'http://[bad', 'x y', 'ftp://host:21', 'http://']) {
      const flag = await hpctl(address, ['list']);
      assert.equal(flag.code, 2, flag.stderr);
      assert.match(flag.stderr, /^hpctl: -s is '.*', which is not a server address: give HOST:PORT/);
      let stderr = '';
      const code = await main(['list'], { stdout: () => {}, stderr: (t) => void (stderr += t), env: { HYDROPLANE_SERVER: address } });
      assert.equal(code, 2, stderr);
      assert.match(stderr, /^hpctl: HYDROPLANE_SERVER is '.*', which is not a server address/);
    }
  });

  // fetch refuses a URL with credentials, which hpctl then reported as "cannot reach", with the
  // password in the message. Any user part, any password (':' and '@' in it too), any way of
  // writing the address: refused before any request, and the password never shown.
  it('refuse an address with a user name or password, without showing the password', async () => {
    const userChar = fc.constantFrom(...'abcXYZ019._~-%!$&'.split(''));
    const passwordChar = fc.constantFrom(...'abcXYZ019._~-!$&@:;='.split(''));
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: userChar, maxLength: 8 }),
        fc.string({ unit: passwordChar, minLength: 1, maxLength: 12 }),
        fc.constantFrom('http://', 'https://', ''),
        fc.constantFrom('127.0.0.1:9', 'localhost:8000', '[::1]:9', 'hp.example'),
        fc.constantFrom('', '/', '/api?x=1'),
        async (user, password, scheme, host, path) => {
          const secret = `Zq9${password}`;
          const address = `${scheme}${user}:${secret}@${host}${path}`;
          const res = await hpctl(address, ['list']);
          assert.equal(res.code, 2, `${address}: ${res.stderr}`);
          assert.match(res.stderr, /^hpctl: -s is '.*', with a user name or password in it, which hpctl does not send/);
          assert.ok(!res.stderr.includes(secret), `the password is shown: ${res.stderr}`);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('refuse a token that no HTTP header carries the same way from every client, without showing it', async () => {
    const visible = fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 6 });
    const bad = fc.constantFrom('\n', '\r', '\t', '\u0000', '\u001b', '\u007f', 'é', '€', '\u{1F600}');
    await fc.assert(
      fc.asyncProperty(
        visible.filter((v) => v !== ''),
        bad,
        visible,
        fc.boolean(),
        async (before, character, rest, fromFlag) => {
          const token = `${before}${character}Zq9secret${rest}`;
          const res = fromFlag
            ? await hpctl('127.0.0.1:9', ['-t', token, 'list'])
            : await hpctl('127.0.0.1:9', ['list'], { env: { HYDROPLANE_API_TOKEN: token } });
          assert.equal(res.code, 2, res.stderr);
          assert.match(
            res.stderr,
            new RegExp(
              `^hpctl: the API token from ${fromFlag ? '-t' : 'HYDROPLANE_API_TOKEN'} holds .* \\(character ${before.length + 1}\\)`,
            ),
          );
          assert.ok(!res.stderr.includes('Zq9secret'), res.stderr);
        },
      ),
      { numRuns: 60 },
    );
    // A token file's line end, or spaces around it, are not part of it (the server trims too).
    const trimmed = await hpctl('127.0.0.1:9', ['-t', ' tok-1\n', 'list']);
    assert.doesNotMatch(trimmed.stderr, /API token/);
  });

  it('take a bare number for the port it surely is not, and say how to give one', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 99_999 }), async (n) => {
        const res = await hpctl(String(n), ['list']);
        assert.equal(res.code, 2, res.stderr);
        assert.match(res.stderr, new RegExp(`^hpctl: -s is '${n}', a number, .*give localhost:${n}\\n`));
      }),
      { numRuns: 50 },
    );
  });
});
