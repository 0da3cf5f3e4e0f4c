import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { HydroplaneError } from '../../../src/errors.ts';
import {
  EngineError,
  boundedText,
  isImageMissing,
  isNameInUse,
  isNetworkExists,
  isNetworkNotFound,
  isRemovalInProgress,
  networkFullness,
  readPullError,
  toEngineError,
  translateEngineError,
} from '../../../src/runtimes/docker/errors.ts';

const endpoint = 'unix:///var/run/docker.sock';
const base = { action: "starting process 'web'", endpoint, processName: 'web', image: 'nginx' };
/** What docker-modem rejects with for an error status. */
const modemError = (statusCode: number, message: string) =>
  Object.assign(new Error(`(HTTP code ${statusCode}) unexpected - ${message} `), { statusCode, reason: 'x', json: { message } });
const socketError = (code: string, message: string) => Object.assign(new Error(message), { code, syscall: 'connect' });

function translated(raw: unknown, ctx: Partial<Parameters<typeof translateEngineError>[1]> = {}) {
  const err = translateEngineError(raw, { ...base, ...ctx });
  assert.ok(err instanceof HydroplaneError);
  assert.equal('statusCode' in err, false);
  assert.equal('statusCode' in (err.cause as object), false, 'the cause carries no raw status either');
  return err;
}

