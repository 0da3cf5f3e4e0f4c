import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type Dockerode from 'dockerode';
import fc from 'fast-check';
import {
  asListed,
  engineTime,
  factsFromInspect,
  factsFromListEntry,
  needsPublicHost,
  processInfo,
  socketAddresses,
  withTimes,
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
      image: 'img',
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
      Config: { Labels: { 'hydroplane/process-id': 'web' }, Image: 'registry.example/app:1.2' },
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
      image: 'registry.example/app:1.2',
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

const ZERO = '0001-01-01T00:00:00Z';

describe('engineTime', () => {
  it("is absent for Go's zero time, an empty or missing value and nonsense", () => {
    for (const value of [ZERO, '', undefined, null, 'yesterday']) assert.equal(engineTime(value), undefined, String(value));
  });

  it('gives any real Engine time (nanoseconds, any offset) as ISO 8601 in UTC, to the millisecond', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('1971-01-01T00:00:00Z'), max: new Date('2200-01-01T00:00:00Z'), noInvalidDate: true }),
        fc.integer({ min: 0, max: 999_999 }),
        (date, nanos) => {
          const engine = date.toISOString().replace('Z', `${String(nanos).padStart(6, '0')}Z`);
          assert.equal(engineTime(engine), date.toISOString());
        },
      ),
    );
    assert.equal(engineTime('2026-12-01T02:10:36.123456789+01:00'), '2026-12-01T01:10:36.123Z');
  });
});

describe('image, started and finished', () => {
  const inspected = (state: Partial<Dockerode.ContainerInspectInfo['State']>, image: string | null = 'app:1') =>
    ({
      Id: 'abc',
      Created: '2023-11-14T22:13:20Z',
      State: { Status: 'running', ExitCode: 0, Error: '', OOMKilled: false, StartedAt: ZERO, FinishedAt: ZERO, ...state },
      Config: { Labels: { 'hydroplane/process-id': 'web' }, ...(image === null ? {} : { Image: image }) },
      NetworkSettings: { Ports: {} },
    }) as unknown as Dockerode.ContainerInspectInfo;
  const STARTED = '2026-12-01T01:00:00.5Z';
  const FINISHED = '2026-12-01T01:05:00.25Z';

  it('a running container: its image and start, no end', () => {
    const info = processInfo(factsFromInspect(inspected({ StartedAt: STARTED })), HOST);
    assert.equal(info.image, 'app:1');
    assert.equal(info.started, '2026-12-01T01:00:00.500Z');
    assert.equal('finished' in info, false);
  });

  it('a running container that restarted keeps its last end to itself', () => {
    const info = processInfo(factsFromInspect(inspected({ StartedAt: FINISHED, FinishedAt: STARTED })), HOST);
    assert.equal(info.started, '2026-12-01T01:05:00.250Z');
    assert.equal('finished' in info, false);
  });

  it('an exited container: start and end', () => {
    const info = processInfo(
      factsFromInspect(inspected({ Status: 'exited', ExitCode: 3, StartedAt: STARTED, FinishedAt: FINISHED })),
      HOST,
    );
    assert.equal(info.status, 'EXITED');
    assert.equal(info.started, '2026-12-01T01:00:00.500Z');
    assert.equal(info.finished, '2026-12-01T01:05:00.250Z');
  });

  it('a container that never started (zero times): neither', () => {
    const info = processInfo(factsFromInspect(inspected({ Status: 'created', Error: 'port is already allocated' })), HOST);
    assert.equal(info.status, 'FAILED');
    assert.equal('started' in info, false);
    assert.equal('finished' in info, false);
  });

  it("no image in the Engine's answer: no image", () => {
    assert.equal('image' in processInfo(factsFromInspect(inspected({}, null)), HOST), false);
    assert.equal('image' in processInfo(factsFromListEntry(entry({ Image: '' })), HOST), false);
  });

  it('a list entry with the inspect times agrees with the inspect', () => {
    const state = { Status: 'exited', ExitCode: 0, StartedAt: STARTED, FinishedAt: FINISHED };
    const listed = withTimes(
      factsFromListEntry(entry({ Image: 'app:1', State: 'exited', Status: 'Exited (0) 1 minute ago', Created: 1_700_000_000 })),
      state,
    );
    const fromList = processInfo(listed, HOST);
    const fromInspect = processInfo(factsFromInspect(inspected(state)), HOST);
    assert.deepEqual(fromList, fromInspect);
  });
});

describe('asListed', () => {
  const base = { labels: { 'hydroplane/process-id': 'p' }, created: 1, ports: [] };
  it('keeps the reason of a container that never started, as list() reports it, and drops the others', () => {
    assert.equal(asListed({ ...base, state: 'created', reason: 'exec failed' }).reason, 'exec failed');
    for (const state of ['running', 'exited', 'dead', 'paused']) {
      const facts = asListed({ ...base, state, reason: 'OOMKilled', exitCode: 137 });
      assert.equal('reason' in facts, false, state);
      assert.equal(facts.exitCode, 137);
    }
  });
});
