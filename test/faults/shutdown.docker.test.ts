// SIGTERM to the `hydroplane` command while a slow request is in flight: that request still
// completes, new connections are refused from the signal on, and the process exits 0.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { DockerTestRun, TEST_IMAGE, dockerSkip } from '../support/docker.ts';
import { startServerProcess, writeConfig } from '../support/server-process.ts';
import { call } from './support.ts';

const skip = await dockerSkip();
const run = new DockerTestRun();

/** Resolves with the socket error code of a new connection, or 'connected'. */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

/**
 * Resolves once the container's output has this text; fails after 30 s. The container says when
 * it gets SIGTERM, which tells that the Engine's stop has begun on every Engine alike (Docker sends
 * a kill event then, Podman none: its API streams only die, cleanup and remove for a stop).
 */
async function outputShows(name: string, text: string): Promise<void> {
  const stream = (await run.docker.getContainer(name).logs({ follow: true, stdout: true, stderr: true })) as NodeJS.ReadableStream & {
    destroy(): void;
  };
  let seen = '';
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      stream.on('data', (chunk: Buffer) => {
        seen += chunk.toString('latin1');
        if (seen.includes(text)) resolve();
      });
      stream.once('end', () => reject(new Error(`${name}'s output ended without '${text}': ${JSON.stringify(seen)}`)));
      timer = setTimeout(() => reject(new Error(`${name} did not print '${text}' within 30 s: ${JSON.stringify(seen)}`)), 30_000);
    });
  } finally {
    clearTimeout(timer);
    stream.destroy();
  }
}

describe('hydroplane command, graceful shutdown', { skip }, () => {
  it('finishes a slow DELETE in flight at SIGTERM with 200, refuses new connections, and exits 0', async () => {
    const config = await writeConfig(`runtime:\n  runtime_type: docker\n  network: ${run.network}\n  stop_grace_seconds: 3\n`);
    const server = await startServerProcess(['-c', config]);
    try {
      const name = run.name('slow');
      // It says so on SIGTERM and goes on: the stop lasts the whole grace period, then SIGKILL.
      const command = ['sh', '-c', "trap 'echo got SIGTERM' TERM; echo ready; while true; do sleep 0.1; done"];
      const started = await call(server.url, 'POST', '/process', { process_name: name, container: { image_uri: TEST_IMAGE, command } });
      assert.equal(started.status, 201, JSON.stringify(started.body));
      await outputShows(name, 'ready'); // its trap is set

      const stopping = outputShows(name, 'got SIGTERM');
      const events: string[] = [];
      const deleted = call(server.url, 'DELETE', `/process/${name}`).then((answer) => {
        events.push('delete answered');
        return answer;
      });
      await stopping; // the Engine has sent SIGTERM: the DELETE is in flight
      server.child.kill('SIGTERM');

      // From the signal on, the listener is closed; the DELETE is still waiting out its grace period.
      for (;;) {
        const result = await tryConnect(server.port);
        if (result === 'ECONNREFUSED') break;
        assert.equal(result, 'connected', `a new connection either works (before the signal is handled) or is refused, not ${result}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      events.push('new connection refused');

      const answer = await deleted;
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.deepEqual(answer.body, { stopped: [name] });
      assert.deepEqual(events, ['new connection refused', 'delete answered'], 'refused while the DELETE was still in flight');
      assert.equal(await server.exited, 0, server.output());
      await assert.rejects(run.docker.getContainer(name).inspect(), /no such container/i, 'the stop went through: the container is gone');
      assert.match(server.output(), /shutting down: finishing requests in flight/);
    } catch (error) {
      // Once in CI (on Engine 26, not again in two reruns there) a request failed with "other side
      // closed" before the DELETE had begun: the server's own account is what would tell why.
      throw new Error(`${String(error)}\nthe server's output:\n${server.output().slice(-4000)}`, { cause: error });
    } finally {
      await server.stop('SIGKILL');
    }
  });
});
