// spec -> Deployment, Service and pull Secret: exact shapes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { HydroplaneError } from '../../../src/errors.ts';
import {
  cpuQuantity,
  deploymentManifest,
  processManifests,
  resolveRegistryCredentials,
  serviceManifest,
} from '../../../src/runtimes/kubernetes/manifests.ts';
import { ProcessSpec, type ProcessSpecInput } from '../../../src/spec/process-spec.ts';

const parse = (input: ProcessSpecInput) => ProcessSpec.parse(input);
const OURS = { 'hydroplane/process-id': 'web', 'hydroplane/group-id': 'blue' };

describe('Kubernetes manifests', () => {
  it('makes a Deployment alone for a process without ports', () => {
    const m = processManifests(parse({ process_name: 'quiet', container: { image_uri: 'busybox' } }), 'apps');
    assert.deepEqual(m.deployment, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'quiet', namespace: 'apps', labels: { 'hydroplane/process-id': 'quiet' } },
      spec: {
        replicas: 1,
        selector: { matchLabels: { 'hydroplane/process-id': 'quiet' } },
        template: {
          metadata: { labels: { 'hydroplane/process-id': 'quiet' } },
          spec: { containers: [{ name: 'quiet', image: 'busybox' }] },
        },
      },
    });
    assert.equal(m.service, undefined);
    assert.equal(m.pullSecret, undefined);
  });

  it('translates every field of a full private spec', () => {
    const spec = parse({
      process_name: 'web',
      group: 'blue',
      container: {
        image_uri: 'ghcr.io/org/web:1.2',
        command: ['--port', '8080'],
        env: [
          { name: 'MODE', value: 'prod' },
          { name: 'DB_PASSWORD', value: { secret_name: 'db', key: 'password' } },
        ],
        ports: [
          { container_port: 8080, host_port: 80, name: 'http' },
          { container_port: 9090, protocol: 'udp' },
        ],
        resource_request: { cpu_vcpu: 0.25, memory_mib: 128 },
        resource_limit: { cpu_vcpu: 2, memory_mib: 512 },
        node_selector: { 'kubernetes.io/arch': 'arm64' },
      },
    });
    assert.deepEqual(deploymentManifest(spec, 'default'), {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'default', labels: OURS },
      spec: {
        replicas: 1,
        selector: { matchLabels: OURS },
        template: {
          metadata: { labels: OURS },
          spec: {
            containers: [
              {
                name: 'web',
                image: 'ghcr.io/org/web:1.2',
                args: ['--port', '8080'],
                env: [
                  { name: 'MODE', value: 'prod' },
                  { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
                ],
                ports: [
                  { name: 'http', containerPort: 8080, protocol: 'TCP' },
                  { name: 'p-9090-udp', containerPort: 9090, protocol: 'UDP' },
                ],
                resources: { requests: { cpu: '250m', memory: '128Mi' }, limits: { cpu: '2', memory: '512Mi' } },
              },
            ],
            nodeSelector: { 'kubernetes.io/arch': 'arm64' },
          },
        },
      },
    });
    assert.deepEqual(serviceManifest(spec, 'default'), {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'default', labels: OURS },
      spec: {
        type: 'ClusterIP',
        selector: OURS,
        ports: [
          { name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' },
          { name: 'p-9090-udp', port: 9090, targetPort: 9090, protocol: 'UDP' },
        ],
      },
    });
  });

  it('makes a NodePort Service for a public process, one port unnamed', () => {
    const spec = parse({
      process_name: 'pub',
      has_public_ip: true,
      container: { image_uri: 'nginx', ports: [{ container_port: 80, host_port: 8080 }] },
    });
    assert.deepEqual(serviceManifest(spec, 'default'), {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'pub', namespace: 'default', labels: { 'hydroplane/process-id': 'pub' } },
      spec: {
        type: 'NodePort',
        selector: { 'hydroplane/process-id': 'pub' },
        ports: [{ port: 8080, targetPort: 80, protocol: 'TCP' }],
      },
    });
    assert.deepEqual(deploymentManifest(spec, 'default').spec!.template.spec!.containers[0]!.ports, [
      { containerPort: 80, protocol: 'TCP' },
    ]);
  });

  it('lists a container port once when several host ports publish it, and names never clash', () => {
    const spec = parse({
      process_name: 'multi',
      container: {
        image_uri: 'nginx',
        ports: [
          { container_port: 80, host_port: 8080 },
          { container_port: 80, host_port: 8081 },
          { container_port: 81, name: 'p-8081-tcp' },
        ],
      },
    });
    assert.deepEqual(deploymentManifest(spec, 'default').spec!.template.spec!.containers[0]!.ports, [
      { name: 'p-80-tcp', containerPort: 80, protocol: 'TCP' },
      { name: 'p-8081-tcp', containerPort: 81, protocol: 'TCP' },
    ]);
    assert.deepEqual(serviceManifest(spec, 'default')!.spec!.ports, [
      { name: 'p-8080-tcp', port: 8080, targetPort: 80, protocol: 'TCP' },
      { name: 'p-8081-tcp-2', port: 8081, targetPort: 80, protocol: 'TCP' },
      { name: 'p-8081-tcp', port: 81, targetPort: 81, protocol: 'TCP' },
    ]);
  });

  it('refuses a process secret without a key: a Kubernetes Secret is read one key at a time', () => {
    const spec = parse({
      process_name: 'web',
      container: {
        image_uri: 'nginx',
        env: [
          { name: 'A', value: 'x' },
          { name: 'TOKEN', value: { secret_name: 'tok' } },
        ],
      },
    });
    assert.throws(
      () => deploymentManifest(spec, 'default'),
      (err: unknown) => {
        assert.ok(err instanceof HydroplaneError);
        assert.equal(err.code, 'unsupported');
        assert.equal(err.status, 422);
        assert.match(err.message, /env variable 'TOKEN'.*secret 'tok'.*add "key"/);
        assert.deepEqual(err.fields, [{ path: 'container.env[1].value.key', message: 'a key is needed on Kubernetes' }]);
        return true;
      },
    );
  });

  it('writes CPU as cores or millicores and memory in Mi', () => {
    assert.equal(cpuQuantity(0.25), '250m');
    assert.equal(cpuQuantity(0.001), '1m');
    assert.equal(cpuQuantity(1), '1');
    assert.equal(cpuQuantity(1.5), '1500m');
    assert.equal(cpuQuantity(0.29), '290m');
    const spec = parse({ process_name: 'r', container: { image_uri: 'nginx', resource_limit: { memory_mib: 0 } } });
    assert.deepEqual(deploymentManifest(spec, 'default').spec!.template.spec!.containers[0]!.resources, { limits: { memory: '0Mi' } });
  });

  it('keeps the image command when the spec gives an empty one', () => {
    const spec = parse({ process_name: 'c', container: { image_uri: 'nginx', command: [] } });
    assert.equal(deploymentManifest(spec, 'default').spec!.template.spec!.containers[0]!.args, undefined);
  });

  it('logs in to a private registry with a dockerconfigjson Secret named after the process', async () => {
    const spec = parse({
      process_name: 'private',
      group: 'g',
      container: { image_uri: 'ghcr.io/org/app:1', username: 'me', password: { secret_name: 'registry', key: 'token' } },
    });
    const asked: unknown[] = [];
    const credentials = await resolveRegistryCredentials(spec, async (ref) => {
      asked.push(ref);
      return 's3cret';
    });
    assert.deepEqual(asked, [{ secret_name: 'registry', key: 'token' }]);
    assert.deepEqual(credentials, { server: 'ghcr.io', username: 'me', password: 's3cret' });

    const m = processManifests(spec, 'default', credentials);
    const labels = { 'hydroplane/process-id': 'private', 'hydroplane/group-id': 'g' };
    const config = { auths: { 'ghcr.io': { username: 'me', password: 's3cret', auth: Buffer.from('me:s3cret').toString('base64') } } };
    assert.deepEqual(m.pullSecret, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'private', namespace: 'default', labels },
      type: 'kubernetes.io/dockerconfigjson',
      data: { '.dockerconfigjson': Buffer.from(JSON.stringify(config)).toString('base64') },
    });
    assert.deepEqual(m.deployment.spec!.template.spec!.imagePullSecrets, [{ name: 'private' }]);
  });

  it('names Docker Hub as the docker CLI does, and reads a username from a secret', async () => {
    const spec = parse({
      process_name: 'hub',
      container: { image_uri: 'org/app', username: { secret_name: 'hub', key: 'user' }, password: { secret_name: 'hub', key: 'pass' } },
    });
    const credentials = await resolveRegistryCredentials(spec, async (ref) => `${ref.secret_name}.${ref.key}`);
    assert.deepEqual(credentials, { server: 'https://index.docker.io/v1/', username: 'hub.user', password: 'hub.pass' });
    assert.equal(
      await resolveRegistryCredentials(parse({ process_name: 'open', container: { image_uri: 'nginx' } }), async () =>
        assert.fail('no read'),
      ),
      undefined,
    );
  });

  it('makes objects that the official schemas accept', () => {
    const spec = parse({
      process_name: 'valid',
      group: 'g',
      has_public_ip: true,
      container: {
        image_uri: 'nginx',
        username: 'u',
        password: { secret_name: 'p', key: 'k' },
        env: [{ name: 'S', value: { secret_name: 's', key: 'k' } }],
        ports: [{ container_port: 80 }, { container_port: 53, protocol: 'udp' }],
        resource_request: { cpu_vcpu: 0.5, memory_mib: 64 },
      },
    });
    const m = processManifests(spec, 'default', { server: 'https://index.docker.io/v1/', username: 'u', password: 'p' });
    new Deployment(m.deployment as never).validate();
    new Service(m.service as never).validate();
    new Secret(m.pullSecret as never).validate();
  });
});

