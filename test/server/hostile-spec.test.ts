// Hostile specs of up to 1 MB get a short answer: a 422 (or a 413 over the body limit) of a few
// KB in the error shape, naming at most MAX_PROBLEMS problems and counting the rest, each message
// short and free of control characters. First each kind from hostile-specs.ts, then generated ones.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { HydroplaneError } from '../../src/errors.ts';
import { buildApp } from '../../src/server/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { JSON_DEPTH_MAX, JSON_ITEMS_MAX, jsonShapeProblem } from '../../src/spec/json-shape.ts';
import { ProcessSpec, SPEC_LIMITS } from '../../src/spec/process-spec.ts';
import { MAX_PROBLEMS, parseOrThrow } from '../../src/spec/validate.ts';
import { FakeRuntime } from '../support/fake-runtime.ts';
import { BUDGET, hostileSpecs } from './hostile-specs.ts';

/** The largest answer to any spec. */
const ANSWER_MAX = 8 * 1024;
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

async function post(app: FastifyInstance, body: string) {
  // Strict: unknown fields are refused, and named; fieldValidation's other modes are in field-validation.test.ts.
  return app.inject({
    method: 'POST',
    url: '/process?fieldValidation=Strict',
    payload: body,
    headers: { 'content-type': 'application/json' },
  });
}

/** Asserts a short answer in the error shape; returns its body. */
function assertShortRefusal(res: { statusCode: number; body: string }, what: string) {
  assert.ok(res.statusCode === 422 || res.statusCode === 413, `${what}: ${res.statusCode} ${res.body.slice(0, 300)}`);
  const size = Buffer.byteLength(res.body);
  assert.ok(size <= ANSWER_MAX, `${what}: an answer of ${size} bytes`);
  const body = JSON.parse(res.body) as { error: number; details: string; code: string; fields?: Array<{ path: string; message: string }> };
  assert.equal(body.error, res.statusCode);
  assert.equal(typeof body.code, 'string');
  assert.ok(typeof body.details === 'string' && body.details.length > 0);
  assert.ok(!CONTROL.test(body.details), `${what}: a control character in ${JSON.stringify(body.details)}`);
  if (res.statusCode === 422) {
    assert.equal(body.code, 'invalid_spec');
    assert.ok(Array.isArray(body.fields) && body.fields.length > 0, what);
    assert.ok(body.fields.length <= MAX_PROBLEMS + 1, `${what}: ${body.fields.length} fields`);
    for (const field of body.fields) {
      assert.ok(field.message.length <= 300, `${what}: a message of ${field.message.length} characters`);
      assert.ok(field.path.length <= 300, `${what}: a path of ${field.path.length} characters`);
      assert.ok(!CONTROL.test(field.message) && !CONTROL.test(field.path), `${what}: a control character in ${JSON.stringify(field)}`);
    }
  }
  return body;
}

/** What validation alone (without the look at the text's shape) says of a spec. */
function validationRefusal(raw: unknown): { statusCode: number; body: string } {
  try {
    parseOrThrow(ProcessSpec, raw, { subject: 'process spec' });
  } catch (error) {
    assert.ok(error instanceof HydroplaneError, String(error));
    return {
      statusCode: error.status,
      body: JSON.stringify({ error: error.status, details: error.message, code: error.code, fields: error.fields }),
    };
  }
  assert.fail('accepted');
}