describe('toEngineError', () => {
  it('keeps the Engine message without docker-modem prefix, and the status apart', () => {
    const err = toEngineError(modemError(404, 'No such container: web'));
    assert.equal(err.kind, 'http');
    assert.equal(err.status, 404);
    assert.equal(err.message, 'No such container: web');
    const noJson = toEngineError(
      Object.assign(new Error('(HTTP code 500) server error - manifest unknown '), { statusCode: 500, json: null }),
    );
    assert.equal(noJson.message, 'manifest unknown');
  });

  it('classes socket errors as unreachable and our timer as timeout', () => {
    assert.equal(toEngineError(socketError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:2375')).kind, 'unreachable');
    assert.equal(toEngineError(new Error('socket hang up')).kind, 'unreachable');
    assert.equal(toEngineError(Object.assign(new Error('aborted'), { name: 'AbortError' }), true).kind, 'timeout');
  });

  it('recognises the races it tolerates', () => {
    assert.ok(isRemovalInProgress(toEngineError(modemError(409, 'removal of container abc is already in progress'))));
    assert.ok(isNetworkNotFound(toEngineError(modemError(404, 'network hydroplane not found'))));
    assert.ok(!isNetworkNotFound(toEngineError(modemError(404, 'No such container: x'))));
  });
});

/** An error body as Podman sends it: cause, message, response. */
const podmanError = (statusCode: number, message: string, cause: string) =>
  Object.assign(new Error(`(HTTP code ${statusCode}) unexpected - ${message} `), {
    statusCode,
    reason: 'x',
    json: { cause, message, response: statusCode },
  });

describe('the answers of Docker 20.10, 26.1 and Podman 4.3 (measured, README.md)', () => {
  it('a name in use: Docker 409, Podman 500', () => {
    const docker = toEngineError(
      modemError(
        409,
        'Conflict. The container name "/web" is already in use by container "abc". You have to remove (or rename) that container to be able to reuse that name.',
      ),
    );
    const podman = toEngineError(
      podmanError(
        500,
        'container create: creating container storage: the container name "web" is already in use by abc. You have to remove that container to be able to reuse that name: that name is already in use',
        'that name is already in use',
      ),
    );
    assert.ok(isNameInUse(docker));
    assert.ok(isNameInUse(podman));
    assert.ok(!isNameInUse(toEngineError(modemError(500, 'port is already allocated'))));
    assert.ok(!isNameInUse(toEngineError(modemError(404, 'No such container: web'))));
    assert.equal(translated(podman, { phase: 'create' }).code, 'process_exists');
  });

  it('a missing image on create, a missing network, a network that exists', () => {
    assert.ok(isImageMissing(toEngineError(modemError(404, 'No such image: nope:latest'))));
    assert.ok(
      isImageMissing(toEngineError(podmanError(404, 'no such image: docker.io/library/nope:latest: image not known', 'image not known'))),
    );
    assert.equal(
      translated(podmanError(404, 'no such image: docker.io/library/nope:latest: image not known', 'image not known'), { phase: 'create' })
        .code,
      'image_not_found',
    );
    assert.ok(isNetworkNotFound(toEngineError(modemError(404, 'network hp-net not found'))));
    assert.ok(
      isNetworkNotFound(
        toEngineError(
          podmanError(500, 'container create: unable to find network with name or ID hp-net: network not found', 'network not found'),
        ),
      ),
    );
    assert.ok(isNetworkExists(toEngineError(modemError(409, 'network with name hp-net already exists'))));
    assert.ok(
      isNetworkExists(
        toEngineError(podmanError(500, 'network name hp-net already used: network already exists', 'network already exists')),
      ),
    );
    assert.ok(!isNetworkExists(toEngineError(modemError(500, 'something odd happened'))));
  });

  it('a command not in the image is invalid_spec on every Engine', () => {
    const texts: Array<[number, string]> = [
      [
        400,
        'failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "/no/such/program": stat /no/such/program: no such file or directory: unknown',
      ],
      [
        400,
        'failed to create task for container: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "/no/such/program": stat /no/such/program: no such file or directory: unknown',
      ],
      [
        500,
        'runc: runc create failed: unable to start container process: exec: "/no/such/program": stat /no/such/program: no such file or directory: OCI runtime attempted to invoke a command that was not found',
      ],
    ];
    for (const [status, text] of texts) assert.equal(translated(modemError(status, text), { phase: 'start' }).code, 'invalid_spec', text);
  });

  /** [Engine's words, the registry's status they name or the code they report]: registry answers of every kind, on the three Engines. */
  const PULL_WORDINGS: Array<[string, ReturnType<typeof readPullError>]> = [
    ['error parsing HTTP 403 response body: invalid character \'<\' looking for beginning of value: "<html>"', { status: 403 }],
    ['error parsing HTTP 404 response body: no error details found in HTTP response body: "{}"', { status: 404 }],
    ['received unexpected HTTP status: 503 Service Unavailable', { status: 503 }],
    [
      "pull access denied for 127.0.0.1:5000/evil/app, repository does not exist or may require 'docker login': denied: <html>",
      { code: 'denied' },
    ],
    ['unauthorized: authentication required', { code: 'unauthorized' }],
    ['unauthorized: <html><body>nope</body></html>', { code: 'unauthorized' }],
    ['Head "http://127.0.0.1:5000/v2/x/manifests/latest": no basic auth credentials', { code: 'unauthorized' }],
    ['manifest unknown', { code: 'missing' }],
    ['manifest for 127.0.0.1:5000/x:1 not found: manifest unknown: manifest unknown', { code: 'missing' }],
    ['unknown: <html>404</html>', { code: 'unknown' }],
    ['toomanyrequests: slow down', { code: 'rate_limited' }],
    ['initializing source docker://127.0.0.1:5000/x:1: reading manifest 1 in 127.0.0.1:5000/x: StatusCode: 404, <html>', { status: 404 }],
    [
      'initializing source docker://127.0.0.1:5000/x:1: reading manifest 1 in 127.0.0.1:5000/x: received unexpected HTTP status: 500 Internal Server Error',
      { status: 500 },
    ],
    ['initializing source docker://127.0.0.1:5000/x:1: reading manifest 1 in 127.0.0.1:5000/x: denied: go away', { code: 'denied' }],
    [
      'initializing source docker://127.0.0.1:5000/x:1: reading manifest 1 in 127.0.0.1:5000/x: unauthorized: authentication required',
      { code: 'unauthorized' },
    ],
    ['initializing source docker://127.0.0.1:5000/x:1: reading manifest 1 in 127.0.0.1:5000/x: manifest unknown', { code: 'missing' }],
  ];

  it("reads a pull error by the Engine's wording", () => {
    for (const [text, finding] of PULL_WORDINGS) assert.deepEqual(readPullError(text), finding, text);
  });

  it("the registry's words after the Engine's never change the reading: a status or code in a body decides nothing", () => {
    const misleading = fc.oneof(
      fc.constantFrom(
        'HTTP status: 404',
        'StatusCode: 401, x',
        'error parsing HTTP 404 response body',
        'denied',
        'unauthorized',
        'manifest unknown',
        '401 Unauthorized',
        'not found',
      ),
      fc.string({ maxLength: 80 }),
    );
    fc.assert(
      fc.property(fc.constantFrom(...PULL_WORDINGS), misleading, fc.boolean(), ([text, finding], words, stream) => {
        const said = `${text} ${words}`;
        assert.deepEqual(readPullError(said), finding, said);
        const raw = stream ? new EngineError('stream', said) : modemError(500, said);
        const alone = translated(stream ? new EngineError('stream', text) : modemError(500, text), {
          phase: 'pull',
          registry: 'r.example',
        });
        assert.equal(translated(raw, { phase: 'pull', registry: 'r.example' }).code, alone.code);
      }),
      { numRuns: 300 },
    );
  });

  it('a denied pull is ambiguous and says both; with credentials it is registry_auth_failed', () => {
    for (const text of [
      "pull access denied for r.example/x, repository does not exist or may require 'docker login': denied: requested access to the resource is denied",
      'initializing source docker://r.example/x:1: reading manifest 1 in r.example/x: denied: requested access to the resource is denied',
    ]) {
      const anonymous = translated(new EngineError('stream', text), { phase: 'pull', registry: 'r.example' });
      assert.equal(anonymous.code, 'image_not_found');
      assert.match(anonymous.message, /does not exist there .* or it is private .*does not say which/);
      assert.doesNotMatch(anonymous.message, /\(HTTP/);
      const withCredentials = translated(new EngineError('stream', text), { phase: 'pull', registry: 'r.example', withCredentials: true });
      assert.equal(withCredentials.code, 'registry_auth_failed');
      assert.match(withCredentials.message, /credentials given.*image name and tag/);
    }
  });
});

describe('translateEngineError', () => {
  it('passes HydroplaneErrors through', () => {
    const original = new HydroplaneError('secret_not_found', 'no secret');
    assert.equal(translateEngineError(original, base), original);
  });

  it('unreachable socket -> runtime_unavailable naming the runtime, the socket and what to do', () => {
    const err = translated(socketError('ENOENT', 'connect ENOENT /var/run/docker.sock'));
    assert.equal(err.code, 'runtime_unavailable');
    assert.equal(err.status, 503);
    assert.match(err.message, /docker runtime/);
    assert.ok(err.message.includes(endpoint));
    assert.match(err.message, /start the Docker daemon/);
    assert.match(err.message, /docker_host|DOCKER_HOST/);
    assert.match(translated(socketError('EACCES', 'connect EACCES')).message, /docker group/);
    assert.equal(translated(socketError('ECONNREFUSED', 'refused'), { endpoint: 'tcp://10.0.0.5:2375' }).code, 'runtime_unavailable');
  });

  it('no descriptor left in the server (EMFILE, as seen under ulimit -n 34) -> runtime_unavailable saying which limit to raise', () => {
    for (const code of ['EMFILE', 'ENFILE']) {
      const err = translated(socketError(code, `connect ${code} /var/run/docker.sock`), { action: 'listing processes' });
      assert.equal(err.code, 'runtime_unavailable');
      assert.match(err.message, new RegExp(`no file descriptor left \\(${code}\\)`));
      assert.match(err.message, /LimitNOFILE=/);
      assert.doesNotMatch(err.message, /start the Docker daemon/);
    }
  });

  it('our timeout -> runtime_timeout naming the limit', () => {
    const err = translated(new EngineError('timeout', 'no answer in time'), { timeoutSeconds: 60 });
    assert.equal(err.code, 'runtime_timeout');
    assert.equal(err.status, 504);
    assert.match(err.message, /within 60 s/);
  });

  it('port conflicts -> port_in_use naming the port', () => {
    const allocated = translated(
      modemError(
        500,
        'driver failed programming external connectivity on endpoint web (abc): Bind for 0.0.0.0:8080 failed: port is already allocated',
      ),
      { phase: 'start' },
    );
    assert.equal(allocated.code, 'port_in_use');
    assert.match(allocated.message, /host port 8080 \(on 0\.0\.0\.0\)/);
    const inUse = translated(
      modemError(
        500,
        'driver failed programming external connectivity on endpoint web (abc): Error starting userland proxy: listen tcp4 127.0.0.1:9000: bind: address already in use',
      ),
      { phase: 'start' },
    );
    assert.equal(inUse.code, 'port_in_use');
    assert.match(inUse.message, /host port 9000/);
  });

  it('pull failures -> image_not_found, registry_auth_failed or runtime_error', () => {
    const pull = { phase: 'pull' as const };
    assert.equal(translated(modemError(404, 'manifest for nginx:nope not found: manifest unknown'), pull).code, 'image_not_found');
    assert.equal(translated(new EngineError('stream', 'manifest unknown'), pull).code, 'image_not_found');
    assert.equal(translated(modemError(500, 'unauthorized: authentication required'), pull).code, 'registry_auth_failed');
    assert.equal(
      translated(modemError(500, 'Head "http://r/v2/x/manifests/latest": no basic auth credentials'), pull).code,
      'registry_auth_failed',
    );
    const hub =
      "pull access denied for nosuch/image, repository does not exist or may require 'docker login': denied: requested access to the resource is denied";
    const guessed = translated(modemError(404, hub), pull);
    assert.equal(guessed.code, 'image_not_found');
    assert.match(guessed.message, /private/);
    assert.equal(translated(modemError(404, hub), { ...pull, withCredentials: true }).code, 'registry_auth_failed');
    const offline = translated(
      modemError(500, 'Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io: no such host'),
      pull,
    );
    assert.equal(offline.code, 'runtime_error');
    assert.match(offline.message, /could not pull image 'nginx'/);
  });

  it('create and start failures', () => {
    assert.equal(translated(modemError(404, 'No such image: nginx:latest'), { phase: 'create' }).code, 'image_not_found');
    assert.equal(
      translated(modemError(409, 'Conflict. The container name "/web" is already in use by container "abc".'), { phase: 'create' }).code,
      'process_exists',
    );
    const memory = translated(modemError(400, 'Minimum memory limit allowed is 6MB'), { phase: 'create' });
    assert.equal(memory.code, 'invalid_spec');
    assert.match(memory.message, /6MB/);
    assert.equal(
      translated(
        modemError(500, 'failed to create shim task: OCI runtime create failed: exec: "nope": executable file not found in $PATH'),
        { phase: 'start' },
      ).code,
      'invalid_spec',
    );
  });

  it('a full network -> runtime_unavailable naming the network, the limit and the way past it (Engine 20.10 and Podman 4.3, measured)', () => {
    // The Engine's own answers to the container's start (HTTP 500), as measured on this machine's
    // Engine 20.10.24: a /28 network with every address taken, and a bridge with all 1,023 ports.
    const addresses =
      "no available IPv4 addresses on this network's address pools: hp-scale-exp28-2414 (4c57369e871ab1ecb362a2b195fcb1124767112af5b4dc04eed93dc578ac7950)";
    const bridge =
      'failed to create endpoint hp-scale-expbr-2414-c1 on network hp-scale-expbr-2414: adding interface veth8540721 to bridge br-3e1daf5fb099 failed: exchange full';
    // Podman 4.3's answer for a full /30, measured here through scripts/engine-podman.sh.
    const podmanAddresses = 'IPAM error: failed to find free IP in range: 10.239.92.189 - 10.239.92.190';
    for (const [says, limit, way] of [
      [addresses, /every address of its subnet is taken/, /larger subnet/],
      [podmanAddresses, /every address of its subnet is taken/, /larger subnet/],
      [bridge, /1,023 containers/, /more networks/],
    ] as const) {
      const err = translated(modemError(500, says), { phase: 'start', network: 'hydroplane' });
      assert.equal(err.code, 'runtime_unavailable');
      assert.equal(err.status, 503);
      assert.match(err.message, /^cannot start process 'web': network 'hydroplane' is full: /);
      assert.match(err.message, limit);
      assert.match(err.message, way);
      assert.match(err.message, /docs\/production\.md/);
      assert.match(err.message, /nothing was left of the start/);
      assert.equal(networkFullness(toEngineError(modemError(500, says))) !== undefined, true);
    }
    // Only those answers: an exhausted pool of another kind, or a full bridge said otherwise, is not read as one.
    assert.equal(
      networkFullness(toEngineError(modemError(500, 'could not find an available, non-overlapping IPv4 address pool'))),
      undefined,
    );
    assert.equal(networkFullness(toEngineError(modemError(500, 'exchange full'))), undefined);
    assert.equal(translated(modemError(500, 'something odd happened'), { phase: 'start' }).code, 'runtime_error');
  });

  it('anything else -> runtime_error with the Engine message', () => {
    const err = translated(modemError(500, 'something odd happened'), { phase: 'other' });
    assert.equal(err.code, 'runtime_error');
    assert.equal(err.status, 502);
    assert.match(err.message, /something odd happened/);
    assert.equal(translated(modemError(403, 'authorization denied by plugin'), { phase: 'other' }).code, 'runtime_forbidden');
  });
});

/** Text as hostile as an Engine or a registry behind it could send: any code point, control characters, long. */
const hostile = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 2000 }),
  fc.string({ unit: fc.integer({ min: 0, max: 0x9f }).map((c) => String.fromCharCode(c)), maxLength: 2000 }),
  fc.string({ maxLength: 50 }).map((s) => `${s}\u001b[2J${'Z'.repeat(5000)}\u202e`),
);
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

