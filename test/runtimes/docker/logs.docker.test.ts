// DockerRuntime.logs against the real Engine: the multiplexed stream decoded, tail, since,
// timestamps, a follow that ends with the container, and a follow cut short that closes its
// connection to the Engine.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { after, describe, it } from 'node:test';
import Dockerode from 'dockerode';
import { HydroplaneError } from '../../../src/errors.ts';
import { ProcessSpec } from '../../../src/spec/process-spec.ts';
import { DockerTestRun, TEST_IMAGE, dockerSkip, engineInfo, eventually } from '../../support/docker.ts';

const skip = await dockerSkip();
const run = new DockerTestRun();

/** A Dockerode that keeps every log stream the Engine opened, to see that each one is closed. */
function recordingDocker(): { docker: Dockerode; logStreams: IncomingMessage[] } {
  const docker = new Dockerode();
  const logStreams: IncomingMessage[] = [];
  const dial = docker.modem.dial.bind(docker.modem);
  docker.modem.dial = (options, callback) =>
    dial(options, (err, data) => {
      if (!err && /\/logs\?/.test(options.path)) logStreams.push(data as IncomingMessage);
      callback?.(err, data);
    });
  return { docker, logStreams };
}

const recording = recordingDocker();
const runtime = run.runtime({ docker: recording.docker });
after(() => runtime.close());

const start = (name: string, script: string) =>
  runtime.start(ProcessSpec.parse({ process_name: name, container: { image_uri: TEST_IMAGE, command: ['sh', '-c', script] } }));

async function text(chunks: AsyncIterable<string>): Promise<string> {
  let out = '';
  for await (const chunk of chunks) out += chunk;
  return out;
}

async function exited(name: string): Promise<void> {
  await eventually(async () => ((await runtime.get(name))?.status === 'EXITED' ? true : undefined), `${name} to exit`);
}

describe('DockerRuntime.logs', { skip }, () => {
  it('reads stdout and stderr as text, with tail', async () => {
    const name = run.name('out');
    // Apart in time: stdout and stderr are two pipes, ordered only by when the Engine reads them.
    await start(name, "echo one; sleep 0.2; echo two >&2; sleep 0.2; printf 'h\\303\\251llo\\n'; echo four");
    await exited(name);
    assert.equal(await text(await runtime.logs(name)), 'one\ntwo\nhéllo\nfour\n');
    assert.equal(await text(await runtime.logs(name, { tail: 2 })), 'héllo\nfour\n');
    assert.equal(await text(await runtime.logs(name, { tail: 0 })), '');
  });

  it('stamps lines with timestamps, and since keeps what came at or after a time', async () => {
    const name = run.name('since');
    // 2 s apart: Podman stamps whole seconds, and a time half a second before late's stamp must still be after early.
    await start(name, 'echo early; sleep 2; echo late');
    await exited(name);
    const stamped = await text(await runtime.logs(name, { timestamps: true }));
    const lines = stamped.trimEnd().split('\n');
    assert.equal(lines.length, 2, stamped);
    const [, earlyAt] = /^(\S+) early$/.exec(lines[0]!) ?? [];
    const [, lateAt] = /^(\S+) late$/.exec(lines[1]!) ?? [];
    // RFC 3339 in UTC; Docker gives nanoseconds, Podman whole seconds.
    const stamp = (await engineInfo()).kind === 'podman' ? /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/ : /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$/;
    assert.match(earlyAt ?? '', stamp);
    assert.match(lateAt ?? '', stamp);
    assert.ok(lateAt, stamped);
    const between = new Date(Date.parse(lateAt) - 500);
    assert.equal(await text(await runtime.logs(name, { since: between })), 'late\n');
    assert.equal(await text(await runtime.logs(name, { since: new Date(Date.now() + 60_000) })), '');
    // The extremes of a Date are times the Engine takes; an invalid one is the caller's mistake.
    assert.equal(await text(await runtime.logs(name, { since: new Date(8.64e15) })), '');
    assert.equal(await text(await runtime.logs(name, { since: new Date(-8.64e15) })), 'early\nlate\n');
    await assert.rejects(runtime.logs(name, { since: new Date(Number.NaN) }), (err: unknown) => {
      assert.ok(err instanceof HydroplaneError);
      assert.equal(err.code, 'invalid_request');
      return true;
    });
  });

  it('follows a running process until its container ends', async () => {
    const name = run.name('follow');
    await start(name, 'echo first; sleep 1; echo second; sleep 0.5');
    const seen: string[] = [];
    for await (const chunk of await runtime.logs(name, { follow: true })) seen.push(chunk);
    assert.equal(seen.join(''), 'first\nsecond\n');
    // get() reads the Engine's container list, which records the exit a moment after the output ends.
    await eventually(async () => ((await runtime.get(name))?.status === 'EXITED' ? true : undefined), `${name} to be EXITED`);
  });

  it('closes the connection to the Engine when a follow is aborted, and leaves the process running', async () => {
    const name = run.name('cut');
    await start(name, "trap 'exit 0' TERM; echo ready; while true; do sleep 0.2; done");
    const controller = new AbortController();
    const before = recording.logStreams.length;
    const chunks = await runtime.logs(name, { follow: true, signal: controller.signal });
    const stream = recording.logStreams[before];
    assert.ok(stream, 'a log stream was opened');
    let got = '';
    for await (const chunk of chunks) {
      got += chunk;
      controller.abort();
    }
    assert.equal(got, 'ready\n');
    assert.equal(stream.destroyed, true, 'the stream is destroyed');
    await eventually(
      async () => (stream.socket === null || stream.socket.destroyed ? true : undefined),
      'the socket to the Engine to close',
    );
    assert.equal((await runtime.get(name))?.status, 'RUNNING');
  });

  it('closes the connection when the reader stops early', async () => {
    const name = run.name('early');
    await start(name, "trap 'exit 0' TERM; while true; do echo tick; sleep 0.1; done");
    const before = recording.logStreams.length;
    for await (const chunk of await runtime.logs(name, { follow: true })) {
      assert.match(chunk, /tick/);
      break;
    }
    const stream = recording.logStreams[before];
    assert.ok(stream);
    assert.equal(stream.destroyed, true);
  });

  it('answers process_not_found for a container that is not ours', async () => {
    const name = run.name('foreign');
    await run.docker.createContainer({ name, Image: TEST_IMAGE, Cmd: ['true'] });
    await assert.rejects(runtime.logs(name), (err: unknown) => err instanceof HydroplaneError && err.code === 'process_not_found');
  });
});
