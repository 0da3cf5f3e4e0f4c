// Generated hostile requests against the real `hydroplane` command on a real Docker Engine: every
// route of the API document (and the hidden ones), every method, path and query parameter, filled
// from a hostile alphabet (encoded '/', '.', '%', '?', '#', '\', NUL, control characters, unicode,
// very long). Whatever arrives, the server answers 2xx or 4xx and stays alive, opens no connection
// but to its Engine, asks the Engine only to read, and creates nothing.
//
// The server runs as users run it (dist/cli/hydroplane.js) with two witnesses: a preload that
// records every connection the process opens (test/support/connection-recorder.ts), and a proxy in
// front of the Engine that records every Engine call and its answer. HYDROPLANE_FUZZ_RUNS sets the
// number of generated requests (default 400); a failure prints fast-check's seed to replay it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Dockerode from 'dockerode';
import fc from 'fast-check';
import { GROUP_LABEL, PROCESS_LABEL } from '../../src/labels.ts';
import { DNS_1035_LABEL } from '../../src/spec/names.ts';
import { TEST_IMAGE, dockerSkip } from '../support/docker.ts';
import { callKind, startEngineProxy, type EngineProxy } from '../support/engine-proxy.ts';
import type { RecordedConnection } from '../support/connection-recorder.ts';
import { ROOT, startServerProcess, writeConfig, type ServerProcess } from '../support/server-process.ts';

const RUNS = Number(process.env['HYDROPLANE_FUZZ_RUNS'] ?? 400);
const RECORDER = join(ROOT, 'test/support/connection-recorder.ts');

/** Pieces of a hostile path segment or query value, each already as it goes on the wire. */
const HOSTILE_PIECES = [
  '/',
  '//',
  '%2F',
  '%2f',
  '%2F%2F',
  '.',
  '..',
  '%2E',
  '%2e%2e',
  '..%2F',
  '..%2Fcontainers%2Fjson',
  '%2F%2Fsome-host%2Fx',
  '%',
  '%25',
  '%zz',
  '%E0%A4%A',
  '?',
  '%3F',
  '#',
  '%23',
  '\\',
  '%5C',
  '%5c..%5c',
  '&',
  '=',
  ';',
  '@',
  ':',
  '+',
  '~',
  '*',
  '%00',
  '%01',
  '%07',
  '%08',
  '%09',
  '%0A',
  '%0D',
  '%0D%0A',
  '%1B',
  '%1B%5B2J',
  '%7F',
  '%C2%80',
  '%C2%9B',
  '%E2%80%AE',
  '%E2%81%A6',
  '%ED%A0%80',
  '%EF%BF%BF',
  '%F0%9F%92%A5',
  '%FF',
  '%C0%AE',
  'é',
  '%C3%A9',
  '%20',
  '"',
  "'",
  '<',
  '>',
  '{',
  '}',
  '|',
  '^',
  '`',
  '[',
  ']',
  'localhost:1',
  '127.0.0.1:9',
  'unix:',
  'http:',
  'json',
  'containers',
  'create',
  'v1.41',
  '-',
  '_',
  '0',
  'a',
  'web',
  'A',
  'true',
  'false',
  '1e400',
  '-1',
  'NaN',
  '99999999999d',
  '0001-01-01T00:00:00Z',
];

const piece = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...HOSTILE_PIECES) },
  { weight: 2, arbitrary: fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,12}$/) },
  // Any unicode, percent-encoded as a well-behaved client would send it.
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 6 }).map(encodeURIComponent) },
  // Raw bytes of any kind, control characters and spaces included, as a hostile client sends them.
  { weight: 1, arbitrary: fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)), maxLength: 4 }) },
  { weight: 1, arbitrary: fc.constantFrom('a'.repeat(64), 'a'.repeat(254), 'a'.repeat(301), `${'%2F'.repeat(400)}x`, 'é'.repeat(3000)) },
);
const hostile = fc.array(piece, { maxLength: 8 }).map((parts) => parts.join(''));

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;

interface Operation {
  method: string;
  /** With {param} placeholders. */
  path: string;
  query: string[];
  body: boolean;
}

