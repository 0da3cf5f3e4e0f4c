import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import DockerModem from 'docker-modem';
import { HydroplaneError } from '../../../src/errors.ts';
import { describeEngine, engineConnection } from '../../../src/runtimes/docker/connection.ts';

const none = { socketPath: undefined, host: undefined, port: undefined, protocol: undefined };

describe('engineConnection', () => {
  it('prefers docker_host, then DOCKER_HOST, then the local socket', () => {
    assert.deepEqual(engineConnection(undefined, {}), {
      options: { ...none, socketPath: '/var/run/docker.sock' },
      endpoint: 'unix:///var/run/docker.sock',
    });
    assert.deepEqual(
      engineConnection(undefined, { DOCKER_HOST: 'unix:///run/user/1000/docker.sock' }).options.socketPath,
      '/run/user/1000/docker.sock',
    );
    // docker_host wins, and DOCKER_HOST's tcp host cannot leak into a socket connection.
    const both = engineConnection('unix:///tmp/d.sock', { DOCKER_HOST: 'tcp://10.0.0.1:2375' });
    assert.deepEqual(both.options, { ...none, socketPath: '/tmp/d.sock' });
    assert.equal(both.remoteHost, undefined);
  });

  it('reads tcp, http and https addresses', () => {
    assert.deepEqual(engineConnection('tcp://10.0.0.5:2375', {}), {
      options: { ...none, host: '10.0.0.5', port: '2375', protocol: 'http' },
      endpoint: 'tcp://10.0.0.5:2375',
      remoteHost: '10.0.0.5',
    });
    assert.equal(engineConnection('tcp://engine.example:2376', {}).options.protocol, 'https');
    assert.equal(engineConnection('tcp://engine.example:2375', { DOCKER_TLS_VERIFY: '1' }).options.protocol, 'https');
    assert.equal(engineConnection('https://engine.example', {}).options.port, '2376');
    assert.equal(engineConnection('engine.example:2375', {}).options.host, 'engine.example');
    assert.equal(engineConnection('/custom/docker.sock', {}).endpoint, 'unix:///custom/docker.sock');
  });

  it('refuses what it cannot use, naming the address', () => {
    assert.throws(
      () => engineConnection('ssh://me@host', {}),
      (err: unknown) => err instanceof HydroplaneError && err.code === 'invalid_config' && /ssh:\/\/me@host/.test(err.message),
    );
  });
});

describe('describeEngine', () => {
  it('names the Engine that a connection made elsewhere talks to', () => {
    assert.deepEqual(describeEngine(new DockerModem({ socketPath: '/tmp/d.sock' })), {
      endpoint: 'unix:///tmp/d.sock',
      remoteHost: undefined,
    });
    assert.deepEqual(describeEngine(new DockerModem({ host: '10.0.0.5', port: 2375, protocol: 'http' })), {
      endpoint: 'http://10.0.0.5:2375',
      remoteHost: '10.0.0.5',
    });
  });

  it('describes the same Engine as engineConnection does for the address it made', () => {
    for (const address of ['unix:///tmp/d.sock', 'tcp://10.0.0.5:2375', 'https://engine.example:2376']) {
      const made = engineConnection(address, {});
      const described = describeEngine(new DockerModem(made.options));
      assert.equal(described.remoteHost, made.remoteHost, address);
      assert.equal(described.endpoint.replace(/^(tcp|http):/, 'http:'), made.endpoint.replace(/^(tcp|http):/, 'http:'), address);
    }
  });

  it('never shows the password of an address it refuses or names', () => {
    for (const address of ['ssh://me:Zq9secret@host', 'ftp://me:Zq9se@cret@host:21/x', 'tcp://me:Zq9secret@[bad']) {
      assert.throws(
        () => engineConnection(address, {}),
        (err: unknown) => err instanceof HydroplaneError && err.message.includes('***') && !err.message.includes('Zq9'),
        address,
      );
    }
    assert.throws(
      () => engineConnection('https://me:Zq9secret@127.0.0.1:2376', { DOCKER_CERT_PATH: '/nonexistent' }),
      (err: unknown) =>
        err instanceof HydroplaneError && /TLS certificates for https:\/\/me:\*\*\*@127/.test(err.message) && !err.message.includes('Zq9'),
    );
    // Reached, it is named by its host alone.
    assert.equal(engineConnection('tcp://me:Zq9secret@127.0.0.1:2375', {}).endpoint, 'tcp://127.0.0.1:2375');
  });
});
