// The Docker daemon goes away under a running `hydroplane` command and comes back: requests meanwhile
// are 503s that say which runtime and which socket, the server recovers by itself, nothing is left
// half-made; and a new server process takes over what the first one launched. The daemon is a
// second dockerd of the test's own (stopping the shared one would break everything else).
//
// On each Engine, that Engine's own restart: the second daemon is a dockerd of the version that
// DOCKER_HOST's Engine runs (SecondEngine checks it): this machine's dockerd beside the host's
// Engine (20.10 in CI), or, under scripts/engine-docker26.sh, Engine 26's dockerd started in the
// nested Engine's container and network namespace. Not on Podman, where the file skips, saying so:
// Podman has no daemon whose end ends the containers (conmon supervises each, and they outlive its
// API service), and a second Podman service would share the first one's storage and bridges, which
// other tests use at the same time.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PROCESS_LABEL } from '../../src/labels.ts';
import { TEST_IMAGE, eventually, freePort, randomId } from '../support/docker.ts';
import { type ServerProcess, startServerProcess, writeConfig } from '../support/server-process.ts';
import { type Answer, SecondEngine, call, secondEngineSkip, tally } from './support.ts';

const skip = await secondEngineSkip();
const engine = new SecondEngine();
const prefix = `hp-fault-${randomId()}-`;
const network = `${prefix}net`;
let count = 0;
const name = (tag: string) => `${prefix}${tag}${++count}`;

/** httpd that ends at once on SIGTERM, so that the daemon's own shutdown does not wait for it. */
const web = (process_name: string, hostPort: number) => ({
  process_name,
  container: {
    image_uri: TEST_IMAGE,
    command: ['sh', '-c', "trap 'exit 0' TERM; httpd -f -p 8080 -h /www & wait"],
    ports: [{ container_port: 8080, host_port: hostPort }],
  },
});

function assertUnavailable(answer: Answer, what: string): void {
  assert.equal(answer.status, 503, `${what}: ${JSON.stringify(answer.body)}`);
  assert.equal(answer.body.error, 503);
  assert.equal(answer.body.code, 'runtime_unavailable');
  assert.match(answer.body.details, /docker runtime/, `${what} names the runtime`);
  assert.ok(answer.body.details.includes(engine.socket), `${what} names the socket: ${answer.body.details}`);
  assert.match(answer.body.details, /start the Docker daemon|docker_host/, `${what} says what to do`);
}

async function fetchPage(address: { host: string; port: number }): Promise<string> {
  return eventually(async () => {
    const res = await fetch(`http://${address.host}:${address.port}/`);
    return res.ok ? res.text() : undefined;
  }, `the page at ${address.host}:${address.port}`);
}

/** What the Engine holds: every container with its name and labels, every network name. */
async function engineState() {
  const containers = await engine.docker.listContainers({ all: true });
  const networks = await engine.docker.listNetworks();
  return {
    labelled: containers
      .filter((c) => c.Labels[PROCESS_LABEL] !== undefined)
      .map((c) => c.Labels[PROCESS_LABEL]!)
      .sort(),
    unlabelled: containers.filter((c) => c.Labels[PROCESS_LABEL] === undefined).map((c) => c.Names[0]),
    networks: networks.map((n) => n.Name).sort(),
  };
}

