// DockerRuntime against the real Engine, with the busybox test image (scripts/build-test-image.sh).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { type Socket, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Dockerode from 'dockerode';
import type DockerModem from 'docker-modem';
import { HydroplaneError } from '../../../src/errors.ts';
import { DockerRuntime } from '../../../src/runtimes/docker/docker-runtime.ts';
import { PROCESS_LABEL } from '../../../src/labels.ts';
import { primaryIPv4 } from '../../../src/runtimes/docker/host-address.ts';
import type { ProcessInfo } from '../../../src/spec/process-info.ts';
import { ProcessSpec, type ProcessSpecInput } from '../../../src/spec/process-spec.ts';
import { DockerTestRun, TEST_IMAGE, connectToEngine, countingDocker, dockerSkip, eventually, freePort } from '../../support/docker.ts';
import { FakeRegistry } from '../../support/fake-registry.ts';
import { MemorySecretStore } from '../../support/memory-secret-store.ts';

const skip = await dockerSkip();
const run = new DockerTestRun();
const secrets = new MemorySecretStore({ token: 's3cret-token', db: JSON.stringify({ user: 'alice', pass: 'pw' }), regpass: 'hunter2' });
const runtime = run.runtime({ secrets });
after(() => runtime.close());

type SpecInput = Omit<ProcessSpecInput, 'container'> & { container?: Partial<ProcessSpecInput['container']> };
const spec = (input: SpecInput) => ProcessSpec.parse({ ...input, container: { image_uri: TEST_IMAGE, ...input.container } });
/** A command that idles and ends at once on SIGTERM, so stops need no grace period. */
const IDLE = ['sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"];

function hydroplaneError(code: string, check?: (err: HydroplaneError) => void) {
  return (err: unknown) => {
    assert.ok(err instanceof HydroplaneError, `a HydroplaneError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.equal('statusCode' in err, false, 'no raw Engine status leaks');
    check?.(err);
    return true;
  };
}

async function containerNamed(name: string): Promise<Dockerode.ContainerInspectInfo | undefined> {
  return run.docker
    .getContainer(name)
    .inspect()
    .catch(() => undefined);
}

async function logsOf(name: string): Promise<string> {
  const buffer = await run.docker.getContainer(name).logs({ stdout: true, stderr: true });
  // Without a TTY the Engine frames each chunk with an 8-byte header.
  let text = '';
  for (let i = 0; i + 8 <= buffer.length;) {
    const size = buffer.readUInt32BE(i + 4);
    text += buffer.subarray(i + 8, i + 8 + size).toString();
    i += 8 + size;
  }
  return text;
}

/** Waits until the process has ended, and returns what get() says of it. */
function ended(name: string, r: DockerRuntime = runtime): Promise<ProcessInfo> {
  return eventually(async () => {
    const info = await r.get(name);
    return info?.status === 'EXITED' ? info : undefined;
  }, `${name} to exit`);
}

describe('DockerRuntime', { skip }, () => {
  it('runs the image command with a private port and serves through the listed address', async () => {
    const name = run.name('web');
    const port = await freePort();
    await runtime.start(spec({ process_name: name, container: { ports: [{ container_port: 8080, host_port: port }] } }));
    const listed = (await runtime.list()).find((p) => p.process_name === name);
    assert.ok(listed);
    assert.equal(listed.status, 'RUNNING');
    assert.deepEqual(listed.socket_addresses, [{ host: '127.0.0.1', port, is_public: false }]);
    const [address] = listed.socket_addresses;
    assert.ok(address);
    const body = await eventually(async () => {
      const res = await fetch(`http://${address.host}:${address.port}/`);
      return res.ok ? res.text() : undefined;
    }, 'httpd to answer');
    assert.match(body, /Hello from Hydroplane/);
  });

  it('lets processes reach each other by name on the network', async () => {
    const server = run.name('srv');
    const client = run.name('cli');
    await runtime.start(spec({ process_name: server }));
    await runtime.start(
      spec({ process_name: client, container: { command: ['sh', '-c', `sleep 0.3; wget -qO- http://${server}:8080/`] } }),
    );
    const info = await ended(client);
    assert.equal(info.exit_code, 0, await logsOf(client));
    assert.match(await logsOf(client), /Hello from Hydroplane/);
  });

  it('publishes a public process on 0.0.0.0 and a private one on 127.0.0.1', async () => {
    const pub = run.name('pub');
    const priv = run.name('priv');
    const [pubPort, privPort] = [await freePort(), await freePort()];
    await runtime.start(
      spec({ process_name: pub, has_public_ip: true, container: { command: IDLE, ports: [{ container_port: 8080, host_port: pubPort }] } }),
    );
    await runtime.start(spec({ process_name: priv, container: { command: IDLE, ports: [{ container_port: 8080, host_port: privPort }] } }));

    assert.deepEqual((await containerNamed(pub))?.HostConfig.PortBindings, {
      '8080/tcp': [{ HostIp: '0.0.0.0', HostPort: String(pubPort) }],
    });
    assert.deepEqual((await containerNamed(priv))?.HostConfig.PortBindings, {
      '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: String(privPort) }],
    });

    const listed = await runtime.list();
    const host = await primaryIPv4();
    assert.deepEqual(listed.find((p) => p.process_name === pub)?.socket_addresses, [{ host, port: pubPort, is_public: true }]);
    assert.deepEqual(listed.find((p) => p.process_name === priv)?.socket_addresses, [
      { host: '127.0.0.1', port: privPort, is_public: false },
    ]);
    assert.deepEqual((await runtime.get(pub))?.socket_addresses, [{ host, port: pubPort, is_public: true }]);
  });

  it('sets env values, secrets included, and the command replaces the image command', async () => {
    const name = run.name('env');
    await runtime.start(
      spec({
        process_name: name,
        container: {
          env: [
            { name: 'PLAIN', value: 'hello world' },
            { name: 'TOKEN', value: { secret_name: 'token' } },
            { name: 'DB_USER', value: { secret_name: 'db', key: 'user' } },
          ],
          command: ['sh', '-c', 'echo "$PLAIN|$TOKEN|$DB_USER"'],
        },
      }),
    );
    const info = await containerNamed(name);
    assert.ok(info);
    assert.deepEqual(info.Config.Cmd, ['sh', '-c', 'echo "$PLAIN|$TOKEN|$DB_USER"']);
    // No entrypoint: Docker says null, Podman [] (for an image that has none).
    assert.deepEqual(info.Config.Entrypoint ?? [], []);
    assert.ok(info.Config.Env.includes('TOKEN=s3cret-token'));
    assert.equal((await ended(name)).exit_code, 0);
    assert.equal((await logsOf(name)).trim(), 'hello world|s3cret-token|alice');
  });

  it('sets resource requests and limits on the container', async () => {
    const name = run.name('res');
    await runtime.start(
      spec({
        process_name: name,
        container: {
          command: IDLE,
          resource_request: { cpu_vcpu: 0.25, memory_mib: 16 },
          resource_limit: { cpu_vcpu: 0.5, memory_mib: 32 },
        },
      }),
    );
    const host = (await containerNamed(name))?.HostConfig;
    assert.ok(host);
    assert.equal(host.NanoCpus, 500_000_000);
    assert.equal(host.Memory, 32 * 1024 * 1024);
    assert.equal(host.CpuShares, 256);
    assert.equal(host.MemoryReservation, 16 * 1024 * 1024);
    // Said explicitly, so that every Engine reports it alike (unset: '' on 20.10 and Podman, 'no' on 26).
    assert.equal(host.RestartPolicy?.Name, 'no');
  });

  it('shows a process that exited 3 as EXITED with exit_code 3, and replaces it on a new start', async () => {
    const name = run.name('exit');
    await runtime.start(spec({ process_name: name, group: `${run.prefix}g`, container: { command: ['sh', '-c', 'exit 3'] } }));
    const info = await ended(name);
    assert.equal(info.exit_code, 3);
    const listed = (await runtime.list({ group: `${run.prefix}g` })).find((p) => p.process_name === name);
    assert.equal(listed?.status, 'EXITED');
    assert.equal(listed?.exit_code, 3);
    assert.deepEqual(listed?.socket_addresses, []);

    const before = await containerNamed(name);
    const again = await runtime.start(spec({ process_name: name, container: { command: IDLE } }));
    assert.equal(again.status, 'RUNNING');
    const after = await containerNamed(name);
    assert.notEqual(after?.Id, before?.Id, 'a new container replaced the ended one');
  });

  it('lets exactly one of several concurrent starts of a name win; the others get 409', async () => {
    const name = run.name('race');
    const results = await Promise.allSettled(
      [1, 2, 3].map(() => runtime.start(spec({ process_name: name, container: { command: IDLE } }))),
    );
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    for (const r of results) {
      if (r.status === 'rejected') hydroplaneError('process_exists')(r.reason);
    }
  });

  it('fails a missing image with image_not_found, leaving nothing behind', async (t) => {
    const registry = await new FakeRegistry().listen();
    t.after(() => registry.close());
    const name = run.name('noimg');
    await assert.rejects(
      runtime.start(spec({ process_name: name, container: { image_uri: `${registry.host}/hydroplane/missing:1.0` } })),
      hydroplaneError('image_not_found', (err) => assert.match(err.message, /missing:1\.0/)),
    );
    assert.equal(await containerNamed(name), undefined);
    assert.ok(
      registry.requests.some((r) => r.includes('/v2/hydroplane/missing/manifests/1.0')),
      'the Engine asked the registry',
    );
  });

  it('sends registry credentials from secrets for the pull, and maps a refusal to registry_auth_failed', async (t) => {
    const registry = await new FakeRegistry({ username: 'bob', password: 'hunter2' }).listen();
    t.after(() => registry.close());
    const image = `${registry.host}/private/app`;

    await assert.rejects(
      runtime.start(spec({ process_name: run.name('noauth'), container: { image_uri: image } })),
      hydroplaneError('registry_auth_failed'),
    );
    await assert.rejects(
      runtime.start(
        spec({ process_name: run.name('badauth'), container: { image_uri: image, username: 'bob', password: { secret_name: 'token' } } }),
      ),
      hydroplaneError('registry_auth_failed', (err) => assert.match(err.message, /username and the password/)),
    );
    // Right credentials: the registry lets the Engine in, then has no such image.
    await assert.rejects(
      runtime.start(
        spec({ process_name: run.name('auth'), container: { image_uri: image, username: 'bob', password: { secret_name: 'regpass' } } }),
      ),
      hydroplaneError('image_not_found'),
    );
    const basic = `Basic ${Buffer.from('bob:hunter2').toString('base64')}`;
    assert.ok(
      registry.requests.some((r) => r.includes('/manifests/latest') && r.endsWith(basic)),
      registry.requests.join('\n'),
    );
  });

  it('fails with port_in_use when a host port is taken, leaving no container', async (t) => {
    const port = await freePort();
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => squatter.close(() => resolve())));
    const name = run.name('port');
    await assert.rejects(
      runtime.start(spec({ process_name: name, container: { command: IDLE, ports: [{ container_port: 8080, host_port: port }] } })),
      hydroplaneError('port_in_use', (err) => assert.match(err.message, new RegExp(`port ${port}\\b`))),
    );
    assert.equal(await containerNamed(name), undefined);

    // Taken by another process of ours: the Engine says so differently.
    const holder = run.name('hold');
    const port2 = await freePort();
    await runtime.start(spec({ process_name: holder, container: { command: IDLE, ports: [{ container_port: 8080, host_port: port2 }] } }));
    const second = run.name('port');
    await assert.rejects(
      runtime.start(spec({ process_name: second, container: { command: IDLE, ports: [{ container_port: 8080, host_port: port2 }] } })),
      hydroplaneError('port_in_use', (err) => assert.match(err.message, new RegExp(`port ${port2}\\b`))),
    );
    assert.equal(await containerNamed(second), undefined);
  });

  it('fails a command that is not in the image with invalid_spec, leaving no container', async () => {
    const name = run.name('badcmd');
    await assert.rejects(
      runtime.start(spec({ process_name: name, container: { command: ['/no/such/program'] } })),
      hydroplaneError('invalid_spec'),
    );
    assert.equal(await containerNamed(name), undefined);
  });

  it('leaves a container it does not manage alone: name_taken on start, process_not_found on stop', async () => {
    const name = run.name('foreign');
    const foreign = await run.docker.createContainer({ name, Image: TEST_IMAGE, Cmd: IDLE, Labels: { owner: 'someone-else' } });
    await foreign.start();
    const before = await foreign.inspect();

    await assert.rejects(
      runtime.start(spec({ process_name: name })),
      hydroplaneError('name_taken', (err) => {
        assert.equal(err.status, 409);
        assert.match(err.message, /not manage/);
      }),
    );
    await assert.rejects(runtime.stop(name), hydroplaneError('process_not_found'));
    assert.equal(await runtime.get(name), undefined);
    assert.ok(!(await runtime.list()).some((p) => p.process_name === name));

    const now = await foreign.inspect();
    assert.equal(now.Id, before.Id);
    assert.equal(now.State.Running, true);
    assert.equal(now.State.StartedAt, before.State.StartedAt);
  });

  it('resolves every secret before creating anything: a missing one leaves no network and no container', async () => {
    const network = `${run.prefix}secretnet`;
    const isolated = new DockerRuntime({ config: run.config({ network }), secrets });
    const name = run.name('nosecret');
    await assert.rejects(
      isolated.start(spec({ process_name: name, container: { env: [{ name: 'X', value: { secret_name: 'absent' } }] } })),
      hydroplaneError('secret_not_found'),
    );
    assert.equal(await containerNamed(name), undefined);
    await assert.rejects(run.docker.getNetwork(network).inspect(), 'the network was not created');
  });

  it('creates its network when missing, and again when it disappears', async (t) => {
    const network = `${run.prefix}renet`;
    t.after(async () => {
      await run.cleanupContainers();
      await run.docker
        .getNetwork(network)
        .remove()
        .catch(() => {});
    });
    const own = new DockerRuntime({ config: run.config({ network }), secrets });
    const first = run.name('net');
    await own.start(spec({ process_name: first, container: { command: IDLE } }));
    assert.equal((await run.docker.getNetwork(network).inspect()).Driver, 'bridge');
    await own.stop(first);
    await run.docker.getNetwork(network).remove();

    const second = run.name('net');
    await own.start(spec({ process_name: second, container: { command: IDLE } }));
    const info = await containerNamed(second);
    assert.ok(info?.NetworkSettings.Networks[network], 'attached to the recreated network');
    assert.deepEqual(info?.NetworkSettings.Networks[network]?.Aliases?.includes(second), true);
  });

  it('starts processes of several fresh runtimes at once on a network that none has made: all run, on one network', async (t) => {
    // Each runtime finds no network and creates it; all but one are refused (Docker 409, Podman
    // 500 "network already exists"), or on 20.10 a second one is made and then removed.
    const network = `${run.prefix}racenet`;
    t.after(async () => {
      await run.cleanupContainers();
      const left = await run.docker.listNetworks({ filters: { name: [network] } });
      for (const n of left)
        if (n.Name === network)
          await run.docker
            .getNetwork(n.Id)
            .remove()
            .catch(() => {});
    });
    const names = [1, 2, 3, 4].map(() => run.name('netrace'));
    const results = await Promise.allSettled(
      names.map((name) =>
        new DockerRuntime({ config: run.config({ network }), secrets }).start(spec({ process_name: name, container: { command: IDLE } })),
      ),
    );
    for (const r of results) assert.equal(r.status, 'fulfilled', r.status === 'rejected' ? String(r.reason) : '');
    const named = (await run.docker.listNetworks({ filters: { name: [network] } })).filter((n) => n.Name === network);
    assert.equal(named.length, 1, JSON.stringify(named.map((n) => n.Id)));
    for (const name of names) assert.ok((await containerNamed(name))?.NetworkSettings.Networks[network], `${name} is on ${network}`);
  });

  it('lists with exactly one Engine call', async () => {
    const { docker, requests } = countingDocker();
    const counted = new DockerRuntime({ config: run.config(), secrets, docker });
    await runtime.start(spec({ process_name: run.name('count'), group: `${run.prefix}count`, container: { command: IDLE } }));

    const all = await counted.list();
    // Other users of the Engine (tests running beside these) may have a created container of
    // Hydroplane's, which costs one inspect each; every container of this run is running.
    const others = all.filter((p) => p.status !== 'RUNNING' && !p.process_name.startsWith(run.prefix)).length;
    assert.ok(requests.length >= 1 && requests.length <= 1 + others, JSON.stringify(requests));
    for (const r of requests.slice(1)) assert.match(`${r.method} ${r.path}`, /^GET \/containers\/[0-9a-f]{64}\/json$/);
    assert.equal(requests[0]?.method, 'GET');
    assert.equal(requests[0]?.path, '/containers/json');
    assert.equal(requests[0]?.query.get('all'), 'true');
    assert.deepEqual(JSON.parse(requests[0]?.query.get('filters') ?? ''), { label: ['hydroplane/process-id'] });

    requests.length = 0;
    // This run's group alone: exactly one call.
    const grouped = await counted.list({ group: `${run.prefix}count` });
    assert.equal(grouped.length, 1);
    assert.equal(requests.length, 1, JSON.stringify(requests));
    assert.deepEqual(JSON.parse(requests[0]?.query.get('filters') ?? ''), {
      label: ['hydroplane/process-id', `hydroplane/group-id=${run.prefix}count`],
    });
  });

  it('starts with three Engine calls (create, start, inspect) when the image is there and the name free', async () => {
    const { docker, requests } = countingDocker();
    const counted = new DockerRuntime({ config: run.config(), secrets, docker });
    // The network is checked once per runtime, at its first start; the second start is the steady state.
    await counted.start(spec({ process_name: run.name('calls1'), container: { command: IDLE } }));
    requests.length = 0;
    const info = await counted.start(spec({ process_name: run.name('calls2'), container: { command: IDLE } }));
    assert.equal(info.status, 'RUNNING');
    const calls = requests.map((r) => `${r.method} ${r.path.replace(/[0-9a-f]{64}/, 'ID')}`);
    assert.deepEqual(calls, ['POST /containers/create', 'POST /containers/ID/start', 'GET /containers/ID/json']);
  });

  it('says process_exists when another request is removing the new container as it is started (an apply replacing it)', async () => {
    const docker = new Dockerode();
    const name = run.name('removing');
    const dial = docker.modem.dial.bind(docker.modem);
    let removed = false;
    // The other request's removal is under way when this start reaches the Engine: the Engine
    // answers 409 "container is marked for removal and cannot be started" (seen on 20.10 in about
    // half of such races; the rest, a 404 once it is gone, is the test above). That moment cannot
    // be held open, so the removal is awaited, then the start gets the Engine's answer for it.
    docker.modem.dial = (options: DockerModem.DialOptions, callback: DockerModem.RequestCallback) => {
      if (removed || !/^\/containers\/[0-9a-f]{64}\/start/.test(options.path ?? '')) return dial(options, callback);
      removed = true;
      const message = 'container is marked for removal and cannot be started';
      void run.docker
        .getContainer(name)
        .remove({ force: true })
        .then(() =>
          callback(Object.assign(new Error(`(HTTP code 409) unexpected - ${message} `), { statusCode: 409, json: { message } }), null),
        );
    };
    const racing = run.runtime({ docker });
    await assert.rejects(
      racing.start(spec({ process_name: name, container: { command: IDLE } })),
      hydroplaneError('process_exists', (err) => assert.match(err.message, /stopped or replaced by another request while it was starting/)),
    );
    assert.ok(removed);
    assert.equal(await runtime.get(name), undefined, 'nothing is left');
  });

  for (const after of ['create', 'start'] as const) {
    it(`says process_exists when another request removes the new container after its ${after} (an apply replacing it)`, async () => {
      const docker = new Dockerode();
      const name = run.name(`gone${after}`);
      const dial = docker.modem.dial.bind(docker.modem);
      let removed = false;
      // Another request's stop lands just after this start's create (or start) call.
      docker.modem.dial = (options: DockerModem.DialOptions, callback: DockerModem.RequestCallback) =>
        dial(options, (err, data) => {
          const path = options.path;
          const hit = after === 'create' ? path.startsWith('/containers/create') : /^\/containers\/[0-9a-f]{64}\/start/.test(path);
          if (err || !hit || removed) return callback(err, data);
          removed = true;
          void run.docker
            .getContainer(name)
            .remove({ force: true })
            .then(
              () => callback(err, data),
              (e: Error) => callback(e, null),
            );
        });
      const racing = run.runtime({ docker });
      await assert.rejects(
        racing.start(spec({ process_name: name, container: { command: IDLE } })),
        hydroplaneError('process_exists', (err) =>
          assert.match(err.message, /stopped or replaced by another request while it was starting/),
        ),
      );
      assert.ok(removed);
      assert.equal(await runtime.get(name), undefined, 'nothing is left');
    });
  }

  it('refuses a name held by a container of ours that is only created (a start in flight), and leaves it alone', async () => {
    const name = run.name('inflight');
    const holder = await run.docker.createContainer({ name, Image: TEST_IMAGE, Cmd: IDLE, Labels: { [PROCESS_LABEL]: name } });
    await assert.rejects(runtime.start(spec({ process_name: name, container: { command: IDLE } })), hydroplaneError('process_exists'));
    assert.equal((await holder.inspect()).State.Status, 'created');
    await holder.remove({ force: true });
  });

  it('stops with SIGTERM, then SIGKILL after the grace period', async () => {
    const stubborn = run.name('stubborn');
    // httpd as PID 1 ignores SIGTERM: the stop waits stop_grace_seconds, then kills it.
    await runtime.start(spec({ process_name: stubborn }));
    const started = Date.now();
    await runtime.stop(stubborn);
    const took = Date.now() - started;
    assert.ok(took >= 900 && took < 8000, `stop took ${took} ms with a 1 s grace period`);
    assert.equal(await containerNamed(stubborn), undefined);

    const polite = run.name('polite');
    await runtime.start(spec({ process_name: polite, container: { command: IDLE } }));
    const t0 = Date.now();
    await runtime.stop(polite);
    assert.ok(Date.now() - t0 < 900, 'a process that ends on SIGTERM is not kept waiting');
  });

  it('keeps no state that breaks when the Engine comes back', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'hp-engine-'));
    const socket = join(dir, 'docker.sock');
    let proxy: Server | undefined;
    const open: Socket[] = [];
    t.after(async () => {
      // Keep-alive connections would hold close() for seconds.
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => (proxy ? proxy.close(() => resolve()) : resolve()));
      await rm(dir, { recursive: true, force: true });
    });
    const flaky = new DockerRuntime({ config: run.config({ docker_host: `unix://${socket}` }), secrets });
    const name = run.name('back');
    await assert.rejects(flaky.start(spec({ process_name: name, container: { command: IDLE } })), hydroplaneError('runtime_unavailable'));

    // The Engine "returns": a proxy to the real Engine (DOCKER_HOST's) appears at the configured path.
    proxy = createServer((client) => {
      const engine = connectToEngine();
      open.push(client, engine);
      client.pipe(engine).pipe(client);
      client.on('error', () => engine.destroy());
      engine.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => proxy?.listen(socket, resolve));
    const info = await flaky.start(spec({ process_name: name, container: { command: IDLE } }));
    assert.equal(info.status, 'RUNNING');
    assert.ok((await flaky.list()).some((p) => p.process_name === name));
  });

  it('tolerates concurrent stops of one process: one succeeds, the others find nothing or succeed', async () => {
    const name = run.name('twice');
    await runtime.start(spec({ process_name: name, container: { command: IDLE } }));
    const results = await Promise.allSettled([runtime.stop(name), runtime.stop(name)]);
    assert.ok(results.some((r) => r.status === 'fulfilled'));
    for (const r of results) if (r.status === 'rejected') hydroplaneError('process_not_found')(r.reason);
    assert.equal(await containerNamed(name), undefined);
  });
});