describe('hostile specs', () => {
  const specs = hostileSpecs();
  for (const spec of specs) {
    it(`answers ${spec.what} briefly`, async () => {
      const runtime = new FakeRuntime();
      const app = await buildApp({ runtime, logger: false });
      assert.ok(Buffer.byteLength(spec.body) <= 1024 * 1024, 'under the body limit, so that validation is what answers');
      const res = await post(app, spec.body);
      assert.equal(res.statusCode, 422, res.body.slice(0, 300));
      assertShortRefusal(res, spec.what);
      assert.equal(runtime.processes.size, 0);
      // Validation's own answer is as short, for a spec that the look at its shape would let through.
      let raw: unknown;
      try {
        raw = JSON.parse(spec.body);
      } catch {
        return; // nested too deep for this stack: only the look at the shape can answer it
      }
      assertShortRefusal(validationRefusal(raw), `${spec.what}, validated`);
    });
  }

  it('names the first problems and counts the rest, in fields and in details', async () => {
    const app = await buildApp({ runtime: new FakeRuntime(), logger: false });
    const unknown = 5000;
    const extra = Object.fromEntries(Array.from({ length: unknown }, (_, i) => [`f${i}`, 0]));
    const res = await post(app, JSON.stringify({ process_name: 'web', ...extra, container: { image_uri: 'nginx' } }));
    const body = assertShortRefusal(res, 'unknown fields');
    const fields = body.fields!;
    assert.equal(fields.length, MAX_PROBLEMS + 1);
    assert.deepEqual(
      fields.slice(0, 3).map((f) => f.path),
      ['f0', 'f1', 'f2'],
    );
    const rest = (unknown - MAX_PROBLEMS).toLocaleString('en-US');
    assert.deepEqual(fields.at(-1), { path: '', message: `… and ${rest} more problems` });
    // details names as many as fit in a line of a few KB, and counts all the others.
    const counted = /… and ([\d,]+) more problems$/.exec(body.details);
    assert.ok(counted, body.details);
    const named = unknown - Number(counted[1]!.replaceAll(',', ''));
    assert.ok(named >= 5 && named <= MAX_PROBLEMS, body.details);
    assert.ok(body.details.includes(` f${named - 1}: `) && !body.details.includes(` f${named}: `), body.details);
  });

  it('answers a configuration file the same way: the first problems, counted, short', () => {
    const keys = Array.from({ length: 3000 }, (_, i) => `  "\\e]0;${'x'.repeat(200)}${i}": 1`).join('\n');
    try {
      parseConfig(`runtime:\n  runtime_type: docker\n  netwrok: x\n${keys}\n`, 'hostile.yml');
      assert.fail('accepted');
    } catch (error) {
      assert.ok(error instanceof HydroplaneError, String(error));
      assert.equal(error.fields?.length, MAX_PROBLEMS + 1);
      assert.deepEqual(error.fields?.[0], { path: 'runtime.netwrok', message: "unknown field; did you mean 'network'?" });
      assert.equal(error.fields?.at(-1)?.message, `… and ${(3001 - MAX_PROBLEMS).toLocaleString('en-US')} more problems`);
      // One problem a line, each free of control characters.
      assert.ok(error.message.length < 8000, `${error.message.length} characters`);
      for (const line of error.message.split('\n')) assert.ok(!CONTROL.test(line), JSON.stringify(line));
    }
  });

  it('says where an honest mistake belongs, next to hostile ones', async () => {
    const app = await buildApp({ runtime: new FakeRuntime(), logger: false });
    const hostileKey = `\u001b]0;${'x'.repeat(100_000)}`;
    const spec = {
      process_name: 'web',
      image_uri: 'nginx',
      container: { image_uri: 'nginx', comand: ['x'], node_selector: { [hostileKey]: 'a' } },
    };
    const body = assertShortRefusal(await post(app, JSON.stringify(spec)), 'misplaced fields');
    const fields = [...body.fields!].sort((a, b) => a.path.localeCompare(b.path));
    assert.deepEqual(fields.slice(0, 2), [
      { path: 'container.comand', message: "unknown field; did you mean 'command'?" },
      {
        path: `container.node_selector.\\u001b]0;${'x'.repeat(31)}…`,
        message:
          "label key must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit, after an optional 'prefix/'",
      },
    ]);
    assert.deepEqual(fields[2], { path: 'image_uri', message: "unknown field here; 'image_uri' belongs in 'container'" });
    assert.equal(fields.length, 3);
  });
});

// Generated: a hostile part (many keys, many items, a long string, deep nesting), of a generated
// size and content, put in a generated place of an otherwise valid spec.
const junk = fc.oneof(
  fc.constant(0),
  fc.constant(null),
  fc.constant('-'),
  fc.constant(true),
  fc.constant([]),
  fc.constant({}),
  fc.string({ maxLength: 8, unit: 'binary' }),
  fc.constant({ name: '1', value: 2 }),
  fc.constant({ container_port: 'x' }),
);
const piece = fc.string({ minLength: 1, maxLength: 8, unit: 'binary' });
const size = fc.oneof(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1000, max: 200_000 }));
const hostilePart = fc.oneof(
  fc.record({ kind: fc.constant('keys' as const), n: size, key: piece, value: junk }),
  fc.record({ kind: fc.constant('items' as const), n: size, item: junk }),
  fc.record({ kind: fc.constant('string' as const), n: size, text: piece }),
  fc.record({ kind: fc.constant('nested' as const), n: fc.integer({ min: 1, max: 200_000 }), open: fc.constantFrom('[', '{"a":') }),
);
const places = [
  [],
  ['process_name'],
  ['group'],
  ['has_public_ip'],
  ['container'],
  ['container', 'image_uri'],
  ['container', 'username'],
  ['container', 'password'],
  ['container', 'ports'],
  ['container', 'ports', 0],
  ['container', 'ports', 0, 'container_port'],
  ['container', 'ports', 0, 'name'],
  ['container', 'env'],
  ['container', 'env', 0],
  ['container', 'env', 0, 'name'],
  ['container', 'env', 0, 'value'],
  ['container', 'env', 0, 'value', 'secret_name'],
  ['container', 'command'],
  ['container', 'command', 0],
  ['container', 'resource_limit'],
  ['container', 'resource_limit', 'cpu_vcpu'],
  ['container', 'node_selector'],
  ['container', 'node_selector', 'pool'],
  ['container', 'unknown'],
] as const;

