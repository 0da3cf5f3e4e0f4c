// Generated process specs (fast-check), as users write them: for the properties of the spec's
// digest and of apply. Every spec generated is valid; `variants` writes one spec in the other
// ways that mean the same (defaults spelt out, numbers as strings, keys in another order).
import fc from 'fast-check';
import type { ProcessSpecInput } from '../../src/spec/process-spec.ts';

type Json = Record<string, unknown>;

const word = fc.stringMatching(/^[a-z][a-z0-9]{0,7}$/);
const secret = fc.record({ secret_name: word, key: fc.option(word, { nil: undefined }) }, { requiredKeys: ['secret_name'] });

/** A valid spec input for a process called `name` (default: generated). */
export function specInput(name?: string): fc.Arbitrary<ProcessSpecInput> {
  const ports = fc.uniqueArray(
    fc.record({ container_port: fc.integer({ min: 1, max: 65535 }), protocol: fc.constantFrom('tcp' as const, 'udp' as const) }),
    { maxLength: 3, selector: (p) => `${p.container_port}/${p.protocol}` },
  );
  const env = fc.uniqueArray(fc.record({ name: word.map((w) => w.toUpperCase()), value: fc.oneof(fc.string({ maxLength: 12 }), secret) }), {
    maxLength: 3,
    selector: (e) => e.name,
  });
  return fc
    .record(
      {
        process_name: name === undefined ? word : fc.constant(name),
        group: fc.option(word, { nil: undefined }),
        has_public_ip: fc.boolean(),
        max_age_minutes: fc.option(fc.double({ min: 0.01, max: 10_000, noNaN: true }), { nil: undefined }),
        container: fc.record(
          {
            image_uri: fc.constantFrom('nginx', 'nginxdemos/hello', 'ghcr.io/org/img:1.2', 'hydroplane-test/busybox:latest'),
            ports,
            env,
            command: fc.option(fc.array(fc.string({ maxLength: 8 }), { minLength: 1, maxLength: 3 }), { nil: undefined }),
            resource_limit: fc.option(fc.record({ memory_mib: fc.integer({ min: 64, max: 4096 }) }), { nil: undefined }),
            node_selector: fc.option(fc.dictionary(word, word, { maxKeys: 2 }), { nil: undefined }),
          },
          { requiredKeys: ['image_uri'] },
        ),
      },
      { requiredKeys: ['process_name', 'container'] },
    )
    .map((spec) => withoutUndefined(spec) as ProcessSpecInput);
}

/** Other ways of writing `spec` that validate to the same spec. */
export function variants(spec: ProcessSpecInput): fc.Arbitrary<Json> {
  return fc.record({ seed: fc.integer(), spell: fc.boolean(), strings: fc.boolean() }).map(({ seed, spell, strings }) => {
    const copy = structuredClone(spec) as Json;
    const container = copy['container'] as Json;
    if (spell) {
      copy['has_public_ip'] ??= false;
      copy['group'] ??= null;
      container['ports'] ??= [];
      container['env'] ??= [];
      for (const port of container['ports'] as Json[]) port['protocol'] ??= 'tcp';
    } else {
      if (copy['has_public_ip'] === false) delete copy['has_public_ip'];
      if ((container['ports'] as unknown[] | undefined)?.length === 0) delete container['ports'];
      if ((container['env'] as unknown[] | undefined)?.length === 0) delete container['env'];
      for (const port of (container['ports'] as Json[] | undefined) ?? []) if (port['protocol'] === 'tcp') delete port['protocol'];
    }
    if (strings) {
      for (const port of (container['ports'] as Json[] | undefined) ?? []) port['container_port'] = String(port['container_port']);
      if (typeof copy['max_age_minutes'] === 'number') copy['max_age_minutes'] = String(copy['max_age_minutes']);
      if (typeof copy['has_public_ip'] === 'boolean') copy['has_public_ip'] = String(copy['has_public_ip']);
    }
    return shuffledKeys(copy, seed) as Json;
  });
}

/** The same value with the keys of every object in another order. */
export function shuffledKeys(value: unknown, seed: number): unknown {
  if (Array.isArray(value)) return value.map((v, i) => shuffledKeys(v, seed + i));
  if (value === null || typeof value !== 'object') return value;
  const keys = Object.keys(value);
  let state = seed >>> 0 || 1;
  for (let i = keys.length - 1; i > 0; i--) {
    state = (state * 1_103_515_245 + 12_345) >>> 0;
    const j = state % (i + 1);
    [keys[i], keys[j]] = [keys[j]!, keys[i]!];
  }
  const out: Json = {};
  for (const key of keys) out[key] = shuffledKeys((value as Json)[key], seed + key.length);
  return out;
}

function withoutUndefined(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutUndefined);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, withoutUndefined(v)]),
  );
}

/** Changes that make another spec: each takes a spec input and gives one that differs in effect. */
export const REAL_CHANGES: ReadonlyArray<[string, (spec: ProcessSpecInput) => ProcessSpecInput]> = [
  ['another image', (s) => ({ ...s, container: { ...s.container, image_uri: `${s.container.image_uri.split(':')[0]}:changed` } })],
  ['another group', (s) => ({ ...s, group: `${s.group ?? 'g'}x` })],
  ['public instead of private, or back', (s) => ({ ...s, has_public_ip: !(s.has_public_ip === true || s.has_public_ip === 'true') })],
  ['another lifetime', (s) => ({ ...s, max_age_minutes: Number(s.max_age_minutes ?? 5) + 1 })],
  [
    'one more variable',
    (s) => ({ ...s, container: { ...s.container, env: [...(s.container.env ?? []), { name: 'ADDED_BY_CHANGE', value: '1' }] } }),
  ],
  ['another command', (s) => ({ ...s, container: { ...s.container, command: [...(s.container.command ?? []), 'more'] } })],
  [
    'a port more or less',
    (s) => {
      const ports = s.container.ports ?? [];
      const without = ports.filter((p) => Number(p.container_port) !== 1);
      return {
        ...s,
        container: { ...s.container, ports: without.length < ports.length ? without : [...ports, { container_port: 1, protocol: 'tcp' }] },
      };
    },
  ],
  ['a memory limit', (s) => ({ ...s, container: { ...s.container, resource_limit: { memory_mib: 5000 } } })],
];