describe('Engine text in messages', () => {
  it('boundedText keeps at most max characters and no control or bidi characters', () => {
    fc.assert(
      fc.property(hostile, fc.integer({ min: 1, max: 400 }), (text, max) => {
        const out = boundedText(text, max);
        assert.ok(Array.from(out).length <= max + 1, `${Array.from(out).length} > ${max + 1}`);
        assert.doesNotMatch(out, CONTROL);
      }),
    );
  });

  it('every translated error is short and clean, whatever the Engine said, and a pull repeats none of it', () => {
    const phases = fc.constantFrom('pull' as const, 'create' as const, 'start' as const, 'other' as const, undefined);
    fc.assert(
      fc.property(fc.integer({ min: 300, max: 599 }), hostile, phases, fc.boolean(), (status, text, phase, stream) => {
        const raw = stream ? new EngineError('stream', text) : modemError(status, text);
        const err = translated(raw, phase === undefined ? {} : { phase, registry: 'registry.example' });
        assert.ok(err.message.length <= 800, `${err.message.length} characters`);
        assert.doesNotMatch(err.message, CONTROL);
        if (phase === 'pull') {
          assert.match(err.message, /registry\.example/);
          const clean = boundedText(text, 2000);
          for (let i = 0; i + 10 <= clean.length; i += 5) {
            const piece = clean.slice(i, i + 10);
            if (!/^[\s\w'.:,()-]*$/.test(piece) || /[^\s]{10}/.test(piece)) {
              assert.ok(!err.message.includes(piece), `'${piece}' is in ${err.message}`);
            }
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a redirect from the Engine is an error that says so', () => {
    for (const status of [301, 302, 307, 308]) {
      const err = translated(modemError(status, '<a href="/v1.41/containers/json">Moved Permanently</a>.'), { phase: 'other' });
      assert.equal(err.code, 'runtime_error');
      assert.match(err.message, new RegExp(`redirect \\(HTTP ${status}\\)`));
      assert.doesNotMatch(err.message, /Moved/);
    }
  });
});
