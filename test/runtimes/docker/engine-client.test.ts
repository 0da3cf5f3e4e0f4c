import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import DockerModem from 'docker-modem';
import fc from 'fast-check';
import { EngineClient, pullArguments } from '../../../src/runtimes/docker/engine-client.ts';
import { EngineStandin } from './engine-standin.ts';

describe('EngineClient.listContainers', () => {
  it('hands each entry on as soon as it has arrived, before the Engine has written the rest', async () => {
    const engine = await new EngineStandin().listen();
    let finish: () => void = () => {};
    engine.handle = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('[{"Id":"first","Labels":{}},');
      finish = () => res.end('{"Id":"second","Labels":{}}]');
    };
    try {
      const client = new EngineClient(new DockerModem({ socketPath: engine.socketPath }), 5);
      const kept: string[] = [];
      let firstArrived: () => void = () => {};
      const arrived = new Promise<void>((resolve) => (firstArrived = resolve));
      const listing = client.listContainers(['hydroplane/process-id'], (entry) => {
        kept.push(entry.Id);
        firstArrived();
        return entry.Id;
      });
      // A client that waits for the whole answer never hands the first entry on: fail, not hang.
      let waited: NodeJS.Timeout | undefined;
      const tooLong = new Promise<never>((_, reject) => {
        waited = setTimeout(() => reject(new Error('the first entry was not handed on while the answer was open')), 5000);
      });
      await Promise.race([arrived, tooLong]).finally(() => clearTimeout(waited));
      assert.deepEqual(kept, ['first'], 'the first entry, while the answer is still open');
      finish();
      assert.deepEqual(await listing, ['first', 'second']);
    } finally {
      await engine.close();
    }
  });
});

describe('pullArguments', () => {
  it("names 'latest' when the reference has neither tag nor digest", () => {
    assert.deepEqual(pullArguments('nginx'), { fromImage: 'nginx', tag: 'latest' });
    assert.deepEqual(pullArguments('127.0.0.1:5000/app'), { fromImage: '127.0.0.1:5000/app', tag: 'latest' });
    assert.deepEqual(pullArguments('nginx:1.25'), { fromImage: 'nginx:1.25', tag: undefined });
    assert.deepEqual(pullArguments('127.0.0.1:5000/app:2'), { fromImage: '127.0.0.1:5000/app:2', tag: undefined });
    const digest = 'img@sha256:' + 'b'.repeat(64);
    assert.deepEqual(pullArguments(digest), { fromImage: digest, tag: undefined });
  });

  it('passes the reference on whole, and adds a tag only to one without tag or digest', () => {
    const name = fc.stringMatching(/^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+)*$/).filter((n) => n.length <= 40);
    const registry = fc.option(fc.constantFrom('localhost:5000/', 'ghcr.io/', 'registry.example:443/'), { nil: '' });
    const suffix = fc.option(fc.constantFrom(':1', ':latest', ':v2.0', `@sha256:${'c'.repeat(64)}`, `:1@sha256:${'d'.repeat(64)}`), {
      nil: '',
    });
    fc.assert(
      fc.property(registry, name, suffix, (r, n, s) => {
        const image = `${r}${n}${s}`;
        assert.deepEqual(pullArguments(image), { fromImage: image, tag: s === '' ? 'latest' : undefined });
      }),
    );
  });
});
