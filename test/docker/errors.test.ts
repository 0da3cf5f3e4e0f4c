import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { HydroplaneError } from '../../src/errors.ts';
import { EngineError, boundedText, isNetworkNotFound, isRemovalInProgress, toEngineError, translateEngineError } from '../../src/runtimes/docker/errors.ts';

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
    const noJson = toEngineError(Object.assign(new Error('(HTTP code 500) server error - manifest unknown '), { statusCode: 500, json: null }));
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

  it('our timeout -> runtime_timeout naming the limit', () => {
    const err = translated(new EngineError('timeout', 'no answer in time'), { timeoutSeconds: 60 });
    assert.equal(err.code, 'runtime_timeout');
    assert.equal(err.status, 504);
    assert.match(err.message, /within 60 s/);
  });

  it('port conflicts -> port_in_use naming the port', () => {
    const allocated = translated(
      modemError(500, 'driver failed programming external connectivity on endpoint web (abc): Bind for 0.0.0.0:8080 failed: port is already allocated'),
      { phase: 'start' },
    );
    assert.equal(allocated.code, 'port_in_use');
    assert.match(allocated.message, /host port 8080 \(on 0\.0\.0\.0\)/);
    const inUse = translated(
      modemError(500, 'driver failed programming external connectivity on endpoint web (abc): Error starting userland proxy: listen tcp4 127.0.0.1:9000: bind: address already in use'),
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
    assert.equal(translated(modemError(500, 'Head "http://r/v2/x/manifests/latest": no basic auth credentials'), pull).code, 'registry_auth_failed');
    const hub = "pull access denied for nosuch/image, repository does not exist or may require 'docker login': denied: requested access to the resource is denied";
    const guessed = translated(modemError(404, hub), pull);
    assert.equal(guessed.code, 'image_not_found');
    assert.match(guessed.message, /private/);
    assert.equal(translated(modemError(404, hub), { ...pull, withCredentials: true }).code, 'registry_auth_failed');
    const offline = translated(modemError(500, 'Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io: no such host'), pull);
    assert.equal(offline.code, 'runtime_error');
    assert.match(offline.message, /could not pull image 'nginx'/);
  });

  it('create and start failures', () => {
    assert.equal(translated(modemError(404, 'No such image: nginx:latest'), { phase: 'create' }).code, 'image_not_found');
    assert.equal(translated(modemError(409, 'Conflict. The container name "/web" is already in use by container "abc".'), { phase: 'create' }).code, 'process_exists');
    const memory = translated(modemError(400, 'Minimum memory limit allowed is 6MB'), { phase: 'create' });
    assert.equal(memory.code, 'invalid_spec');
    assert.match(memory.message, /6MB/);
    assert.equal(
      translated(modemError(500, 'failed to create shim task: OCI runtime create failed: exec: "nope": executable file not found in $PATH'), { phase: 'start' }).code,
      'invalid_spec',
    );
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