describe('the Docker daemon stops and starts under a running server', { skip }, () => {
  let server: ServerProcess;
  let config: string;
  const launched = new Set<string>();

  before(async () => {
    await engine.start();
    await engine.loadTestImage();
    config = await writeConfig(
      `runtime:\n  runtime_type: docker\n  docker_host: ${engine.host}\n  network: ${network}\n  stop_grace_seconds: 1\n  request_timeout_seconds: 20\n`,
    );
    server = await startServerProcess(['-c', config]);
  });
  after(() => server?.stop('SIGKILL'));

  it('runs a process on the second daemon, its port published with iptables off', async (t) => {
    t.diagnostic(`the second daemon: ${engine.version}`);
    const first = name('web');
    const started = await call(server.url, 'POST', '/process', web(first, await freePort()));
    assert.equal(started.status, 201, JSON.stringify(started.body));
    launched.add(first);
    assert.equal(await fetchPage(started.body.socket_addresses[0]), 'Hello from Hydroplane\n');
  });

  it('answers 503 naming the runtime and the socket while the daemon is away, including requests in flight when it stopped', async (t) => {
    const inFlight = Array.from({ length: 3 }, () => name('inflight'));
    const ports = await Promise.all(inFlight.map(() => freePort()));
    const answers = Promise.all(inFlight.map((n, i) => call(server.url, 'POST', '/process', web(n, ports[i]!))));
    await engine.stop();
    const settled = await answers;
    t.diagnostic(`starts in flight when the daemon stopped: ${JSON.stringify(tally(settled.map((a) => a.status)))}`);
    for (const [i, a] of settled.entries()) {
      if (a.status === 201) launched.add(inFlight[i]!);
      // A daemon that is shutting down still answers some requests, with its own internal errors
      // ("transport is closing", "failed to update store..."): a 502 with the Engine's words.
      else if (a.status === 502) assert.match(a.body.details, /the Docker Engine failed while starting process/, JSON.stringify(a.body));
      else assertUnavailable(a, `the start of ${inFlight[i]} in flight`);
    }

    const [one] = launched;
    assertUnavailable(await call(server.url, 'GET', '/process'), 'list');
    assertUnavailable(await call(server.url, 'GET', `/process/${one}`), 'get');
    assertUnavailable(await call(server.url, 'POST', '/process', web(name('away'), await freePort())), 'start');
    assertUnavailable(await call(server.url, 'DELETE', `/process/${one}`), 'stop');
    assertUnavailable(await call(server.url, 'GET', '/group/g'), 'group list');
    assertUnavailable(await call(server.url, 'DELETE', '/group/g'), 'group stop');
    assert.equal((await call(server.url, 'GET', '/health')).status, 200, 'the server itself is up');
  });

  it('recovers by itself once the daemon is back: the next list and start work, nothing is orphaned or half-made', async (t) => {
    await engine.start();
    const listed = await call(server.url, 'GET', '/process');
    assert.equal(listed.status, 200, `the first request after the daemon is back: ${JSON.stringify(listed.body)}`);
    const names = (listed.body as Array<{ process_name: string }>).map((p) => p.process_name).sort();
    t.diagnostic(
      `listed after the restart: ${JSON.stringify((listed.body as Array<{ process_name: string; status: string }>).map((p) => [p.process_name.slice(prefix.length), p.status]))}`,
    );
    const state = await engineState();
    // A start cut short may leave its container (ended or never started), but never unlisted.
    assert.deepEqual(names, state.labelled, 'every container with our label is listed');
    for (const n of launched) assert.ok(names.includes(n), `${n} (answered 201) is listed`);
    assert.deepEqual(state.unlabelled, [], 'no container without its process');
    assert.equal(state.networks.filter((n) => n === network).length, 1, 'one network of that name');
    assert.deepEqual(
      state.networks.filter((n) => n !== network),
      ['bridge', 'host', 'none'],
      'no other network',
    );
    for (const n of names) launched.add(n);

    const later = name('later');
    const started = await call(server.url, 'POST', '/process', web(later, await freePort()));
    assert.equal(started.status, 201, JSON.stringify(started.body));
    launched.add(later);
    assert.equal(await fetchPage(started.body.socket_addresses[0]), 'Hello from Hydroplane\n');
    // The first process ended with the daemon; starting its name again replaces it.
    const [first] = launched;
    const again = await call(server.url, 'POST', '/process', web(first!, await freePort()));
    assert.equal(again.status, 201, JSON.stringify(again.body));
    assert.equal(again.body.status, 'RUNNING');
  });

  it('a new server process lists and stops what the first one launched', async () => {
    assert.equal(await server.stop('SIGTERM'), 0, server.output());
    server = await startServerProcess(['-c', config]);
    const listed = await call(server.url, 'GET', '/process');
    assert.equal(listed.status, 200);
    assert.deepEqual((listed.body as Array<{ process_name: string }>).map((p) => p.process_name).sort(), [...launched].sort());
    const stops = await Promise.all([...launched].map((n) => call(server.url, 'DELETE', `/process/${n}`)));
    assert.deepEqual(tally(stops.map((s) => s.status)), { 200: launched.size }, JSON.stringify(stops.find((s) => s.status !== 200)?.body));
    assert.deepEqual((await call(server.url, 'GET', '/process')).body, []);
    assert.deepEqual((await engineState()).labelled, [], 'the Engine has none of our containers left');
  });
});
