// The OpenAPI document, proved with other people's tools: a strict OpenAPI 3.1 validator reads it,
// and a client generated from it by openapi-typescript-codegen drives a real server.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { generate } from 'openapi-typescript-codegen';
import { build } from 'rolldown';
import { buildApp } from '../../src/server/app.ts';
import { FakeRuntime } from '../support/fake-runtime.ts';

type Operation = {
  operationId?: string;
  parameters?: Array<{ name: string; in: string }>;
  requestBody?: unknown;
  responses: Record<string, unknown>;
};
type Document = { openapi: string; paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, unknown> } };

async function documentOf(): Promise<Document> {
  const app = await buildApp({ runtime: new FakeRuntime(), logger: false });
  const res = await app.inject({ method: 'GET', url: '/openapi.json' });
  assert.equal(res.statusCode, 200);
  await app.close();
  return res.json();
}

function operations(doc: Document): Array<{ method: string; path: string; op: Operation }> {
  return Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ method, path, op })));
}

describe('the OpenAPI document', () => {
  it('is valid OpenAPI 3.1 for a strict validator, with every $ref resolving', async () => {
    const doc = await documentOf();
    assert.equal(doc.openapi, '3.1.0');
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc));
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2)?.slice(0, 3000));
    assert.equal(validator.version, '3.1');
    // Every reference points at a component that is there.
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]*"/g) ?? [];
    assert.ok(refs.length > 10);
    for (const ref of new Set(refs)) {
      const name = /#\/components\/schemas\/([^"]+)"/.exec(ref)?.[1];
      assert.ok(name && doc.components.schemas[name], `${ref} resolves`);
    }
  });

  it('holds JSON Schema 2020-12 that describes what the server takes and answers', async () => {
    const doc = await documentOf();
    // The OpenAPI validator checks the document's structure; each schema is checked here.
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    ajv.addSchema({ $id: 'urn:hydroplane:api', components: doc.components });
    for (const [name, schema] of Object.entries(doc.components.schemas)) {
      assert.equal(ajv.validateSchema(schema as object), true, `${name}: ${ajv.errorsText()}`);
    }
    const check = (name: string) => ajv.compile({ $ref: `urn:hydroplane:api#/components/schemas/${name}` });
    const spec = check('ProcessSpec');
    const original = {
      process_name: 'nginx',
      container: {
        image_uri: 'nginxdemos/hello',
        ports: [{ container_port: '80', host_port: 8080, protocol: 'tcp' }],
        resource_limit: { cpu_vcpu: '0.25', memory_mib: 256 },
      },
      has_public_ip: true,
    };
    assert.equal(spec(original), true, ajv.errorsText(spec.errors));
    assert.equal(spec({ ...original, process_name: 'Bad_Name' }), false);
    assert.equal(spec({ ...original, node_selector: {} }), false, 'a misplaced field is not in the shape (Strict)');
    // The server's own answers fit the answer schemas.
    const runtime = new FakeRuntime();
    const app = await buildApp({ runtime, logger: false });
    const started = await app.inject({ method: 'POST', url: '/process', payload: { ...original, node_selector: { a: 'b' } } });
    assert.equal(started.statusCode, 201);
    const startedOk = check('StartedProcessInfo');
    assert.equal(startedOk(started.json()), true, ajv.errorsText(startedOk.errors));
    const list = (await app.inject({ method: 'GET', url: '/process' })).json<unknown[]>();
    const info = check('ProcessInfo');
    assert.ok(list.length === 1 && list.every((p) => info(p)), ajv.errorsText(info.errors));
    const refused = await app.inject({ method: 'POST', url: '/process?fieldValidation=Strict', payload: { process_name: 'X' } });
    const errorBody = check('ErrorBody');
    assert.equal(errorBody(refused.json()), true, ajv.errorsText(errorBody.errors));
    assert.equal(check('StopResult')((await app.inject({ method: 'DELETE', url: '/process/nginx' })).json()), true);
    await app.close();
  });

  it("keeps the original's operationIds and path parameter name, and names every other operation", async () => {
    const doc = await documentOf();
    const ids = new Map(operations(doc).map(({ method, path, op }) => [`${method.toUpperCase()} ${path}`, op.operationId]));
    // FastAPI's defaults for the original's handlers: {function}{path, non-word characters as _}_{method}.
    assert.equal(ids.get('POST /process'), 'launch_process_process_post');
    assert.equal(ids.get('GET /process'), 'list_processes_process_get');
    assert.equal(ids.get('DELETE /process/{process_name}'), 'terminate_process_process__process_name__delete');
    assert.equal(ids.get('GET /group/{group}'), 'list_processes_in_group_group__group__get');
    assert.equal(ids.get('DELETE /group/{group}'), 'terminate_group_group__group__delete');
    for (const [operation, id] of ids) assert.match(id ?? '', /^[a-z][a-z0-9_]*$/, `${operation} has an operationId`);
    assert.equal(new Set(ids.values()).size, ids.size, 'operationIds are unique');
    for (const { path, op } of operations(doc).filter((o) => o.path.includes('/process/'))) {
      assert.ok(path.startsWith('/process/{process_name}'), path);
      assert.ok(
        op.parameters?.some((p) => p.in === 'path' && p.name === 'process_name'),
        path,
      );
    }
  });

  it('names each shape under components/schemas and references it', async () => {
    const doc = await documentOf();
    const names = Object.keys(doc.components.schemas);
    for (const name of [
      'ProcessSpec',
      'ContainerSpec',
      'PortMapping',
      'EnvironmentVariable',
      'ProcessSecret',
      'ResourceSpec',
      'ProcessInfo',
      'StartedProcessInfo',
      'ProcessStatus',
      'SocketAddress',
      'ErrorBody',
      'FieldProblem',
      'StopResult',
    ]) {
      assert.ok(names.includes(name), `${name} in ${names.join(', ')}`);
    }
    assert.deepEqual(
      names.filter((n) => n.endsWith('Input')),
      [],
      'one plain name for each shape',
    );
    const post = doc.paths['/process']!['post']!;
    assert.match(JSON.stringify(post.requestBody), /"#\/components\/schemas\/ProcessSpec"/);
    assert.match(JSON.stringify(post.responses['201']), /"#\/components\/schemas\/StartedProcessInfo"/);
    assert.match(JSON.stringify(post.responses['422']), /"#\/components\/schemas\/ErrorBody"/);
    // A spec is described as it is written: numbers may be numeric strings.
    assert.match(JSON.stringify(doc.components.schemas['PortMapping']), /"type":"string"/);
  });
});