type Part = typeof hostilePart extends fc.Arbitrary<infer P> ? P : never;

/** The part as JSON text, built by repetition (generating a megabyte value by value would be slow). */
function partJson(part: Part): string {
  switch (part.kind) {
    case 'keys': {
      const value = JSON.stringify(part.value);
      const keys: string[] = [];
      for (let i = 0, bytes = 0; i < part.n && bytes < BUDGET * 1.2; i++) {
        const entry = `${JSON.stringify(`${part.key}${i}`)}:${value}`;
        keys.push(entry);
        bytes += entry.length + 1;
      }
      return `{${keys.join(',')}}`;
    }
    case 'items': {
      const item = JSON.stringify(part.item);
      return `[${Array.from({ length: Math.min(part.n, Math.ceil((BUDGET * 1.2) / (item.length + 1))) }, () => item).join(',')}]`;
    }
    case 'string':
      return JSON.stringify(part.text.repeat(Math.min(part.n, Math.ceil((BUDGET * 1.2) / part.text.length))));
    case 'nested': {
      const close = part.open === '[' ? ']' : '}';
      const n = Math.min(part.n, Math.floor((BUDGET * 1.2) / (part.open.length + 1)));
      return `${part.open.repeat(n)}${part.open === '[' ? '' : '0'}${close.repeat(n)}`;
    }
  }
}

/** A valid spec with the part at `place` (the place's containers are made as needed). */
function bodyWith(place: readonly (string | number)[], part: Part): string {
  const spec: Record<string, unknown> = {
    process_name: 'web',
    container: {
      image_uri: 'nginx',
      ports: [{ container_port: 80 }],
      env: [{ name: 'A', value: { secret_name: 's' } }],
      command: ['x'],
      resource_limit: { cpu_vcpu: 1 },
      node_selector: { pool: 'a' },
    },
  };
  const marker = '"\u0000hostile\u0000"';
  if (place.length === 0) return partJson(part);
  let at: Record<string | number, unknown> = spec;
  for (const step of place.slice(0, -1)) {
    if (typeof at[step] !== 'object' || at[step] === null) at[step] = {};
    at = at[step] as Record<string | number, unknown>;
  }
  at[place.at(-1)!] = '\u0000hostile\u0000';
  return JSON.stringify(spec).replace(marker, partJson(part));
}

describe('properties over generated hostile specs', () => {
  it('answers each with a 422 or a 413 of a few KB (or a 201 when it is valid), naming at most the cap of problems', async () => {
    const runtime = new FakeRuntime();
    const app = await buildApp({ runtime, logger: false });
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...places), hostilePart, async (place, part) => {
        const body = bodyWith(place, part);
        const res = await post(app, body);
        if (res.statusCode === 201) {
          // A small part can be valid where it is put (a short string for a name, a few arguments).
          runtime.processes.clear();
          return;
        }
        if (res.statusCode === 400) {
          // Only the JSON parser's refusal of what it cannot parse (nesting past its stack) is a 400.
          assert.equal(part.kind, 'nested', res.body);
          assert.ok(Buffer.byteLength(res.body) <= ANSWER_MAX);
          return;
        }
        assertShortRefusal(res, `${part.kind} × ${part.n} at ${place.join('.')}`);
        if (Buffer.byteLength(body) > 1024 * 1024) assert.equal(res.statusCode, 413);
        assert.equal(runtime.processes.size, 0);
      }),
      { numRuns: 150 },
    );
  });
});

