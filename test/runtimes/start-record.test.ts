// What a start records (spec digest, expiry) and how each runtime keeps it and reads it back:
// Docker as container labels, Kubernetes as Deployment annotations. Pure; no Engine, no cluster.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type Dockerode from 'dockerode';
import fc from 'fast-check';
import { EXPIRES_AT_LABEL, GROUP_LABEL, PROCESS_LABEL, SPEC_DIGEST_ANNOTATION, SPEC_DIGEST_LABEL } from '../../src/labels.ts';
import { CONTAINER_RECORD_KEYS, containerCreateOptions } from '../../src/runtimes/docker/container-options.ts';
import { factsFromListEntry, processInfo as containerProcessInfo } from '../../src/runtimes/docker/container-info.ts';
import { DEPLOYMENT_RECORD_KEYS, deploymentManifest, processManifests } from '../../src/runtimes/kubernetes/manifests.ts';
import { processInfo as deploymentProcessInfo } from '../../src/runtimes/kubernetes/process-status.ts';
import { recordEntries, recordedFields, startRecord } from '../../src/runtimes/start-record.ts';
import { ProcessSpec } from '../../src/spec/process-spec.ts';
import { specDigest } from '../../src/spec/spec-digest.ts';
import { specInput } from '../support/spec-arbitraries.ts';

const NOW = new Date('2026-12-01T02:00:00.000Z');
const spec = (extra: Record<string, unknown> = {}) =>
  ProcessSpec.parse({ process_name: 'web', group: 'g', container: { image_uri: 'nginx' }, ...extra });

/** A container list entry as the Engine would answer for what containerCreateOptions asked. */
function listEntry(options: Dockerode.ContainerCreateOptions): Dockerode.ContainerInfo {
  return {
    Id: 'abc',
    Names: [`/${options.name}`],
    Image: options.Image!,
    ImageID: 'sha256:x',
    Command: 'httpd',
    Created: Math.floor(NOW.getTime() / 1000),
    Ports: [],
    Labels: options.Labels!,
    State: 'running',
    Status: 'Up 1 second',
    HostConfig: { NetworkMode: 'hydroplane' },
    NetworkSettings: { Networks: {} },
    Mounts: [],
  };
}

describe('start record', () => {
  it('holds the spec digest, and the start plus max_age_minutes as the expiry', () => {
    assert.deepEqual(startRecord(spec(), NOW), { specDigest: specDigest(spec()) });
    assert.deepEqual(startRecord(spec({ max_age_minutes: 0.05 }), NOW), {
      specDigest: specDigest(spec({ max_age_minutes: 0.05 })),
      expiresAt: '2026-12-01T02:00:03.000Z',
    });
    assert.equal(startRecord(spec({ max_age_minutes: '90' }), NOW).expiresAt, '2026-12-01T03:30:00.000Z');
  });

  it('reads back what it wrote, under either runtime keys', () => {
    fc.assert(
      fc.property(
        specInput(),
        fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }),
        fc.boolean(),
        (input, now, docker) => {
          const parsed = ProcessSpec.parse(input);
          const record = startRecord(parsed, now);
          const keys = docker ? CONTAINER_RECORD_KEYS : DEPLOYMENT_RECORD_KEYS;
          const fields = recordedFields(recordEntries(record, keys), keys);
          assert.equal(fields.spec_digest, specDigest(parsed));
          if (parsed.max_age_minutes === undefined) assert.equal(fields.expires, undefined);
          else assert.equal(Date.parse(fields.expires!), now.getTime() + Math.round(parsed.max_age_minutes * 60_000));
        },
      ),
    );
  });

  it('counts a value that is not a digest or a time as absent', () => {
    const keys = CONTAINER_RECORD_KEYS;
    assert.deepEqual(recordedFields(undefined, keys), {});
    assert.deepEqual(recordedFields({ [keys.specDigest]: 'sha256:abc', [keys.expiresAt]: 'tomorrow' }, keys), {});
    assert.deepEqual(recordedFields({ [keys.specDigest]: `md5:${'a'.repeat(32)}`, [keys.expiresAt]: '' }, keys), {});
  });
});

describe('Docker keeps the record as container labels', () => {
  it('beside the ownership labels, which stay exactly as they were', () => {
    const s = spec({ max_age_minutes: 1 });
    const options = containerCreateOptions(s, new Map(), { network: 'hydroplane', record: startRecord(s, NOW) });
    assert.deepEqual(options.Labels, {
      [PROCESS_LABEL]: 'web',
      [GROUP_LABEL]: 'g',
      [SPEC_DIGEST_LABEL]: specDigest(s),
      [EXPIRES_AT_LABEL]: '2026-12-01T02:01:00.000Z',
    });
    const info = containerProcessInfo(factsFromListEntry(listEntry(options)), '');
    assert.equal(info.spec_digest, specDigest(s));
    assert.equal(info.expires, '2026-12-01T02:01:00.000Z');
  });

  it("reads an older server's container, which has neither, as no digest and no expiry", () => {
    const options = containerCreateOptions(spec(), new Map(), { network: 'hydroplane' });
    assert.deepEqual(options.Labels, { [PROCESS_LABEL]: 'web', [GROUP_LABEL]: 'g' });
    const info = containerProcessInfo(factsFromListEntry(listEntry(options)), '');
    assert.equal(info.spec_digest, undefined);
    assert.equal(info.expires, undefined);
  });
});

describe('Kubernetes keeps the record as Deployment annotations', () => {
  it('on the Deployment only: not as labels, not on the pod template (which would restart the pod)', () => {
    const s = spec({ max_age_minutes: 2 });
    const { deployment, service } = processManifests(s, 'default', undefined, startRecord(s, NOW));
    assert.deepEqual(deployment.metadata?.annotations, {
      [SPEC_DIGEST_ANNOTATION]: specDigest(s),
      'hydroplane/expires-at': '2026-12-01T02:02:00.000Z',
    });
    assert.deepEqual(deployment.metadata?.labels, { [PROCESS_LABEL]: 'web', [GROUP_LABEL]: 'g' });
    assert.equal(deployment.spec?.template.metadata?.annotations, undefined);
    assert.equal(service, undefined);
    const { metadata } = deployment;
    if (metadata) metadata.creationTimestamp = NOW;
    const info = deploymentProcessInfo({ deployment, pods: [], service: undefined }, new Map());
    assert.equal(info.spec_digest, specDigest(s));
    assert.equal(info.expires, '2026-12-01T02:02:00.000Z');
  });

  it("reads an older server's Deployment, which has neither, as no digest and no expiry", () => {
    const deployment = deploymentManifest(spec(), 'default');
    assert.equal(deployment.metadata?.annotations, undefined);
    const info = deploymentProcessInfo({ deployment, pods: [], service: undefined }, new Map());
    assert.equal(info.spec_digest, undefined);
    assert.equal(info.expires, undefined);
  });
});