describe('Kubernetes manifests, for any ports', () => {
  const arbPort = fc.record(
    {
      container_port: fc.integer({ min: 1, max: 65535 }),
      host_port: fc.integer({ min: 1, max: 65535 }),
      protocol: fc.constantFrom('tcp' as const, 'udp' as const),
      name: fc.constantFrom('http', 'p-80-tcp', 'metrics', 'p-53-udp'),
    },
    { requiredKeys: ['container_port', 'protocol'] },
  );
  // The spec refuses two ports on one host port and protocol, and two ports of one name.
  const arbSpec = fc
    .uniqueArray(arbPort, { maxLength: 6, selector: (p) => `${p.host_port ?? p.container_port}/${p.protocol}` })
    .filter((ports) => new Set(ports.flatMap((p) => p.name ?? [])).size === ports.filter((p) => p.name !== undefined).length)
    .chain((ports) => fc.record({ ports: fc.constant(ports), has_public_ip: fc.boolean(), group: fc.constantFrom(undefined, 'blue') }))
    .map(({ ports, has_public_ip, group }) =>
      ProcessSpec.safeParse({ process_name: 'web', ...(group ? { group } : {}), container: { image_uri: 'nginx', ports }, has_public_ip }),
    );

  it('publishes every port once, named (uniquely) whenever there are several, and labels every object as the process', () => {
    fc.assert(
      fc.property(arbSpec, (parsed) => {
        fc.pre(parsed.success);
        const spec = parsed.data;
        const { deployment, service } = processManifests(spec, 'apps');
        const ports = spec.container.ports;
        const labels = deployment.metadata!.labels!;
        assert.equal(labels['hydroplane/process-id'], 'web');
        assert.deepEqual(deployment.spec!.selector.matchLabels, labels);
        assert.deepEqual(deployment.spec!.template.metadata!.labels, labels);
        if (ports.length === 0) {
          assert.equal(service, undefined);
          return;
        }
        const servicePorts = service!.spec!.ports!;
        assert.deepEqual(service!.spec!.selector, labels);
        assert.equal(service!.spec!.type, spec.has_public_ip ? 'NodePort' : 'ClusterIP');
        assert.deepEqual(
          servicePorts.map((p) => [p.port, p.targetPort, p.protocol]),
          ports.map((p) => [p.host_port ?? p.container_port, p.container_port, p.protocol.toUpperCase()]),
        );
        const names = servicePorts.map((p) => p.name);
        if (ports.length > 1) assert.ok(names.every((n) => n !== undefined) && new Set(names).size === names.length, names.join());
        ports.forEach((p, i) => p.name === undefined || assert.equal(names[i], p.name, 'a given name is kept'));

        const containerPorts = deployment.spec!.template.spec!.containers[0]!.ports ?? [];
        const keys = containerPorts.map((c) => `${c.containerPort}/${c.protocol}`);
        assert.equal(new Set(keys).size, keys.length, 'each container port once');
        assert.deepEqual(new Set(keys), new Set(ports.map((p) => `${p.container_port}/${p.protocol.toUpperCase()}`)));
      }),
    );
  });

  it('writes any CPU amount as a quantity that reads back as the same millicores', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64_000 }), (milli) => {
        const q = cpuQuantity(milli / 1000);
        const back = q.endsWith('m') ? Number(q.slice(0, -1)) : Number(q) * 1000;
        assert.equal(back, milli, q);
        assert.match(q, /^[1-9]\d*m?$/);
      }),
    );
  });
});
