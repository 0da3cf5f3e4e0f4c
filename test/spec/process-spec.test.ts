import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HydroplaneError } from '../../src/errors.ts';
import fc from 'fast-check';
import { labelKeyProblem, labelValueProblem } from '../../src/spec/names.ts';
import { ProcessSpec, SPEC_LIMITS } from '../../src/spec/process-spec.ts';
import { MAX_PROBLEMS, parseOrThrow } from '../../src/spec/validate.ts';

type Json = Record<string, unknown>;

function base(container: Json = {}, top: Json = {}): Json {
  return { process_name: 'web', ...top, container: { image_uri: 'nginx', ...container } };
}

function parse(raw: unknown) {
  return parseOrThrow(ProcessSpec, raw, { subject: 'process spec' });
}

/** The paths that a spec is refused for, or [] when it is accepted. */
function problems(raw: unknown): string[] {
  try {
    parse(raw);
    return [];
  } catch (error) {
    assert.ok(error instanceof HydroplaneError);
    assert.equal(error.code, 'invalid_spec');
    assert.equal(error.status, 422);
    return (error.fields ?? []).map((f) => f.path);
  }
}

function messageFor(raw: unknown, path: string): string {
  try {
    parse(raw);
  } catch (error) {
    const field = (error as HydroplaneError).fields?.find((f) => f.path === path);
    if (field) return field.message;
  }
  assert.fail(`no problem reported at ${path}`);
}

