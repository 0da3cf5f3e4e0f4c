import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { containerCreateOptions } from '../../../src/runtimes/docker/container-options.ts';
import { ProcessSpec, type ProcessSpecInput } from '../../../src/spec/process-spec.ts';

const config = { network: 'hydroplane' };
const noSecrets = new Map<string, string>();
const spec = (input: ProcessSpecInput) => ProcessSpec.parse(input);

describe('containerCreateOptions', () => {
  it('maps a minimal spec: name, labels, image, network alias, no command', () => {
    const options = containerCreateOptions(spec({ process_name: 'web', container: { image_uri: 'nginxdemos/hello' } }), noSecrets, config);
    assert.deepEqual(options, {
      name: 'web',
      Image: 'nginxdemos/hello',
      Labels: { 'hydroplane/process-id': 'web' },
      Env: [],
      ExposedPorts: {},
      HostConfig: { NetworkMode: 'hydroplane', PortBindings: {}, RestartPolicy: { Name: 'no' } },
      NetworkingConfig: { EndpointsConfig: { hydroplane: { Aliases: ['web'] } } },
    });
  });

  it('maps everything a spec can say', () => {
    const options = containerCreateOptions(
      spec({
        process_name: 'api',
        group: 'g1',
        has_public_ip: true,
        container: {
          image_uri: 'ghcr.io/org/img:1.2',
          ports: [
            { container_port: '80', host_port: 8080 },
            { container_port: 53, protocol: 'udp' },
            { container_port: 80, host_port: 8081 },
          ],
          env: [
            { name: 'PLAIN', value: 'a=b' },
            { name: 'TOKEN', value: { secret_name: 'tok', key: 'k' } },
          ],
          command: ['serve', '--port', '80'],
          resource_request: { cpu_vcpu: '0.25', memory_mib: 64 },
          resource_limit: { cpu_vcpu: 1.5, memory_mib: 128 },
          node_selector: { zone: 'a' },
        },
      }),
      new Map([['TOKEN', 's3cret']]),
      { network: 'other-net' },
    );
    assert.deepEqual(options, {
      name: 'api',
      Image: 'ghcr.io/org/img:1.2',
      Labels: { 'hydroplane/process-id': 'api', 'hydroplane/group-id': 'g1' },
      Env: ['PLAIN=a=b', 'TOKEN=s3cret'],
      Cmd: ['serve', '--port', '80'],
      ExposedPorts: { '80/tcp': {}, '53/udp': {} },
      HostConfig: {
        NetworkMode: 'other-net',
        PortBindings: {
          '80/tcp': [
            { HostIp: '0.0.0.0', HostPort: '8080' },
            { HostIp: '0.0.0.0', HostPort: '8081' },
          ],
          '53/udp': [{ HostIp: '0.0.0.0', HostPort: '53' }],
        },
        RestartPolicy: { Name: 'no' },
        NanoCpus: 1_500_000_000,
        Memory: 128 * 1024 * 1024,
        CpuShares: 256,
        MemoryReservation: 64 * 1024 * 1024,
      },
      NetworkingConfig: { EndpointsConfig: { 'other-net': { Aliases: ['api'] } } },
    });
  });

  it('publishes a private process on 127.0.0.1 and defaults host_port to container_port', () => {
    const options = containerCreateOptions(
      spec({ process_name: 'p', container: { image_uri: 'img', ports: [{ container_port: 8080 }] } }),
      noSecrets,
      config,
    );
    assert.deepEqual(options.HostConfig?.PortBindings, { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }] });
  });

  it('keeps CpuShares at the Engine minimum of 2 and rounds NanoCpus', () => {
    const options = containerCreateOptions(
      spec({
        process_name: 'p',
        container: { image_uri: 'img', resource_request: { cpu_vcpu: 0.001 }, resource_limit: { cpu_vcpu: '0.0333333333333' } },
      }),
      noSecrets,
      config,
    );
    assert.equal(options.HostConfig?.CpuShares, 2);
    assert.equal(options.HostConfig?.NanoCpus, 33_333_333);
  });

  it('leaves Cmd out for an empty command, so the image keeps its own', () => {
    const options = containerCreateOptions(spec({ process_name: 'p', container: { image_uri: 'img', command: [] } }), noSecrets, config);
    assert.equal('Cmd' in options, false);
  });

  it('refuses to build options with an unresolved secret', () => {
    assert.throws(
      () =>
        containerCreateOptions(
          spec({ process_name: 'p', container: { image_uri: 'img', env: [{ name: 'X', value: { secret_name: 's' } }] } }),
          noSecrets,
          config,
        ),
      /'X' is a secret that was not resolved/,
    );
  });
});
