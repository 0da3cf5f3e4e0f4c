// What the server prints besides its log: no warning of Node's about the libraries bundled into
// it, which Node would not show for them in node_modules (docker-modem's url.parse() for an
// Engine over TCP), while every other warning still shows. Needs no Engine: the addresses refuse.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { freePort } from '../support/net.ts';
import { startServerProcess, writeConfig, type ServerProcess } from '../support/server-process.ts';

describe('the server and Node warnings', () => {
  const servers: ServerProcess[] = [];
  after(async () => {
    await Promise.all(servers.map((s) => s.stop('SIGKILL')));
  });

  for (const scheme of ['tcp', 'http', 'https']) {
    it(`says nothing of url.parse() with an Engine at ${scheme}://, and still prints other warnings`, async () => {
      const closed = await freePort();
      const config = await writeConfig(`runtime: {runtime_type: docker, docker_host: "${scheme}://127.0.0.1:${closed}"}\n`);
      // A warning of the test's own, emitted once the server runs: the filter lets it through.
      const code = `setTimeout(() => process.emitWarning('hp-test-warning', { code: 'HPTEST1' }), 300)`;
      const hook = `data:text/javascript,${encodeURIComponent(code)}`;
      const server = await startServerProcess(['-c', config], { NODE_OPTIONS: `--import=${hook}` });
      servers.push(server);
      // Engine requests: the start's check, then a list and a readiness check.
      await server.waitForOutput((o) => o.includes('does not answer'));
      assert.equal((await fetch(`${server.url}/process`)).status >= 500, true);
      assert.equal((await fetch(`${server.url}/ready`)).status, 503);
      const output = await server.waitForOutput((o) => o.includes('hp-test-warning'));
      assert.doesNotMatch(output, /DEP0169|url\.parse/, output);
      assert.match(output, /\[HPTEST1\] Warning: hp-test-warning/);
    });
  }
});