describe('process spec', () => {
  it('fills defaults: tcp, host port absent, no env, private', () => {
    const spec = parse(base({ ports: [{ container_port: 80 }] }));
    assert.deepEqual(spec, {
      process_name: 'web',
      has_public_ip: false,
      container: { image_uri: 'nginx', ports: [{ container_port: 80, protocol: 'tcp' }], env: [] },
    });
  });

  it('accepts the original examples', () => {
    assert.deepEqual(
      problems({ process_name: 'nginx', container: { image_uri: 'nginxdemos/hello', ports: [{ container_port: 80, host_port: 8080 }] } }),
      [],
    );
    assert.deepEqual(
      problems({
        process_name: 'chat-server',
        group: 'chat',
        has_public_ip: true,
        container: {
          image_uri: 'ghcr.io/org/chat:1.2',
          ports: [{ container_port: 5000, protocol: 'tcp', name: 'http' }],
          env: [
            { name: 'PEERS', value: 'a,b' },
            { name: 'TOKEN', value: { secret_name: 'chat', key: 'token' } },
          ],
          command: ['--verbose'],
          resource_request: { cpu_vcpu: 0.5, memory_mib: 256 },
          resource_limit: { cpu_vcpu: '1', memory_mib: 512 },
          node_selector: { 'kubernetes.io/arch': 'amd64', pool: 'cpu' },
        },
      }),
      [],
    );
  });

  describe('process_name', () => {
    const cases: Array<[string, boolean]> = [
      ['a', true],
      ['a'.repeat(63), true],
      ['a'.repeat(64), false],
      ['web-1', true],
      ['1web', false],
      ['web-', false],
      ['Web', false],
      ['web_1', false],
      ['web.1', false],
      ['', false],
    ];
    for (const [name, ok] of cases) {
      it(`${ok ? 'accepts' : 'refuses'} ${JSON.stringify(name.length > 10 ? `${name.slice(0, 5)}…(${name.length})` : name)}`, () => {
        assert.deepEqual(problems(base({}, { process_name: name })), ok ? [] : ['process_name']);
      });
    }
    it('is required', () => {
      assert.deepEqual(problems({ container: { image_uri: 'nginx' } }), ['process_name']);
      assert.equal(messageFor({ container: { image_uri: 'nginx' } }, 'process_name'), 'is required');
    });
  });

  describe('group', () => {
    for (const [group, ok] of [
      ['g', true],
      ['G_1.x-y', true],
      ['x'.repeat(63), true],
      ['x'.repeat(64), false],
      ['-g', false],
      ['g.', false],
      ['a b', false],
      ['', false],
    ] as const) {
      it(`${ok ? 'accepts' : 'refuses'} ${JSON.stringify(group.length > 10 ? `(${group.length} chars)` : group)}`, () => {
        assert.deepEqual(problems(base({}, { group })), ok ? [] : ['group']);
      });
    }
    it('accepts null as no group', () => {
      assert.equal(parse(base({}, { group: null })).group, null);
    });
  });

  describe('ports', () => {
    for (const [port, ok] of [
      [1, true],
      [65535, true],
      [0, false],
      [65536, false],
      [-1, false],
      [80.5, false],
      ['80', true],
      [' 8080 ', true],
      ['0', false],
      ['eighty', false],
      [null, false],
    ] as const) {
      it(`container_port ${JSON.stringify(port)} is ${ok ? 'accepted' : 'refused'}`, () => {
        assert.deepEqual(problems(base({ ports: [{ container_port: port }] })), ok ? [] : ['container.ports[0].container_port']);
      });
    }
    it('host_port has the same range', () => {
      assert.deepEqual(problems(base({ ports: [{ container_port: 80, host_port: 65536 }] })), ['container.ports[0].host_port']);
      assert.deepEqual(problems(base({ ports: [{ container_port: 80, host_port: 0 }] })), ['container.ports[0].host_port']);
      assert.equal(parse(base({ ports: [{ container_port: 80, host_port: '65535' }] })).container.ports[0]?.host_port, 65535);
    });
    it('protocol is tcp or udp', () => {
      assert.deepEqual(problems(base({ ports: [{ container_port: 53, protocol: 'udp' }] })), []);
      assert.deepEqual(problems(base({ ports: [{ container_port: 53, protocol: 'sctp' }] })), ['container.ports[0].protocol']);
      assert.deepEqual(problems(base({ ports: [{ container_port: 53, protocol: 'TCP' }] })), ['container.ports[0].protocol']);
    });
    it('refuses two ports with the same host port and protocol, not with different protocols', () => {
      assert.deepEqual(problems(base({ ports: [{ container_port: 53 }, { container_port: 53, protocol: 'udp' }] })), []);
      assert.deepEqual(
        problems(
          base({
            ports: [
              { container_port: 80, host_port: 8080 },
              { container_port: 81, host_port: 8080 },
            ],
          }),
        ),
        ['container.ports[1].host_port'],
      );
      assert.deepEqual(problems(base({ ports: [{ container_port: 8080 }, { container_port: 81, host_port: 8080 }] })), [
        'container.ports[1].host_port',
      ]);
    });
    it('names are Kubernetes port names, unique', () => {
      assert.deepEqual(problems(base({ ports: [{ container_port: 80, name: 'http' }] })), []);
      assert.deepEqual(problems(base({ ports: [{ container_port: 80, name: 'a'.repeat(15) }] })), []);
      assert.deepEqual(problems(base({ ports: [{ container_port: 80, name: 'a'.repeat(16) }] })), ['container.ports[0].name']);
      assert.deepEqual(problems(base({ ports: [{ container_port: 80, name: 'HTTP' }] })), ['container.ports[0].name']);
      assert.deepEqual(problems(base({ ports: [{ container_port: 80, name: '8080' }] })), ['container.ports[0].name']);
      assert.deepEqual(problems(base({ ports: [{ container_port: 80, name: 'a--b' }] })), ['container.ports[0].name']);
      assert.deepEqual(
        problems(
          base({
            ports: [
              { container_port: 80, name: 'web' },
              { container_port: 81, name: 'web' },
            ],
          }),
        ),
        ['container.ports[1].name'],
      );
    });
    it(`allows at most ${SPEC_LIMITS.ports}`, () => {
      const ports = (n: number) => Array.from({ length: n }, (_, i) => ({ container_port: 1000 + i }));
      assert.deepEqual(problems(base({ ports: ports(SPEC_LIMITS.ports) })), []);
      assert.deepEqual(problems(base({ ports: ports(SPEC_LIMITS.ports + 1) })), ['container.ports']);
    });
  });

  describe('env', () => {
    it('takes literal values and process secrets', () => {
      const spec = parse(
        base({
          env: [
            { name: 'A', value: '1' },
            { name: 'B', value: { secret_name: 's' } },
            { name: 'C', value: { secret_name: 's', key: 'k' } },
          ],
        }),
      );
      assert.deepEqual(spec.container.env[2], { name: 'C', value: { secret_name: 's', key: 'k' } });
    });
    for (const [name, ok] of [
      ['A', true],
      ['_a1', true],
      ['PATH_2', true],
      ['1A', false],
      ['A-B', false],
      ['A=B', false],
      ['', false],
      ['A B', false],
    ] as const) {
      it(`name ${JSON.stringify(name)} is ${ok ? 'accepted' : 'refused'}`, () => {
        assert.deepEqual(problems(base({ env: [{ name, value: 'x' }] })), ok ? [] : ['container.env[0].name']);
      });
    }
    it('refuses a name set twice, and a secret with an empty name or an unknown field', () => {
      assert.deepEqual(
        problems(
          base({
            env: [
              { name: 'A', value: '1' },
              { name: 'A', value: '2' },
            ],
          }),
        ),
        ['container.env[1].name'],
      );
      assert.ok(problems(base({ env: [{ name: 'A', value: { secret_name: '' } }] })).length > 0);
      assert.deepEqual(problems(base({ env: [{ name: 'A', value: { secret_name: 's', kee: 'k' } }] })), ['container.env[0].value.kee']);
      assert.match(
        messageFor(base({ env: [{ name: 'A', value: { secret_name: 's', kee: 'k' } }] }), 'container.env[0].value.kee'),
        /did you mean 'key'/,
      );
    });
    it('refuses a number as a value', () => {
      assert.deepEqual(problems(base({ env: [{ name: 'A', value: 1 }] })), ['container.env[0].value']);
    });
  });

  describe('resources', () => {
    for (const [cpu, ok] of [
      [0.001, true],
      [0.0009, false],
      [0, false],
      ['0.25', true],
      [-1, false],
      ['abc', false],
      [4, true],
    ] as const) {
      it(`cpu_vcpu ${JSON.stringify(cpu)} is ${ok ? 'accepted' : 'refused'}`, () => {
        assert.deepEqual(problems(base({ resource_limit: { cpu_vcpu: cpu } })), ok ? [] : ['container.resource_limit.cpu_vcpu']);
      });
    }
    for (const [mem, ok] of [
      [0, true],
      [1, true],
      [-1, false],
      [1.5, false],
      ['512', true],
    ] as const) {
      it(`memory_mib ${JSON.stringify(mem)} is ${ok ? 'accepted' : 'refused'}`, () => {
        assert.deepEqual(problems(base({ resource_request: { memory_mib: mem } })), ok ? [] : ['container.resource_request.memory_mib']);
      });
    }
    it('refuses a request above its limit, and accepts one equal to it', () => {
      assert.deepEqual(
        problems(base({ resource_request: { cpu_vcpu: 1, memory_mib: 512 }, resource_limit: { cpu_vcpu: 1, memory_mib: 512 } })),
        [],
      );
      assert.deepEqual(
        problems(base({ resource_request: { cpu_vcpu: 1.5, memory_mib: 513 }, resource_limit: { cpu_vcpu: 1, memory_mib: 512 } })),
        ['container.resource_request.cpu_vcpu', 'container.resource_request.memory_mib'],
      );
      assert.deepEqual(problems(base({ resource_request: { cpu_vcpu: '0.5' }, resource_limit: { cpu_vcpu: '0.25' } })), [
        'container.resource_request.cpu_vcpu',
      ]);
    });
  });

  describe('image, registry login, command, node selector', () => {
    for (const [image, ok] of [
      ['nginx', true],
      ['nginxdemos/hello', true],
      ['ghcr.io/org/img:tag', true],
      ['localhost:5000/team/app:1.0', true],
      ['127.0.0.1:5000/app@sha256:' + 'a'.repeat(64), true],
      ['Nginx', false],
      ['nginx:', false],
      ['nginx latest', false],
      ['', false],
    ] as const) {
      it(`image ${JSON.stringify(image.length > 40 ? image.slice(0, 40) + '…' : image)} is ${ok ? 'accepted' : 'refused'}`, () => {
        assert.deepEqual(problems(base({ image_uri: image })), ok ? [] : ['container.image_uri']);
      });
    }
    it('needs a username with a password, and the password as a secret', () => {
      assert.deepEqual(problems(base({ username: 'me', password: { secret_name: 'p' } })), []);
      assert.deepEqual(problems(base({ username: { secret_name: 'u', key: 'user' }, password: { secret_name: 'p' } })), []);
      assert.deepEqual(problems(base({ password: { secret_name: 'p' } })), ['container.username']);
      assert.deepEqual(problems(base({ username: 'me', password: 'plain-text' })), ['container.password']);
    });
    it('command is a list of strings', () => {
      assert.deepEqual(parse(base({ command: ['sh', '-c', 'echo hi'] })).container.command, ['sh', '-c', 'echo hi']);
      assert.deepEqual(problems(base({ command: 'echo hi' })), ['container.command']);
      assert.deepEqual(problems(base({ command: ['echo', 1] })), ['container.command[1]']);
    });
    it('node selector keys and values are Kubernetes labels', () => {
      assert.deepEqual(problems(base({ node_selector: { 'example.com/pool': 'gpu-a100', zone: '' } })), []);
      assert.deepEqual(problems(base({ node_selector: { 'bad key': 'v' } })), ['container.node_selector.bad key']);
      assert.deepEqual(problems(base({ node_selector: { pool: 'v'.repeat(64) } })), ['container.node_selector.pool']);
      assert.deepEqual(problems(base({ node_selector: { pool: 1 } })), ['container.node_selector.pool']);
    });
  });

  describe('max_age_minutes', () => {
    it('is optional: absent, a process never expires on its own', () => {
      assert.equal(parse(base()).max_age_minutes, undefined);
    });
    it('takes any number above 0 up to a year, as a number or a numeric string', () => {
      fc.assert(
        fc.property(
          fc.double({ min: Number.MIN_VALUE, max: SPEC_LIMITS.maxAgeMinutes, noNaN: true }),
          fc.boolean(),
          (minutes, asString) => {
            fc.pre(!asString || /^[0-9.]+$/.test(String(minutes)));
            assert.equal(parse(base({}, { max_age_minutes: asString ? String(minutes) : minutes })).max_age_minutes, minutes);
          },
        ),
      );
      assert.equal(parse(base({}, { max_age_minutes: ' 0.05 ' })).max_age_minutes, 0.05);
    });
    it('refuses 0, negative numbers, more than a year, and what is not a number', () => {
      fc.assert(
        fc.property(
          fc.oneof(
            fc.double({ max: 0, noNaN: true }),
            fc.double({ min: SPEC_LIMITS.maxAgeMinutes, minExcluded: true, noNaN: true }),
            fc.constantFrom('soon', '', true, null, [], {}, '1e3', 'Infinity'),
          ),
          (value) => {
            assert.deepEqual(problems(base({}, { max_age_minutes: value })), ['max_age_minutes']);
          },
        ),
      );
      assert.match(messageFor(base({}, { max_age_minutes: 0 }), 'max_age_minutes'), /more than 0/);
      assert.match(messageFor(base({}, { max_age_minutes: 10 ** 6 }), 'max_age_minutes'), /at most 527040 minutes/);
    });
    it('belongs at the top level, as the 422 says when it is in the container', () => {
      assert.match(messageFor(base({ max_age_minutes: 5 }), 'container.max_age_minutes'), /belongs at the top level/);
    });
  });

  describe('unknown fields', () => {
    it('says where a known field belongs when it is misplaced', () => {
      const raw = { process_name: 'nginx', node_selector: { pool: 'a' }, container: { image_uri: 'nginx', has_public_ip: true } };
      assert.deepEqual(problems(raw).sort(), ['container.has_public_ip', 'node_selector']);
      assert.match(messageFor(raw, 'node_selector'), /belongs in 'container'/);
      assert.match(messageFor(raw, 'container.has_public_ip'), /belongs at the top level/);
    });
    it('suggests the near name for a typo, and lists the fields otherwise', () => {
      assert.match(
        messageFor(base({ ports: [{ container_prot: 80 }] }), 'container.ports[0].container_prot'),
        /did you mean 'container_port'/,
      );
      assert.match(
        messageFor(base({}, { colour: 'red' }), 'colour'),
        /expected one of: process_name, group, has_public_ip, container, max_age_minutes/,
      );
    });
  });

  it('reports every problem at once', () => {
    assert.deepEqual(
      problems({
        process_name: 'Bad',
        has_public_ip: 'yes',
        container: { image_uri: 'nginx', ports: [{ container_port: 0 }], env: [{ name: '1', value: 'x' }] },
      }).sort(),
      ['container.env[0].name', 'container.ports[0].container_port', 'has_public_ip', 'process_name'],
    );
  });

  it('refuses what is not an object', () => {
    for (const raw of [null, [], 'spec', 42]) assert.deepEqual(problems(raw), ['']);
  });
});

