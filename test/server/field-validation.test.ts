// fieldValidation on POST /process, as Kubernetes has it: Strict refuses unknown or misplaced
// fields, Warn (the default) drops and reports them, Ignore drops them silently; every other
// problem is a 422 in each mode.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { HydroplaneError } from '../../src/errors.ts';
import { startServer } from '../../src/server/start-server.ts';
import { buildApp } from '../../src/server/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { warningHeader } from '../../src/server/routes/processes.ts';
import { ProcessSpec } from '../../src/spec/process-spec.ts';
import { MAX_PROBLEMS, parseOrThrow, type FieldValidation } from '../../src/spec/validate.ts';
import { FakeRuntime } from '../support/fake-runtime.ts';
import { hostileSpecs } from './hostile-specs.ts';

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

// Any JSON but keys that the server refuses before validation (prototype poisoning is a 400).
const junk = fc.jsonValue().filter((v) => !/"(__proto__|constructor|prototype)"/.test(JSON.stringify(v)));

// The original's own examples/nginx-advanced.json, in its shape: node_selector at the top level.
const advanced = {
  process_name: 'nginx',
  container: {
    image_uri: 'nginxdemos/hello',
    ports: [{ container_port: 80, host_port: 8080, protocol: 'tcp' }],
    resource_request: { cpu_vcpu: '0.25', memory_mib: 256 },
    resource_limit: { cpu_vcpu: '0.25', memory_mib: 256 },
  },
  has_public_ip: true,
  node_selector: { 'kubernetes.io/hostname': 'node-1' },
};
const MISPLACED = "node_selector: unknown field here; 'node_selector' belongs in 'container'";

async function setup(fieldValidation?: FieldValidation) {
  const runtime = new FakeRuntime();
  const app = await buildApp({ runtime, logger: false, ...(fieldValidation ? { fieldValidation } : {}) });
  return { runtime, app };
}

function post(app: Awaited<ReturnType<typeof buildApp>>, body: unknown, query = '') {
  return app.inject({
    method: 'POST',
    url: `/process${query}`,
    payload: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
}

/** The Warning headers of an answer, as a list. */
function warningsOf(headers: Record<string, string | string[] | number | undefined>): string[] {
  const value = headers['warning'];
  return value === undefined ? [] : Array.isArray(value) ? value : [String(value)];
}

/** The text of a `299 - "..."` Warning value, unquoted as RFC 7230 quoted-strings are. */
function unquote(value: string): string {
  const match = /^299 - "((?:[^"\\]|\\.)*)"$/.exec(value);
  assert.ok(match, `not a 299 warning: ${value}`);
  return match[1]!.replace(/\\(.)/g, '$1');
}

