// DockerRuntime where no Engine answers, or one that never does: needs no Engine.
// docker-runtime.docker.test.ts runs it against the real Engine.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { type Socket, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { HydroplaneError } from '../../../src/errors.ts';
import { DockerRuntime } from '../../../src/runtimes/docker/docker-runtime.ts';
import { DockerRuntimeConfig } from '../../../src/config/schema.ts';
import { ProcessSpec } from '../../../src/spec/process-spec.ts';
import { MemorySecretStore } from '../../support/memory-secret-store.ts';

const secrets = new MemorySecretStore();
const spec = (input: { process_name: string }) =>
  ProcessSpec.parse({ ...input, container: { image_uri: 'hydroplane-test/busybox:latest' } });

function hydroplaneError(code: string, check?: (err: HydroplaneError) => void) {
  return (err: unknown) => {
    assert.ok(err instanceof HydroplaneError, `a HydroplaneError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.equal('statusCode' in err, false, 'no raw Engine status leaks');
    check?.(err);
    return true;
  };
}

describe('DockerRuntime with no Engine', () => {
  const socket = `/tmp/hp-no-engine-${process.pid}/docker.sock`;
  const unreachable = new DockerRuntime({
    config: DockerRuntimeConfig.parse({ runtime_type: 'docker', docker_host: `unix://${socket}`, network: 'hp-no-engine' }),
    secrets,
  });
  const unavailable = hydroplaneError('runtime_unavailable', (err) => {
    assert.equal(err.status, 503);
    assert.ok(err.message.includes(socket), err.message);
    assert.match(err.message, /docker/);
    assert.match(err.message, /docker_host|DOCKER_HOST/);
  });

  it('answers runtime_unavailable, naming the socket, from every verb', async () => {
    await assert.rejects(unreachable.list(), unavailable);
    await assert.rejects(unreachable.list({ group: 'g' }), unavailable);
    await assert.rejects(unreachable.get('web'), unavailable);
    await assert.rejects(unreachable.stop('web'), unavailable);
    await assert.rejects(unreachable.stopGroup('g'), unavailable);
    await assert.rejects(unreachable.start(spec({ process_name: 'web' })), unavailable);
  });

  it('answers runtime_timeout when the Engine accepts but does not answer in time', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'hp-engine-'));
    const socket = join(dir, 'docker.sock');
    const held: Socket[] = [];
    const silent = createServer((client) => void held.push(client));
    await new Promise<void>((resolve) => silent.listen(socket, resolve));
    t.after(async () => {
      for (const client of held) client.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    });
    const slow = new DockerRuntime({
      config: DockerRuntimeConfig.parse({ runtime_type: 'docker', docker_host: `unix://${socket}`, request_timeout_seconds: 0.3 }),
      secrets,
    });
    const started = Date.now();
    await assert.rejects(
      slow.list(),
      hydroplaneError('runtime_timeout', (err) => {
        assert.equal(err.status, 504);
        assert.match(err.message, /within 0\.3 s/);
      }),
    );
    assert.ok(Date.now() - started < 3000);
  });

  it('refuses an Engine address it does not understand', () => {
    assert.throws(
      () => new DockerRuntime({ config: DockerRuntimeConfig.parse({ runtime_type: 'docker', docker_host: 'ssh://me@host' }), secrets }),
      hydroplaneError('invalid_config', (err) => assert.match(err.message, /ssh:\/\/me@host/)),
    );
  });
});