/** A list or a map over its limit whose items count how often they are read. */
function spied(kind: 'array' | 'record', size: number, item: unknown): { value: unknown; reads: () => number } {
  let reads = 0;
  // Defining index i of an empty array makes its length i + 1.
  const value = (kind === 'array' ? [] : {}) as Record<string | number, unknown>;
  for (let i = 0; i < size; i++) {
    Object.defineProperty(value, kind === 'array' ? i : `k${i}`, {
      enumerable: true,
      get: () => {
        reads++;
        return item;
      },
    });
  }
  return { value, reads: () => reads };
}

describe('limits', () => {
  for (const [field, limit, item] of [
    ['ports', SPEC_LIMITS.ports, { container_port: 80 }],
    ['env', SPEC_LIMITS.env, { name: 'A', value: 'x' }],
    ['command', SPEC_LIMITS.command, 'x'],
  ] as const) {
    it(`refuses more than ${limit} ${field} as one problem, before reading any`, () => {
      const { value, reads } = spied('array', limit + 1, item);
      assert.deepEqual(problems(base({ [field]: value })), [`container.${field}`]);
      assert.equal(reads(), 0);
      assert.match(
        messageFor(base({ [field]: spied('array', limit + 1, item).value }), `container.${field}`),
        new RegExp(`at most ${limit}`),
      );
    });
  }

  it(`refuses more than ${SPEC_LIMITS.nodeSelector} node_selector labels as one problem, before reading any`, () => {
    const { value, reads } = spied('record', 75_000, '-');
    assert.deepEqual(problems(base({ node_selector: value })), ['container.node_selector']);
    assert.equal(reads(), 0);
    assert.deepEqual(problems(base({ node_selector: spied('record', SPEC_LIMITS.nodeSelector, 'v').value })), []);
  });

  for (const [what, container, top, path, limit] of [
    ['image_uri', { image_uri: 'a'.repeat(SPEC_LIMITS.imageUri + 1) }, {}, 'container.image_uri', SPEC_LIMITS.imageUri],
    [
      'an env value',
      { env: [{ name: 'A', value: 'x'.repeat(SPEC_LIMITS.stringLength + 1) }] },
      {},
      'container.env[0].value',
      SPEC_LIMITS.stringLength,
    ],
    ['an env name', { env: [{ name: `${'A'.repeat(SPEC_LIMITS.name)}-`, value: 'x' }] }, {}, 'container.env[0].name', SPEC_LIMITS.name],
    ['a command argument', { command: ['x'.repeat(SPEC_LIMITS.stringLength + 1)] }, {}, 'container.command[0]', SPEC_LIMITS.stringLength],
    ['a process name', {}, { process_name: `${'a'.repeat(100)}-` }, 'process_name', 63],
    ['a port name', { ports: [{ container_port: 80, name: 'A'.repeat(16) }] }, {}, 'container.ports[0].name', 15],
  ] as const) {
    it(`refuses ${what} over ${limit} characters with one problem, before its pattern`, () => {
      const raw = base(container, top);
      assert.deepEqual(problems(raw), [path]);
      assert.match(messageFor(raw, path), new RegExp(`at most ${limit} characters`));
    });
  }

  it('refuses a numeric string longer than any number before its pattern', () => {
    const raw = base({ ports: [{ container_port: `${'9'.repeat(SPEC_LIMITS.numericString)}x` }] });
    assert.deepEqual(problems(raw), ['container.ports[0].container_port']);
    assert.deepEqual(problems(base({ ports: [{ container_port: ` ${'0'.repeat(SPEC_LIMITS.numericString - 5)}80 ` }] })), []);
  });

  it(`names the first ${MAX_PROBLEMS} problems and counts the rest`, () => {
    const raw = base({ env: Array.from({ length: 100 }, (_, i) => ({ name: `1${i}`, value: 'x' })) });
    const paths = problems(raw);
    assert.equal(paths.length, MAX_PROBLEMS + 1);
    assert.deepEqual(paths.slice(0, 3), ['container.env[0].name', 'container.env[1].name', 'container.env[2].name']);
    assert.equal(paths.at(-1), '');
    assert.equal(messageFor(raw, ''), `… and ${100 - MAX_PROBLEMS} more problems`);
    assert.equal(
      problems(base({ env: Array.from({ length: MAX_PROBLEMS }, (_, i) => ({ name: `1${i}`, value: 'x' })) })).length,
      MAX_PROBLEMS,
    );
  });

  it('shows a value from the spec short and escaped', () => {
    const name = `A${'\u0007'.repeat(3)}${'B'.repeat(500)}`.replace(/\u0007/g, '_');
    const message = messageFor(
      base({
        env: [
          { name, value: '1' },
          { name, value: '2' },
        ],
      }),
      'container.env[1].name',
    );
    assert.equal(message, `variable '${name.slice(0, 40)}…' is already set by env[0]`);
    const label = messageFor(base({ node_selector: { pool: `\u001b[31m${'x'.repeat(500)}` } }), 'container.node_selector.pool');
    assert.ok(label.startsWith(`label value '\\u001b[31m${'x'.repeat(30)}…' must be`), label);
  });
});

describe('label problems', () => {
  it('are short and free of control characters, whatever the label', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 2000 }), (text) => {
        for (const problem of [labelKeyProblem(text), labelValueProblem(text), labelKeyProblem(`${text}/x`)]) {
          if (problem === undefined) continue;
          assert.ok(problem.length <= 200, problem);
          assert.ok(!/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(problem), JSON.stringify(problem));
        }
      }),
      { numRuns: 300 },
    );
  });
});