describe('fieldValidation', () => {
  it("starts the original's nginx-advanced.json by default, with the misplaced field as a warning", async () => {
    const { app, runtime } = await setup();
    const res = await post(app, advanced);
    assert.equal(res.statusCode, 201, res.body);
    assert.deepEqual(res.json().warnings, [MISPLACED]);
    assert.deepEqual(warningsOf(res.headers).map(unquote), [MISPLACED]);
    assert.equal(warningsOf(res.headers)[0], `299 - "${MISPLACED}"`);
    // Dropped, as the original did: the runtime never sees it, and the rest is coerced as usual.
    const spec = runtime.specs.get('nginx')!;
    assert.equal(spec.container.node_selector, undefined);
    assert.deepEqual(spec.container.resource_limit, { cpu_vcpu: 0.25, memory_mib: 256 });
  });

  it('Strict refuses it with the same words; Ignore starts it silently', async () => {
    const { app, runtime } = await setup();
    const strict = await post(app, advanced, '?fieldValidation=Strict');
    assert.equal(strict.statusCode, 422);
    assert.deepEqual(strict.json().fields, [
      { path: 'node_selector', message: "unknown field here; 'node_selector' belongs in 'container'" },
    ]);
    assert.equal(runtime.processes.size, 0);
    const ignore = await post(app, advanced, '?fieldValidation=Ignore');
    assert.equal(ignore.statusCode, 201);
    assert.equal(ignore.json().warnings, undefined);
    assert.deepEqual(warningsOf(ignore.headers), []);
  });

  it('a clean spec has no warnings in any mode', async () => {
    for (const mode of ['', '?fieldValidation=Warn', '?fieldValidation=Strict', '?fieldValidation=Ignore']) {
      const { app } = await setup();
      const res = await post(app, { process_name: 'web', container: { image_uri: 'nginx' } }, mode);
      assert.equal(res.statusCode, 201, mode);
      assert.equal('warnings' in res.json(), false, mode);
      assert.equal(res.headers['warning'], undefined, mode);
    }
  });

  it("the server's default applies without the parameter, and the parameter wins over it", async () => {
    const { app } = await setup('Strict');
    assert.equal((await post(app, advanced)).statusCode, 422);
    const warned = await post(app, advanced, '?fieldValidation=Warn');
    assert.equal(warned.statusCode, 201);
    assert.deepEqual(warned.json().warnings, [MISPLACED]);
  });

  it("reads the server's default from the config's field_validation, Warn when absent", async () => {
    assert.equal(parseConfig('runtime: {runtime_type: docker}\n', 'c.yml').field_validation, 'Warn');
    assert.equal(parseConfig('runtime: {runtime_type: docker}\nfield_validation: Ignore\n', 'c.yml').field_validation, 'Ignore');
    assert.throws(
      () => parseConfig('runtime: {runtime_type: docker}\nfield_validation: strict\n', 'c.yml'),
      (error) => error instanceof HydroplaneError && /field_validation/.test(error.message),
    );
    // And the server started from such a file uses it (refused before the runtime is asked anything).
    const dir = await mkdtemp(join(tmpdir(), 'field-validation-'));
    const configPath = join(dir, 'strict.yml');
    await writeFile(configPath, 'runtime: {runtime_type: docker}\nfield_validation: Strict\n');
    const server = await startServer({
      configPath,
      host: '127.0.0.1',
      port: 0,
      logger: pino({ level: 'silent' }),
      password: async () => '',
      env: {},
    });
    try {
      const res = await fetch(`${server.url}/process`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(advanced),
      });
      assert.equal(res.status, 422);
      assert.match(((await res.json()) as { details: string }).details, /belongs in 'container'/);
    } finally {
      await server.close();
    }
  });

  it('refuses a value that is not one of the three (400), as Kubernetes does', async () => {
    const { app, runtime } = await setup();
    for (const bad of ['strict', 'warn', 'STRICT', '', 'Strict,Warn']) {
      const res = await post(app, advanced, `?fieldValidation=${encodeURIComponent(bad)}`);
      assert.equal(res.statusCode, 400, bad);
      assert.equal(res.json().code, 'invalid_request');
    }
    assert.equal(runtime.processes.size, 0);
  });

  it('reports unknown fields at every depth, including inside a secret and a port', async () => {
    const { app, runtime } = await setup();
    const res = await post(app, {
      process_name: 'web',
      container: {
        image_uri: 'nginx',
        ports: [{ container_port: 80, hostport: 8080 }],
        env: [{ name: 'A', value: { secret_name: 's', extra: 1 } }],
        comand: ['x'],
      },
    });
    assert.equal(res.statusCode, 201, res.body);
    assert.deepEqual([...res.json<{ warnings: string[] }>().warnings].sort(), [
      "container.comand: unknown field; did you mean 'command'?",
      'container.env[0].value.extra: unknown field; expected one of: secret_name, key',
      "container.ports[0].hostport: unknown field; did you mean 'host_port'?",
    ]);
    const spec = runtime.specs.get('web')!;
    assert.deepEqual(spec.container.env, [{ name: 'A', value: { secret_name: 's' } }]);
    assert.equal(spec.container.command, undefined);
  });

  it('refuses every other problem in every mode, naming it', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<FieldValidation | undefined>('Strict', 'Warn', 'Ignore', undefined),
        fc.constantFrom(
          { path: 'process_name', spec: { process_name: 'Bad_Name', container: { image_uri: 'nginx' } } },
          {
            path: 'container.ports[0].container_port',
            spec: { process_name: 'web', container: { image_uri: 'nginx', ports: [{ container_port: 0 }] } },
          },
          {
            path: 'container.resource_request.cpu_vcpu',
            spec: {
              process_name: 'web',
              container: { image_uri: 'nginx', resource_request: { cpu_vcpu: 2 }, resource_limit: { cpu_vcpu: 1 } },
            },
          },
          {
            path: 'container.env[0].value',
            spec: { process_name: 'web', container: { image_uri: 'nginx', env: [{ name: 'A', value: 3 }] } },
          },
        ),
        fc.dictionary(fc.stringMatching(/^x[a-z]{0,8}$/), junk, { maxKeys: 5 }),
        async (mode, bad, extra) => {
          const { app, runtime } = await setup();
          const res = await post(app, { ...bad.spec, ...extra }, mode ? `?fieldValidation=${mode}` : '');
          assert.equal(res.statusCode, 422, res.body);
          assert.ok(
            res.json().fields.some((f: { path: string }) => f.path === bad.path),
            res.body,
          );
          assert.equal(runtime.processes.size, 0);
          assert.equal(res.headers['warning'], undefined);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('Warn starts what Strict would after the unknown fields are taken out, and names each one', async () => {
    // Unknown keys (never a field name of the spec) put into a valid spec at any of its objects.
    const places = ['', 'container', 'container.ports[0]', 'container.env[0]', 'container.env[1].value', 'container.resource_limit'];
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.tuple(fc.constantFrom(...places), fc.stringMatching(/^zz[a-z0-9_]{0,6}$/)), {
          maxLength: 8,
          selector: ([p, k]) => `${p}/${k}`,
        }),
        junk,
        async (extras, value) => {
          const clean = {
            process_name: 'web',
            container: {
              image_uri: 'nginx',
              ports: [{ container_port: 80 }],
              env: [
                { name: 'A', value: 'a' },
                { name: 'B', value: { secret_name: 's', key: 'k' } },
              ],
              resource_limit: { cpu_vcpu: 1 },
            },
          };
          const dirty = structuredClone(clean) as Record<string, unknown>;
          for (const [place, key] of extras) {
            let target: Record<string, unknown> = dirty;
            for (const part of place.split(/\.|\[(\d+)\]/).filter((p) => p !== undefined && p !== ''))
              target = target[part] as Record<string, unknown>;
            target[key] = value;
          }
          const { app, runtime } = await setup();
          const res = await post(app, dirty);
          assert.equal(res.statusCode, 201, res.body);
          assert.deepEqual(runtime.specs.get('web'), parseOrThrow(ProcessSpec, clean, { subject: 'process spec' }));
          const expected = extras.map(([place, key]) => `${place === '' ? key : `${place}.${key}`}: `).sort();
          const warnings = extras.length === 0 ? [] : [...res.json<{ warnings: string[] }>().warnings].sort();
          assert.deepEqual(
            warnings.map((w) => w.slice(0, w.indexOf(': ') + 2)),
            expected,
          );
          assert.deepEqual(warningsOf(res.headers).map(unquote).sort(), warnings);
        },
      ),
      { numRuns: 80 },
    );
  });

  it('names at most 20 and counts the rest, in the body and in the headers', async () => {
    const { app } = await setup();
    const extra = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`f${i}`, 0]));
    const res = await post(app, { process_name: 'web', ...extra, container: { image_uri: 'nginx' } });
    assert.equal(res.statusCode, 201);
    const warnings: string[] = res.json().warnings;
    assert.equal(warnings.length, MAX_PROBLEMS + 1);
    assert.equal(warnings.at(-1), `… and ${(5000 - MAX_PROBLEMS).toLocaleString('en-US')} more problems`);
    const headers = warningsOf(res.headers);
    assert.equal(headers.length, MAX_PROBLEMS + 1);
    assert.equal(unquote(headers.at(-1)!), `... and ${(5000 - MAX_PROBLEMS).toLocaleString('en-US')} more problems`);
  });

  it('answers each hostile spec briefly under Warn: refused, or started with short, escaped warnings', async () => {
    for (const spec of hostileSpecs()) {
      const { app } = await setup();
      const res = await post(app, spec.body);
      assert.ok([201, 413, 422].includes(res.statusCode), `${spec.what}: ${res.statusCode}`);
      assert.ok(Buffer.byteLength(res.body) <= 8 * 1024, `${spec.what}: an answer of ${res.body.length} bytes`);
      const headers = warningsOf(res.headers);
      assert.ok(headers.length <= MAX_PROBLEMS + 1, `${spec.what}: ${headers.length} warnings`);
      for (const header of headers) {
        assert.match(header, /^299 - "[\x20-\x7e]*"$/, spec.what);
        assert.ok(header.length <= 400, `${spec.what}: a header of ${header.length}`);
      }
      if (res.statusCode === 201) {
        for (const warning of res.json().warnings ?? []) {
          assert.ok(warning.length <= 400 && !CONTROL.test(warning), `${spec.what}: ${JSON.stringify(warning).slice(0, 200)}`);
        }
      }
    }
  });

  it('writes any warning as printable ASCII that reads back as the text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => {
        const header = warningHeader(text);
        assert.match(header, /^299 - "[\x20-\x7e]*"$/);
        // Quotes and backslashes read back exactly; what is not printable ASCII becomes \uXXXX text.
        const back = unquote(header);
        // Escaped unit by unit: a character beyond the BMP is its two surrogates.
        const expected = text.replace(/…/g, '...').replace(/[^\x20-\x7e]/g, (u) => `\\u${u.charCodeAt(0).toString(16).padStart(4, '0')}`);
        assert.equal(back, expected);
      }),
    );
  });
});