/** Routes that the API document hides: the dashboard's, the documentation's, and static files. */
const HIDDEN: Operation[] = [
  { method: 'GET', path: '/', query: [], body: false },
  { method: 'GET', path: '/openapi.json', query: [], body: false },
  { method: 'GET', path: '/docs', query: [], body: false },
  { method: 'GET', path: '/docs/static/{file}', query: [], body: false },
  { method: 'GET', path: '/dashboard/{file}', query: [], body: false },
  { method: 'GET', path: '/dashboard/config', query: [], body: false },
];

interface OpenApi {
  paths: Record<string, Record<string, { parameters?: Array<{ in: string; name: string }>; requestBody?: unknown }>>;
}

function operationsOf(doc: OpenApi): Operation[] {
  const ops: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const query = (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
      ops.push({ method: method.toUpperCase(), path, query, body: op.requestBody !== undefined });
    }
  }
  return ops;
}

/** A process spec that can never be started: its name or its image is not one any runtime accepts. */
function invalidSpecs(): fc.Arbitrary<unknown> {
  const notAName = hostile.filter((s) => !(DNS_1035_LABEL.test(s) && s.length <= 63));
  const spec = fc.record(
    {
      process_name: fc.oneof(notAName, fc.anything()),
      group: fc.oneof(hostile, fc.anything()),
      container: fc.record(
        {
          image_uri: fc.oneof(fc.constant(TEST_IMAGE), hostile),
          env: fc.array(fc.record({ name: hostile, value: fc.oneof(hostile, fc.anything()) }), { maxLength: 3 }),
          command: fc.array(hostile, { maxLength: 3 }),
          ports: fc.array(fc.record({ container_port: fc.oneof(fc.integer(), hostile), host_port: fc.anything() }), { maxLength: 2 }),
          node_selector: fc.dictionary(hostile, fc.oneof(hostile, fc.anything()), { maxKeys: 3 }),
        },
        { requiredKeys: [] },
      ),
    },
    { requiredKeys: ['process_name'] },
  );
  return fc.oneof(
    spec,
    fc.anything(),
    fc.json().map((text) => ({ raw: text })),
  );
}

interface HostileRequest {
  method: string;
  target: string;
  body?: string;
  contentType?: string;
}

function requests(ops: Operation[]): fc.Arbitrary<HostileRequest> {
  return fc
    .record({
      op: fc.constantFrom(...ops),
      otherMethod: fc.option(fc.constantFrom(...METHODS), { freq: 5 }),
      params: fc.array(hostile, { minLength: 2, maxLength: 2 }),
      query: fc.array(
        fc.tuple(fc.oneof(fc.constantFrom('wait', 'timeout', 'tail', 'since', 'follow', 'timestamps', 'group'), hostile), hostile),
        { maxLength: 4 },
      ),
      body: invalidSpecs(),
      contentType: fc.constantFrom('application/json', 'application/json', 'text/plain', 'application/x-www-form-urlencoded', undefined),
    })
    .map(({ op, otherMethod, params, query, body, contentType }) => {
      let i = 0;
      const path = op.path.replace(/\{[^}]+\}/g, () => params[i++ % params.length]!);
      // The operation's own query parameters first, so that most requests reach the route's checks.
      const pairs = query.map(([k, v], n) => `${op.query[n] ?? k}=${v}`);
      const target = pairs.length > 0 ? `${path}?${pairs.join('&')}` : path;
      const method = otherMethod ?? op.method;
      const request: HostileRequest = { method, target };
      if (method === 'POST' || method === 'PUT' || method === 'PATCH') {
        request.body = typeof body === 'object' && body !== null && 'raw' in body ? String(body.raw) : (JSON.stringify(body) ?? '');
        if (contentType !== undefined) request.contentType = contentType;
      }
      return request;
    });
}

interface Answer {
  status: number;
  head: string;
  body: string;
}

/**
 * Sends the request line byte for byte (fetch and http.request refuse or re-encode hostile
 * targets) and reads the answer to the end of the connection, or, for an event stream, to the end
 * of its head.
 */
