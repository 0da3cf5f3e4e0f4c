import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type Dockerode from 'dockerode';
import {
  factsFromInspect,
  factsFromListEntry,
  needsPublicHost,
  processInfo,
  socketAddresses,
} from '../../../src/runtimes/docker/container-info.ts';

const HOST = '192.0.2.7';
const created = 1_700_000_000;

function entry(overrides: Partial<Dockerode.ContainerInfo>): Dockerode.ContainerInfo {
  return {
    Id: 'abc',
    Names: ['/web'],
    Image: 'img',
    ImageID: 'sha256:x',
    Command: 'httpd',
    Created: created,
    Ports: [],
    Labels: { 'hydroplane/process-id': 'web' },
    State: 'running',
    Status: 'Up 2 minutes',
    HostConfig: { NetworkMode: 'hydroplane' },
    NetworkSettings: { Networks: {} },
    Mounts: [],
    ...overrides,
  };
}

describe('processInfo from a list entry', () => {
  it('maps a running grouped process', () => {
    const info = processInfo(
      factsFromListEntry(
        entry({
          Labels: { 'hydroplane/process-id': 'web', 'hydroplane/group-id': 'g' },
          Ports: [{ IP: '127.0.0.1', PrivatePort: 8080, PublicPort: 18080, Type: 'tcp' }],
        }),
      ),
      HOST,
    );
    assert.deepEqual(info, {
      process_name: 'web',
      group: 'g',
      socket_addresses: [{ host: '127.0.0.1', port: 18080, is_public: false }],
      created: '2023-11-14T22:13:20.000Z',
      status: 'RUNNING',
    });
  });

  it('maps the Engine states', () => {
    const status = (State: string, Status = '') => {
      const { status: s, exit_code, reason } = processInfo(factsFromListEntry(entry({ State, Status })), HOST);
      return { s, exit_code, reason };
    };
    assert.deepEqual(status('created', 'Created'), { s: 'STARTING', exit_code: undefined, reason: undefined });
    assert.deepEqual(status('restarting', 'Restarting (1) 2 seconds ago'), { s: 'STARTING', exit_code: undefined, reason: undefined });
    assert.deepEqual(status('paused', 'Up 1 minute (Paused)'), { s: 'RUNNING', exit_code: undefined, reason: 'paused' });
    assert.deepEqual(status('exited', 'Exited (137) 2 minutes ago'), { s: 'EXITED', exit_code: 137, reason: undefined });
    assert.deepEqual(status('exited', 'Exited (0) Less than a second ago'), { s: 'EXITED', exit_code: 0, reason: undefined });
    assert.deepEqual(status('dead', 'Dead'), { s: 'EXITED', exit_code: null, reason: 'dead' });
  });

  it('reports no addresses for an ended container', () => {
    const info = processInfo(
      factsFromListEntry(
        entry({ State: 'exited', Status: 'Exited (1) now', Ports: [{ IP: '0.0.0.0', PrivatePort: 80, PublicPort: 80, Type: 'tcp' }] }),
      ),
      HOST,
    );
    assert.deepEqual(info.socket_addresses, []);
    assert.equal(info.group, null);
  });
});

describe('socketAddresses', () => {
  it('reports public bindings at the host address, once for IPv4 and IPv6 twins, and skips unpublished ports', () => {
    const ports = [
      { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
      { IP: '::', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
      { IP: '', PrivatePort: 81, PublicPort: 8081, Type: 'tcp' },
      { IP: '', PrivatePort: 9000, PublicPort: 0, Type: 'tcp' },
      { IP: '127.0.0.1', PrivatePort: 53, PublicPort: 5353, Type: 'udp' },
      { IP: '::1', PrivatePort: 54, PublicPort: 5454, Type: 'tcp' },
      { IP: '10.1.2.3', PrivatePort: 55, PublicPort: 5555, Type: 'tcp' },
    ] as Dockerode.Port[];
    assert.deepEqual(socketAddresses(ports, HOST), [
      { host: '127.0.0.1', port: 5353, is_public: false },
      { host: '::1', port: 5454, is_public: false },
      { host: '10.1.2.3', port: 5555, is_public: true },
      { host: HOST, port: 8080, is_public: true },
      { host: HOST, port: 8081, is_public: true },
    ]);
  });
});

describe('needsPublicHost', () => {
  const port = (IP: string, PublicPort: number) => ({ IP, PrivatePort: 80, PublicPort, Type: 'tcp' });

  it('is true only for a running container with a port published on every interface', () => {
    assert.equal(needsPublicHost(factsFromListEntry(entry({ Ports: [port('0.0.0.0', 8080)] }))), true);
    assert.equal(needsPublicHost(factsFromListEntry(entry({ Ports: [port('', 8080)], State: 'paused' }))), true);
    assert.equal(needsPublicHost(factsFromListEntry(entry({ Ports: [port('127.0.0.1', 8080), port('10.1.2.3', 81)] }))), false);
    assert.equal(needsPublicHost(factsFromListEntry(entry({ Ports: [port('0.0.0.0', 0)] }))), false);
    assert.equal(needsPublicHost(factsFromListEntry(entry({ Ports: [port('0.0.0.0', 8080)], State: 'exited' }))), false);
    assert.equal(needsPublicHost(factsFromListEntry(entry({}))), false);
  });
});

describe('processInfo from inspect', () => {
  const inspect = (
    state: Partial<Dockerode.ContainerInspectInfo['State']>,
    ports: Record<string, Array<{ HostIp: string; HostPort: string }> | null> = {},
  ) =>
    ({
      Id: 'abc',
      Name: '/web',
      Created: '2023-11-14T22:13:20.123456789Z',
      State: {
        Status: 'running',
        Running: true,
        Paused: false,
        Restarting: false,
        OOMKilled: false,
        Dead: false,
        Pid: 1,
        ExitCode: 0,
        Error: '',
        StartedAt: '',
        FinishedAt: '',
        ...state,
      },
      Config: { Labels: { 'hydroplane/process-id': 'web' } },
      NetworkSettings: { Ports: ports },
    }) as unknown as Dockerode.ContainerInspectInfo;

  it('agrees with the list: whole-second created, same addresses', () => {
    const info = processInfo(
      factsFromInspect(
        inspect(
          {},
          {
            '8080/tcp': [
              { HostIp: '0.0.0.0', HostPort: '80' },
              { HostIp: '::', HostPort: '80' },
            ],
            '9090/tcp': null,
          },
        ),
      ),
      HOST,
    );
    assert.deepEqual(info, {
      process_name: 'web',
      group: null,
      socket_addresses: [{ host: HOST, port: 80, is_public: true }],
      created: '2023-11-14T22:13:20.000Z',
      status: 'RUNNING',
    });
  });

  it('takes the exact exit code and says why', () => {
    const info = processInfo(factsFromInspect(inspect({ Status: 'exited', Running: false, ExitCode: 137, OOMKilled: true })), HOST);
    assert.equal(info.status, 'EXITED');
    assert.equal(info.exit_code, 137);
    assert.equal(info.reason, 'OOMKilled');
    const failed = processInfo(factsFromInspect(inspect({ Status: 'created', Running: false, Error: 'port is already allocated' })), HOST);
    assert.equal(failed.status, 'FAILED');
    assert.equal(failed.reason, 'port is already allocated');
  });
});