// The largest spec that every limit allows: what the look at a body's shape must let through.
function largestHonestSpec() {
  return {
    process_name: 'web',
    group: 'g',
    has_public_ip: true,
    container: {
      image_uri: 'nginx',
      username: { secret_name: 's', key: 'u' },
      password: { secret_name: 's', key: 'p' },
      ports: Array.from({ length: SPEC_LIMITS.ports }, (_, i) => ({
        container_port: 1000 + i,
        host_port: 2000 + i,
        protocol: 'tcp',
        name: `p${i}`,
      })),
      env: Array.from({ length: SPEC_LIMITS.env }, (_, i) => ({ name: `V${i}`, value: { secret_name: 's', key: `k${i}` } })),
      command: Array.from({ length: SPEC_LIMITS.command }, () => 'x'),
      resource_request: { cpu_vcpu: 1, memory_mib: 1 },
      resource_limit: { cpu_vcpu: 1, memory_mib: 1 },
      node_selector: Object.fromEntries(Array.from({ length: SPEC_LIMITS.nodeSelector }, (_, i) => [`k${i}`, 'v'])),
    },
  };
}

/** Array items and object fields past the first, and containers: what jsonShapeProblem counts. */
function itemsOf(value: unknown): number {
  if (Array.isArray(value)) return 1 + Math.max(0, value.length - 1) + value.reduce((n: number, v) => n + itemsOf(v), 0);
  if (typeof value === 'object' && value !== null) {
    const values = Object.values(value);
    return 1 + Math.max(0, values.length - 1) + values.reduce((n: number, v) => n + itemsOf(v), 0);
  }
  return 0;
}

function depthOf(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  return 1 + Math.max(0, ...Object.values(value).map(depthOf));
}

describe("a look at a body's shape before it is parsed", () => {
  it('lets the largest spec within every limit through, to be accepted', async () => {
    const spec = largestHonestSpec();
    assert.equal(jsonShapeProblem(JSON.stringify(spec)), undefined);
    assert.ok(itemsOf(spec) < JSON_ITEMS_MAX * 0.6, `${itemsOf(spec)} items`);
    const runtime = new FakeRuntime();
    const app = await buildApp({ runtime, logger: false });
    const res = await post(app, JSON.stringify(spec));
    assert.equal(res.statusCode, 201, res.body.slice(0, 500));
  });

  it('counts what a parser would build, whatever the strings hold', () => {
    fc.assert(
      fc.property(
        fc.jsonValue({ maxDepth: 8 }),
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 1, max: 8 }),
        (value, itemsMax, depthMax) => {
          const text = JSON.stringify(value);
          const problem = jsonShapeProblem(text, itemsMax, depthMax);
          const tooDeep = depthOf(value) > depthMax;
          const tooMany = itemsOf(value) > itemsMax;
          assert.equal(problem !== undefined, tooDeep || tooMany, `${problem} for ${text.slice(0, 200)}`);
          // Pretty-printed, with strings that look like structure, it counts the same.
          const tricky = JSON.stringify([value, '",[{\\', '\\"'], null, 1);
          assert.equal(
            jsonShapeProblem(tricky, itemsMax + 3, depthMax + 1) !== undefined,
            depthOf(value) > depthMax || itemsOf(value) > itemsMax,
            tricky.slice(0, 200),
          );
        },
      ),
      { numRuns: 500 },
    );
  });

  it(`answers more than ${JSON_ITEMS_MAX} values, or nesting past ${JSON_DEPTH_MAX}, with one problem`, async () => {
    const app = await buildApp({ runtime: new FakeRuntime(), logger: false });
    const many = await post(
      app,
      JSON.stringify({
        process_name: 'web',
        container: { image_uri: 'nginx', command: Array.from({ length: JSON_ITEMS_MAX + 1 }, () => 0) },
      }),
    );
    const body = assertShortRefusal(many, 'many values');
    assert.deepEqual(
      body.fields?.map((f) => f.path),
      [''],
    );
    assert.match(body.details, /more than 20,000 values/);
    const deep = await post(
      app,
      `{"process_name": "web", "container": {"image_uri": "nginx", "command": ${'['.repeat(JSON_DEPTH_MAX)}${']'.repeat(JSON_DEPTH_MAX)}}}`,
    );
    assert.match(assertShortRefusal(deep, 'deep').details, /nested more than 32 deep/);
    // Just within: validation answers, naming the field.
    const shallow = await post(
      app,
      `{"process_name": "web", "container": {"image_uri": "nginx", "command": ${'['.repeat(JSON_DEPTH_MAX - 2)}${']'.repeat(JSON_DEPTH_MAX - 2)}}}`,
    );
    assert.deepEqual(
      assertShortRefusal(shallow, 'shallow').fields?.map((f) => f.path),
      ['container.command[0]'],
    );
  });
});
