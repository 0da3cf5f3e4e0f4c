import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { HydroplaneError } from '../../src/errors.ts';
import { loadConfig, parseConfig } from '../../src/config/load.ts';
import { formatPath } from '../../src/spec/validate.ts';

function refusal(text: string): string {
  try {
    parseConfig(text, 'my-config.yml');
  } catch (error) {
    assert.ok(error instanceof HydroplaneError);
    assert.equal(error.code, 'invalid_config');
    return error.message;
  }
  assert.fail('the config was accepted');
}

describe('config file', () => {
  it('reads the basic config of the original', () => {
    const config = parseConfig('secret_store:\n  secret_store_type: none\nruntime:\n  runtime_type: docker\n', 'basic-config.yml');
    assert.deepEqual(config.secret_store, { secret_store_type: 'none' });
    assert.equal(config.runtime.runtime_type, 'docker');
    assert.equal(config.process_culling, undefined);
  });

  it('fills defaults: local store location, namespaces, culling interval, session duration', () => {
    const config = parseConfig(
      [
        'secret_store: {secret_store_type: local}',
        'runtime:',
        '  runtime_type: eks',
        '  cluster_name: c',
        '  region: us-east-1',
        '  credentials:',
        '    access_key: {access_key_id: {secret_name: aws, key: id}, secret_access_key: {secret_name: aws, key: secret}}',
        '    assume_role: {role_arn: "arn:aws:iam::123:role/r"}',
        'process_culling: {max_age_minutes: 0.5}',
      ].join('\n'),
      'c.yml',
    );
    assert.deepEqual(config.secret_store, { secret_store_type: 'local', store_location: '~/.hydro_secrets' });
    assert.equal(config.runtime.runtime_type === 'eks' && config.runtime.namespace, 'default');
    assert.equal(config.runtime.runtime_type === 'eks' && config.runtime.credentials.assume_role?.session_duration_seconds, 900);
    assert.deepEqual(config.process_culling, { max_age_minutes: 0.5, culling_interval_minutes: 1 });
  });

  it('names the file and the key of an unknown key, a wrong type and a missing field', () => {
    const unknown = refusal('runtime:\n  runtime_type: docker\n  netwrok: x\n');
    assert.match(unknown, /my-config\.yml/);
    assert.match(unknown, /runtime\.netwrok: unknown field; did you mean 'network'\?/);
    assert.match(refusal('runtime:\n  runtime_type: docker\n  stop_grace_seconds: soon\n'), /runtime\.stop_grace_seconds/);
    assert.match(refusal('secret_store: {secret_store_type: none}\n'), /runtime: is required/);
    assert.match(refusal('runtime: {runtime_type: gke, project: p, region: r}\n'), /runtime\.cluster_id: is required/);
    // A field of another runtime: named for this one, with this runtime's fields only.
    const otherRuntime = refusal('runtime: {runtime_type: gke, project: p, region: r, cluster_id: c, cluster_name: c}\n');
    assert.match(
      otherRuntime,
      /runtime\.cluster_name: unknown field for runtime_type 'gke'; expected one of: runtime_type, cluster_id, project, region, namespace, gke_endpoint(;|$)/m,
    );
    assert.match(
      refusal('runtime: {runtime_type: gke, project: p, region: r, cluster_id: c, namespce: n}\n'),
      /runtime\.namespce: unknown field; did you mean 'namespace'\?/,
    );
    assert.match(refusal('runtime: {runtime_type: podman}\n'), /runtime\.runtime_type/);
    assert.match(
      refusal('runtime: {runtime_type: docker}\nprocess_culling: {max_age_minutes: 0}\n'),
      /process_culling\.max_age_minutes: must be more than 0/,
    );
  });

  it('takes a culling interval of one second at least', () => {
    const culling = (interval: number) =>
      `runtime: {runtime_type: docker}\nprocess_culling: {max_age_minutes: 5, culling_interval_minutes: ${interval}}\n`;
    assert.match(refusal(culling(0.001)), /process_culling\.culling_interval_minutes: must be at least 1\/60 of a minute \(one second\)/);
    assert.equal(parseConfig(culling(1 / 60), 'c.yml').process_culling?.culling_interval_minutes, 1 / 60);
    assert.equal(parseConfig(culling(43_200), 'c.yml').process_culling?.culling_interval_minutes, 43_200);
  });

  it('refuses YAML that does not parse, and duplicate keys', () => {
    assert.match(refusal('runtime: [\n'), /my-config\.yml is not valid YAML/);
    assert.match(refusal('runtime: {runtime_type: docker}\nruntime: {runtime_type: docker}\n'), /not valid YAML/);
  });

  it('says when the file is missing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hp-config-'));
    await assert.rejects(loadConfig(join(dir, 'nope.yml')), /cannot read the config file .*nope\.yml: no such file/);
    await assert.rejects(loadConfig(dir), /cannot read the config file .*: it is a folder\. Pass one with -c/);
    // A file that never ends is read up to a bound, not until memory runs out.
    await assert.rejects(loadConfig('/dev/zero'), /the config file \/dev\/zero holds more than 1 MiB, which no configuration does/);
    await writeFile(join(dir, 'ok.yml'), 'runtime: {runtime_type: docker, docker_host: "unix:///tmp/x.sock"}\n');
    const config = await loadConfig(join(dir, 'ok.yml'));
    assert.equal(config.runtime.runtime_type === 'docker' && config.runtime.docker_host, 'unix:///tmp/x.sock');
  });

  // Values only YAML's explicit tags make, and numbers JSON cannot write, anywhere in a valid
  // config: each is refused by name at its own key, never taken for something else or thrown as a crash.
  it('refuses tagged YAML values and non-finite numbers at any key, naming the key', () => {
    const bases: Record<string, unknown>[] = [
      {
        secret_store: { secret_store_type: 'local', store_location: '/tmp/hp-secrets' },
        runtime: { runtime_type: 'docker', network: 'hydroplane', stop_grace_seconds: 3 },
        process_culling: { max_age_minutes: 5, culling_interval_minutes: 1 },
        allowed_hosts: ['hp.example', 'localhost'],
        max_event_streams: 4,
        field_validation: 'Strict',
      },
      {
        secret_store: { secret_store_type: 'none' },
        runtime: { runtime_type: 'kubernetes', kubeconfig: '/tmp/kubeconfig', namespace: 'hp' },
      },
      { runtime: { runtime_type: 'gke', project: 'p', region: 'r', cluster_id: 'c' } },
    ];
    for (const base of bases) parseConfig(stringify(base), 'base.yml');
    const paths = (value: unknown, path: (string | number)[] = []): (string | number)[][] =>
      typeof value === 'object' && value !== null
        ? [path, ...Object.entries(value).flatMap(([k, v]) => paths(v, [...path, Array.isArray(value) ? Number(k) : k]))]
        : [path];
    // !!pairs makes a list of one-key maps, which JSON has: refused by the schema's own words.
    const tagged = ['!!binary AAECAw==', '!!timestamp 2001-12-14', '!!set {a, b}', '!!omap [{a: 1}]'];
    const nonFinite = ['.inf', '-.inf', '.nan', '1e400'];
    const cases = fc.constantFrom(...bases).chain((base) =>
      fc.record({
        base: fc.constant(base),
        path: fc.constantFrom(...paths(base)),
        value: fc.constantFrom(...tagged, '!!pairs [{a: 1}]', ...nonFinite),
      }),
    );
    fc.assert(
      fc.property(cases, ({ base, path, value }) => {
        const marker = 'HP_MARKER_VALUE';
        let text: string;
        if (path.length === 0) text = value;
        else {
          const copy = structuredClone(base);
          let parent: Record<string | number, unknown> = copy;
          for (const part of path.slice(0, -1)) parent = parent[part] as Record<string | number, unknown>;
          parent[path.at(-1)!] = marker;
          text = stringify(copy).replace(marker, value);
        }
        let error: unknown;
        try {
          parseConfig(text, 'c.yml');
        } catch (e) {
          error = e;
        }
        assert.ok(error instanceof HydroplaneError, `accepted or crashed on:\n${text}\n${String(error)}`);
        assert.equal(error.code, 'invalid_config');
        const at = formatPath(path);
        // Named at the key, or within what was put there, or at the union that holds it.
        const problem = error.fields?.find((f) => f.path === at || (f.path !== '' && (at.startsWith(f.path) || f.path.startsWith(at))));
        assert.ok(
          problem ?? (path.length === 0 && error.fields?.some((f) => f.path === '')),
          `${at} not named in:\n${error.message}\nfor:\n${text}`,
        );
        if (tagged.includes(value) && problem) assert.match(problem.message, /which the configuration does not take/);
        // Not "expected a number, got a number (Infinity)".
        if (nonFinite.includes(value) && problem?.path === at) assert.doesNotMatch(problem.message, /expected a number/);
      }),
      { numRuns: 300 },
    );
  });
});
