// docs/migrating.md, "A mixed fleet": the original server, on a container that this server
// launched. The original's Engine calls are replayed as its Docker runtime makes them (docker-py's
// containers.list(filters={status: running, label}), containers.get(name).kill(), containers.run
// with the name), against a real Engine, and each claim of the page is checked.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildApp } from '../../src/server/app.ts';
import { DockerTestRun, TEST_IMAGE, requireDocker } from '../support/docker.ts';

const PROCESS_LABEL = 'hydroplane/process-id';

describe('a mixed fleet: the original stopping what this server launched', () => {
  const run = new DockerTestRun();

  it('kills without removing: the name stays taken, a second stop fails, and this server lists, replaces and removes it', async (t) => {
    if (!(await requireDocker(t))) return;
    const app = await buildApp({ runtime: run.runtime(), logger: false });
    const { docker } = run;
    const name = run.name('mixed');
    try {
      const started = await app.inject({
        method: 'POST',
        url: '/process',
        payload: { process_name: name, container: { image_uri: TEST_IMAGE, command: ['sleep', '600'] } },
      });
      assert.equal(started.statusCode, 201, started.body);
      const originalList = async () =>
        (await docker.listContainers({ filters: { status: ['running'], label: [PROCESS_LABEL] } })).map((c) => c.Labels[PROCESS_LABEL]);
      assert.ok((await originalList()).includes(name), "the original lists this server's running process");

      // The original's stop: containers.get(name).kill(). No removal: this server did not ask for auto-removal.
      await docker.getContainer(name).kill();
      const inspected = await docker.getContainer(name).inspect();
      assert.equal(inspected.HostConfig.AutoRemove, false);
      assert.equal(inspected.State.Running, false);
      assert.equal(inspected.State.ExitCode, 137);

      assert.ok(!(await originalList()).includes(name), "the original's list (running containers only) no longer shows it");
      // The original's start of the same name: the Engine refuses it, 409.
      await assert.rejects(
        docker.createContainer({ name, Image: TEST_IMAGE, Labels: { [PROCESS_LABEL]: name } }),
        (error: { statusCode?: number }) => {
          assert.equal(error.statusCode, 409);
          return true;
        },
      );
      // The original's second stop: the Engine refuses to kill a container that is not running (409; the original answers 500).
      await assert.rejects(docker.getContainer(name).kill(), (error: { statusCode?: number }) => {
        assert.equal(error.statusCode, 409);
        return true;
      });

      // This server: EXITED with code 137, a POST of the name replaces it, and DELETE removes it.
      const listed = (await app.inject({ method: 'GET', url: `/process/${name}` })).json();
      assert.equal(listed.status, 'EXITED');
      assert.equal(listed.exit_code, 137);
      const again = await app.inject({
        method: 'POST',
        url: '/process',
        payload: { process_name: name, container: { image_uri: TEST_IMAGE, command: ['sleep', '600'] } },
      });
      assert.equal(again.statusCode, 201, again.body);
      await docker.getContainer(name).kill();
      const stopped = await app.inject({ method: 'DELETE', url: `/process/${name}` });
      assert.deepEqual(stopped.json(), { stopped: [name] });
      await assert.rejects(docker.getContainer(name).inspect(), (error: { statusCode?: number }) => error.statusCode === 404);
    } finally {
      await app.close();
    }
  });
});