describe('a client generated from the document', () => {
  const runtime = new FakeRuntime();
  let dir = '';
  let close: () => Promise<void> = async () => {};
  // The generated client's modules, bundled into one (it imports without file extensions).
  let client: {
    OpenAPI: { BASE: string };
    ApiError: new (...args: never[]) => Error & { status: number; body: unknown };
    ProcessesService: Record<string, (...args: unknown[]) => Promise<unknown>>;
    GroupsService: Record<string, (...args: unknown[]) => Promise<unknown>>;
  };

  before(async () => {
    const app = await buildApp({ runtime, logger: false });
    await app.listen({ host: '127.0.0.1', port: 0 });
    close = () => app.close();
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    dir = await mkdtemp(join(tmpdir(), 'hydroplane-openapi-client-'));
    await generate({ input: doc, output: join(dir, 'client'), httpClient: 'fetch', useUnionTypes: true });
    await build({ input: join(dir, 'client', 'index.ts'), output: { file: join(dir, 'client.mjs'), format: 'esm' }, logLevel: 'silent' });
    client = await import(pathToFileURL(join(dir, 'client.mjs')).href);
    client.OpenAPI.BASE = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('starts, lists, gets and stops a process by the names the document gives', async () => {
    const { ProcessesService, GroupsService } = client;
    const spec = { process_name: 'gen', group: 'g', container: { image_uri: 'nginx', ports: [{ container_port: 80, host_port: '8080' }] } };
    const started = (await ProcessesService['launchProcessProcessPost']!(spec)) as { process_name: string; status: string };
    assert.equal(started.process_name, 'gen');
    assert.equal(started.status, 'RUNNING');
    assert.equal(runtime.specs.get('gen')?.container.ports[0]?.host_port, 8080);

    const listed = (await ProcessesService['listProcessesProcessGet']!()) as Array<{ process_name: string }>;
    assert.deepEqual(
      listed.map((p) => p.process_name),
      ['gen'],
    );
    const inGroup = (await GroupsService['listProcessesInGroupGroupGroupGet']!('g')) as unknown[];
    assert.equal(inGroup.length, 1);
    const one = (await ProcessesService['getProcess']!('gen')) as { socket_addresses: Array<{ port: number }> };
    assert.equal(one.socket_addresses[0]?.port, 8080);

    const stopped = await ProcessesService['terminateProcessProcessProcessNameDelete']!('gen');
    assert.deepEqual(stopped, { stopped: ['gen'] });
    assert.equal(runtime.processes.size, 0);
    assert.deepEqual(await GroupsService['terminateGroupGroupGroupDelete']!('g'), { stopped: [] });
  });

  it('passes fieldValidation and gets the warnings of the original-style spec', async () => {
    const spec = { process_name: 'adv', container: { image_uri: 'nginx' }, node_selector: { a: 'b' } };
    const started = (await client.ProcessesService['launchProcessProcessPost']!(spec, 'Warn')) as { warnings?: string[] };
    assert.deepEqual(started.warnings, ["node_selector: unknown field here; 'node_selector' belongs in 'container'"]);
    await assert.rejects(
      client.ProcessesService['launchProcessProcessPost']!({ ...spec, process_name: 'adv2' }, 'Strict'),
      (error: unknown) => {
        assert.ok(error instanceof client.ApiError);
        assert.equal(error.status, 422);
        assert.equal((error.body as { code: string }).code, 'invalid_spec');
        return true;
      },
    );
    await client.ProcessesService['terminateProcessProcessProcessNameDelete']!('adv');
  });

  it("gets the contract's errors as the generated client's errors", async () => {
    await assert.rejects(client.ProcessesService['terminateProcessProcessProcessNameDelete']!('missing'), (error: unknown) => {
      assert.ok(error instanceof client.ApiError);
      assert.equal(error.status, 404);
      assert.deepEqual(error.body, { error: 404, code: 'process_not_found', details: "no process named 'missing'" });
      return true;
    });
  });
});