function send(port: number, req: HostileRequest): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within 15 s to ${show(req)}`));
    }, 15_000);
    socket.on('data', (d) => {
      chunks.push(d);
      // An event stream (GET /events) never ends by itself: its head is the answer.
      const text = Buffer.concat(chunks).toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      if (split >= 0 && /^content-type: text\/event-stream/im.test(text.slice(0, split))) socket.destroy();
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      if (!match) return reject(new Error(`no HTTP answer to ${show(req)}: ${JSON.stringify(text.slice(0, 200))}`));
      const split = text.indexOf('\r\n\r\n');
      resolve({ status: Number(match[1]), head: text.slice(0, split), body: text.slice(split + 4) });
    });
    const body = req.body === undefined ? undefined : Buffer.from(req.body);
    const head = [
      `${req.method} ${req.target} HTTP/1.1`,
      `Host: 127.0.0.1:${port}`,
      'Connection: close',
      ...(req.contentType ? [`Content-Type: ${req.contentType}`] : []),
      ...(body ? [`Content-Length: ${body.length}`] : []),
    ];
    socket.write(Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`, 'latin1'), body ?? Buffer.alloc(0)]));
  });
}

/** A request for a message: its target shortened, with every character visible. */
function show(req: HostileRequest): string {
  const target = req.target.length > 200 ? `${req.target.slice(0, 200)}…(${req.target.length} characters)` : req.target;
  return `${req.method} ${JSON.stringify(target)}`;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * What the server could have created or removed on the Engine: the containers on its network (a
 * process joins it), the networks of its network's name, and the images. Other containers and
 * networks are left out, so that tests running beside this one on a shared Engine do not show up.
 */
async function engineState(docker: Dockerode, network: string): Promise<{ containers: string[]; networks: string[]; images: string[] }> {
  const [containers, networks, images] = await Promise.all([
    docker.listContainers({ all: true }),
    docker.listNetworks(),
    docker.listImages({ all: true }),
  ]);
  return {
    containers: containers
      .filter((c) => Object.keys(c.NetworkSettings?.Networks ?? {}).includes(network) || c.HostConfig?.NetworkMode === network)
      .map((c) => c.Id)
      .sort(),
    networks: networks
      .filter((n) => n.Name.startsWith(network))
      .map((n) => n.Id)
      .sort(),
    images: images.map((i) => i.Id).sort(),
  };
}

/** What the Engine may be asked while hostile requests arrive and no process is started or stopped: reads. */
const READS = new Set([
  'GET /containers/json',
  'GET /containers/{id}/json',
  'GET /containers/{id}/logs',
  'GET /events',
  'GET /_ping',
  'GET /version',
]);
/** A name or id in an Engine path: what Docker itself allows in a container name, or a hex id. */
const ENGINE_NAME = /^\/containers\/[a-zA-Z0-9][a-zA-Z0-9_.-]*\/(json|logs)$/;

describe('hostile requests against the real server on a real Engine', { skip: await dockerSkip() }, () => {
  const docker = new Dockerode();
  const tag = randomBytes(4).toString('hex');
  const network = `hp-fuzz-${tag}`;
  const keeper = `hp-fuzz-${tag}`;
  let dir: string;
  let proxy: EngineProxy;
  let server: ServerProcess;
  let connectionLog: string;
  let keeperId: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hp-fuzz-'));
    proxy = await startEngineProxy(join(dir, 'engine.sock'));
    connectionLog = join(dir, 'connections.jsonl');
    const config = await writeConfig(
      `runtime:\n  runtime_type: docker\n  docker_host: unix://${proxy.socketPath}\n  network: ${network}\n`,
    );
    server = await startServerProcess(['-c', config], {
      NODE_OPTIONS: `--import ${RECORDER}`,
      HYDROPLANE_TEST_CONNECTION_LOG: connectionLog,
    });
    // A process that hostile requests must leave alone.
    const started = await fetch(`${server.url}/process`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ process_name: keeper, group: keeper, container: { image_uri: TEST_IMAGE, command: ['sleep', '3600'] } }),
    });
    assert.equal(started.status, 201, await started.text());
    keeperId = (await docker.listContainers({ all: true, filters: { name: [keeper] } })).find((c) => c.Names.includes(`/${keeper}`))!.Id;
  });

  after(async () => {
    await docker
      .getContainer(keeperId)
      .remove({ force: true })
      .catch(() => {});
    await server?.stop();
    await docker
      .getNetwork(network)
      .remove()
      .catch(() => {});
    await proxy?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers every generated request 2xx or 4xx, stays alive, connects nowhere else and changes nothing', async () => {
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as OpenApi;
    const ops = [...operationsOf(doc), ...HIDDEN];
    assert.ok(
      ops.some((op) => op.path.includes('{')),
      'the API document names no path parameter',
    );
    const before = await engineState(docker, network);
    assert.equal(before.containers.length, 1, 'the process that hostile requests must leave alone is not on its network');
    // The Engine is shared with whatever else runs here: a generated name or group that happens to
    // be one of the processes on it is left out, and the proxy lets no change through meanwhile.
    const owned = await docker.listContainers({ all: true, filters: { label: [PROCESS_LABEL] } });
    const taken = owned
      .flatMap((c) => [c.Labels[PROCESS_LABEL], c.Labels[GROUP_LABEL]])
      .filter((n): n is string => Boolean(n) && n !== keeper);
    proxy.reset();
    proxy.readOnly = true;
    const seen = new Map<number, number>();

    await fc.assert(
      fc.asyncProperty(requests(ops), async (req) => {
        fc.pre(!taken.some((name) => req.target.includes(name) || safeDecode(req.target).includes(name)));
        const answer = await send(server.port, req);
        seen.set(answer.status, (seen.get(answer.status) ?? 0) + 1);
        assert.ok(
          (answer.status >= 200 && answer.status < 300) || (answer.status >= 400 && answer.status < 500),
          `${show(req)} answered ${answer.status}: ${answer.body.slice(0, 300)}`,
        );
        assert.doesNotMatch(answer.body, /root:x:0:0:/, 'a file of the host was served');
        if (answer.status >= 400 && req.method !== 'HEAD' && /application\/json/i.test(answer.head)) {
          const body = JSON.parse(answer.body) as { error?: unknown; details?: unknown };
          assert.equal(body.error, answer.status, answer.body);
          assert.equal(typeof body.details, 'string', answer.body);
        }
        assert.equal(server.child.exitCode, null, `the server died after ${show(req)}:\n${server.output().slice(-2000)}`);
      }),
      {
        numRuns: RUNS,
        examples: [
          [{ method: 'GET', target: '/process/..%2Fcontainers%2Fjson' }],
          [{ method: 'DELETE', target: '/process/..%2Fcontainers%2Fjson' }],
          [{ method: 'GET', target: '/process/%2F%2Fsome-host%2Fx' }],
          [{ method: 'GET', target: '/process/%2Fx' }],
          [{ method: 'GET', target: `/process/${keeper}/logs?since=99999999999d` }],
          [{ method: 'GET', target: '/group/..%2F..%2Fnetworks' }],
          [{ method: 'GET', target: '/dashboard/..%2F..%2F..%2F..%2Fetc%2Fpasswd' }],
        ],
      },
    );

    // An error event may end a process a moment after its answer: give it that moment.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(server.child.exitCode, null, `the server died:\n${server.output().slice(-2000)}`);
    assert.equal((await fetch(`${server.url}/health`)).status, 200);

    const connections = (await readFile(connectionLog, 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as RecordedConnection);
    const elsewhere = connections.filter((c) => c.path !== proxy.socketPath);
    assert.deepEqual(elsewhere, [], 'the server opened connections to something other than its Engine');

    proxy.readOnly = false;
    const notReads = proxy.calls.filter((c) => !READS.has(callKind(c)));
    assert.deepEqual(
      notReads.map((c) => `${c.method} ${c.url}`),
      [],
      'the Engine was asked for more than reads',
    );
    const oddNames = proxy.calls.filter(
      (c) => c.path.startsWith('/containers/') && c.path !== '/containers/json' && !ENGINE_NAME.test(c.path),
    );
    assert.deepEqual(
      oddNames.map((c) => c.url),
      [],
      'a name that no container can have reached the Engine',
    );
    const redirects = proxy.calls.filter((c) => c.status !== undefined && c.status >= 300 && c.status < 400);
    assert.deepEqual(
      redirects.map((c) => `${c.status} ${c.url}`),
      [],
      'the Engine answered with a redirect',
    );

    assert.deepEqual(await engineState(docker, network), before, 'hostile requests created or removed something on the Engine');
    const kept = await docker.getContainer(keeperId).inspect();
    assert.equal(kept.State.Running, true, 'the process that was running before is not running any more');
    const statuses = [...seen].sort(([a], [b]) => a - b).map(([s, n]) => `${s}: ${n}`);
    process.stdout.write(`# ${RUNS} hostile requests; answers by status: ${statuses.join(', ')}; ${proxy.calls.length} Engine calls\n`);
  });
});
