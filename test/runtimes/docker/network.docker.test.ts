// ProcessNetwork against the real Engine: the network it makes, makes again, and keeps one of;
// and a network that is full.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import DockerModem from 'docker-modem';
import { HydroplaneError } from '../../../src/errors.ts';
import { engineConnection } from '../../../src/runtimes/docker/connection.ts';
import { EngineClient } from '../../../src/runtimes/docker/engine-client.ts';
import { EngineError, type ErrorContext } from '../../../src/runtimes/docker/errors.ts';
import { ProcessNetwork } from '../../../src/runtimes/docker/network.ts';
import { SILENT_LOGGER } from '../../../src/runtimes/logger.ts';
import { ProcessSpec } from '../../../src/spec/process-spec.ts';
import { DockerTestRun, TEST_IMAGE, dockerSkip, engineInfo } from '../../support/docker.ts';

const skip = await dockerSkip();
const run = new DockerTestRun();
const connection = engineConnection(undefined);
const engine = new EngineClient(new DockerModem(connection.options), 20);
const ctx: ErrorContext = { action: 'testing the network', endpoint: connection.endpoint, timeoutSeconds: 20 };

/** The networks of exactly this name. */
async function networksNamed(name: string) {
  return (await run.docker.listNetworks({ filters: { name: [name] } })).filter((n) => n.Name === name);
}

// Every network of this run, by id: a name held twice cannot be removed by name.
after(async () => {
  if (skip) return;
  await run.cleanupContainers();
  const left = (await run.docker.listNetworks({ filters: { name: [run.prefix] } })).filter((n) => n.Name.startsWith(run.prefix));
  await Promise.all(
    left.map((n) =>
      run.docker
        .getNetwork(n.Id)
        .remove()
        .catch(() => {}),
    ),
  );
});

describe('ProcessNetwork on the Engine', { skip }, () => {
  it('creates a bridge network when there is none, once', async () => {
    const name = `${run.prefix}made`;
    const network = new ProcessNetwork(engine, name, SILENT_LOGGER);
    await Promise.all([network.ensure(ctx), network.ensure(ctx)]);
    const found = await networksNamed(name);
    assert.equal(found.length, 1);
    assert.equal(found[0]?.Driver, 'bridge');
    // A second runtime on the same network takes it as it is.
    await new ProcessNetwork(engine, name, SILENT_LOGGER).ensure(ctx);
    assert.deepEqual(
      (await networksNamed(name)).map((n) => n.Id),
      [found[0]?.Id],
    );
  });

  it('makes the network again when the Engine says it is gone', async () => {
    const name = `${run.prefix}again`;
    const network = new ProcessNetwork(engine, name, SILENT_LOGGER);
    await network.ensure(ctx);
    const [first] = await networksNamed(name);
    assert.ok(first);
    await run.docker.getNetwork(first.Id).remove();
    // Checked once: without the Engine's word, the network is taken to exist.
    await network.ensure(ctx);
    assert.equal((await networksNamed(name)).length, 0);
    await network.repair(new EngineError('http', `network ${name} not found`, { status: 404 }), ctx);
    const again = await networksNamed(name);
    assert.equal(again.length, 1);
    assert.notEqual(again[0]?.Id, first.Id);
  });

  it('keeps the one of two networks of a name that a container uses, and removes the other', async (t) => {
    const info = await engineInfo();
    const name = `${run.prefix}twice`;
    const first = await run.docker.createNetwork({ Name: name, Driver: 'bridge', CheckDuplicate: false });
    let second;
    try {
      second = await run.docker.createNetwork({ Name: name, Driver: 'bridge', CheckDuplicate: false });
    } catch (err) {
      // Docker 26 and Podman refuse a second network of a name; only 20.10 can have two.
      assert.notEqual(`${info.kind} ${info.major}`, 'docker 20', String(err));
      t.skip(`${info.kind} ${info.version} refuses a second network of one name`);
      return;
    }
    // Joined by id after the start: the Engine cannot join a name that two networks hold.
    const container = await run.docker.createContainer({ name: run.name('user'), Image: TEST_IMAGE, Cmd: ['sleep', '3600'] });
    await container.start();
    await run.docker.getNetwork(second.id).connect({ Container: container.id });
    await new ProcessNetwork(engine, name, SILENT_LOGGER).ensure(ctx);
    assert.deepEqual(
      (await networksNamed(name)).map((n) => n.Id),
      [second.id],
    );
    await assert.rejects(run.docker.getNetwork(first.id).inspect(), 'the unused one is removed');
  });
});

describe('a full network on the Engine', { skip }, () => {
  it('a start past the last address of the subnet fails with runtime_unavailable, and leaves no container', async () => {
    // A /30 has four addresses: the network's, the gateway's and the broadcast address are not
    // given to containers (Engine 20.10 gives one), so a start soon finds none, as a /16 would
    // after 65,000.
    const name = `${run.prefix}full`;
    for (let attempt = 0; ; attempt++) {
      const subnet = `10.${200 + Math.floor(Math.random() * 50)}.${Math.floor(Math.random() * 256)}.${4 * Math.floor(Math.random() * 64)}/30`;
      try {
        await run.docker.createNetwork({ Name: name, Driver: 'bridge', IPAM: { Config: [{ Subnet: subnet }] } });
        break;
      } catch (err) {
        // Another network of the Engine holds that subnet: try another.
        if (attempt >= 5 || !/overlaps/i.test((err as Error).message)) throw err;
      }
    }
    const runtime = run.runtime({ config: run.config({ network: name, stop_grace_seconds: 0 }) });
    const spec = (n: number) =>
      ProcessSpec.parse({
        process_name: `${run.prefix}full-${n}`,
        container: { image_uri: TEST_IMAGE, command: ['sleep', '3600'] },
      });
    let fitted = 0;
    let refusal: unknown;
    while (refusal === undefined && fitted < 8) {
      try {
        await runtime.start(spec(fitted + 1));
        fitted++;
      } catch (err) {
        refusal = err;
      }
    }
    assert.ok(fitted >= 1 && fitted <= 2, `${fitted} processes fitted in a /30`);
    assert.ok(refusal instanceof HydroplaneError, String(refusal));
    assert.equal(refusal.code, 'runtime_unavailable', refusal.message);
    assert.match(refusal.message, new RegExp(`network '${name}' is full: every address of its subnet is taken`));
    assert.match(refusal.message, /larger subnet/);
    const failed = `${run.prefix}full-${fitted + 1}`;
    const left = await run.docker.listContainers({ all: true, filters: { name: [failed] } });
    assert.deepEqual(left, [], 'the failed start removed its container');
    assert.equal((await runtime.list()).filter((p) => p.process_name.startsWith(`${run.prefix}full-`)).length, fitted);
    // A stop frees an address: the same start then succeeds.
    await runtime.stop(`${run.prefix}full-1`);
    await runtime.start(spec(fitted + 1));
  });
});
