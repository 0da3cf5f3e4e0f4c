// Kubernetes API failures -> the catalogue (errors.ts), without a cluster: what apiFailure reads
// from each kind of failure client-node throws, which catalogue code every HTTP status becomes,
// and how a field of our manifests is named back as a spec field.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ApiException } from '@kubernetes/client-node';
import { HydroplaneError } from '../../../src/errors.ts';
import {
  apiFailure,
  isAlreadyExists,
  isForbidden,
  isNotFound,
  specPath,
  translateKubeError,
  type KubeErrorContext,
  type KubeStatus,
} from '../../../src/runtimes/kubernetes/errors.ts';

const exception = (code: number, body: unknown) => new ApiException(code, `HTTP ${code}`, body, {});
const status = (code: number, reason: string, message: string, details?: KubeStatus['details']): KubeStatus => ({
  kind: 'Status',
  status: 'Failure',
  code,
  reason,
  message,
  ...(details === undefined ? {} : { details }),
});

const ctx: KubeErrorContext = {
  runtime: 'kubernetes',
  server: 'https://10.0.0.1:6443',
  namespace: 'apps',
  action: "starting process 'web'",
  verb: 'create',
  resource: 'deployments',
  processName: 'web',
  timeoutMs: 30_000,
};

describe('apiFailure', () => {
  it("reads an answer's status code and Status body, whether the body came parsed or as text", () => {
    const body = status(404, 'NotFound', 'deployments.apps "web" not found');
    for (const given of [body, JSON.stringify(body)]) {
      const f = apiFailure(exception(404, given));
      assert.equal(f.code, 404);
      assert.equal(f.network, undefined);
      assert.equal(f.status?.reason, 'NotFound');
      assert.equal(f.text, 'deployments.apps "web" not found');
    }
  });

  it('keeps a body that is not a Status as the text, cut at 500 characters, and says the code when there is none', () => {
    assert.equal(apiFailure(exception(502, 'bad gateway')).text, 'bad gateway');
    assert.equal(apiFailure(exception(502, 'x'.repeat(600))).text.length, 500);
    assert.equal(apiFailure(exception(500, '')).text, 'HTTP 500');
    assert.equal(apiFailure(exception(500, '')).status, undefined);
  });

  it('names a failure without an answer by its code: a timeout, an abort, a refused connection', () => {
    const timeout = Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' });
    assert.equal(apiFailure(timeout).network, 'TimeoutError');
    assert.equal(apiFailure(Object.assign(new Error('aborted'), { name: 'AbortError' })).network, 'TimeoutError');
    const refused = new TypeError('fetch failed', {
      cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
    });
    assert.deepEqual(apiFailure(refused), {
      code: undefined,
      status: undefined,
      network: 'ECONNREFUSED',
      text: 'connect ECONNREFUSED 127.0.0.1:1',
    });
    assert.deepEqual(apiFailure(new Error('exec plugin failed')), {
      code: undefined,
      status: undefined,
      network: undefined,
      text: 'exec plugin failed',
    });
  });

  it('tells not found, forbidden and already exists apart, and only for API answers', () => {
    assert.equal(isNotFound(exception(404, '')), true);
    assert.equal(isForbidden(exception(403, '')), true);
    assert.equal(isAlreadyExists(exception(409, status(409, 'AlreadyExists', 'exists'))), true);
    assert.equal(isAlreadyExists(exception(409, status(409, 'Conflict', 'the object has been modified'))), false);
    assert.equal(isNotFound(Object.assign(new Error('x'), { code: 404 })), false);
  });
});

describe('translateKubeError', () => {
  const expected = (code: number): string => {
    if (code === 401 || code === 403) return 'runtime_forbidden';
    if (code === 400 || code === 422) return 'invalid_spec';
    if (code === 503) return 'runtime_unavailable';
    if (code === 504) return 'runtime_timeout';
    return 'runtime_error';
  };

  it('makes every HTTP answer a catalogue error that names the API server or the runtime, never passing the status through', () => {
    // Every status of the range (a sample could miss the few with words of their own), each with generated texts.
    for (let code = 300; code < 600; code++) {
      fc.assert(
        fc.property(fc.string({ maxLength: 40 }), (message) => {
          const err = translateKubeError(exception(code, status(code, 'Whatever', message)), ctx);
          assert.ok(err instanceof HydroplaneError);
          assert.equal(err.code, expected(code));
          assert.ok(err.message.includes(ctx.server) || /kubernetes/i.test(err.message), err.message);
          assert.ok(
            err.cause instanceof Error && !(err.cause instanceof ApiException),
            'the cause is a plain Error, not the raw exception',
          );
        }),
        { numRuns: 10 },
      );
    }
  });

  it('names the verb, the resource and the README for RBAC, and the namespace when it is missing', () => {
    const forbidden = translateKubeError(exception(403, status(403, 'Forbidden', 'no')), ctx);
    assert.match(forbidden.message, /may not create deployments in namespace 'apps'/);
    assert.match(forbidden.message, /'create' verb on 'deployments'/);
    const noNamespace = translateKubeError(
      exception(404, status(404, 'NotFound', 'namespaces "apps" not found', { name: 'apps', kind: 'namespaces' })),
      ctx,
    );
    assert.match(noNamespace.message, /namespace 'apps' does not exist in the cluster at https:\/\/10\.0\.0\.1:6443/);
  });

  it('answers AlreadyExists for a process as process_exists, and any other conflict as runtime_error', () => {
    assert.equal(translateKubeError(exception(409, status(409, 'AlreadyExists', 'exists')), ctx).code, 'process_exists');
    const { processName: _, ...aboutNoProcess } = ctx;
    assert.equal(translateKubeError(exception(409, status(409, 'AlreadyExists', 'exists')), aboutNoProcess).code, 'runtime_error');
  });

  it("maps a 422's causes to the spec fields they came from", () => {
    const invalid = status(422, 'Invalid', 'Deployment.apps "web" is invalid', {
      kind: 'Deployment',
      causes: [
        { reason: 'FieldValueInvalid', message: 'Invalid value: "Web"', field: 'metadata.name' },
        { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.template.spec.containers[0].image' },
      ],
    });
    const err = translateKubeError(exception(422, invalid), ctx);
    assert.equal(err.code, 'invalid_spec');
    assert.deepEqual(err.fields, [
      { path: 'process_name', message: 'Invalid value: "Web"' },
      { path: 'container.image_uri', message: 'Required value' },
    ]);
  });

  it('tells a timeout (with the limit), an unreachable server (with a TLS hint when it is TLS) and a client-side failure apart', () => {
    const timeout = translateKubeError(Object.assign(new Error('t'), { name: 'TimeoutError' }), ctx);
    assert.equal(timeout.code, 'runtime_timeout');
    assert.match(timeout.message, /did not answer within 30 s/);
    const tls = translateKubeError(
      new TypeError('fetch failed', { cause: { code: 'SELF_SIGNED_CERT_IN_CHAIN', message: 'self-signed' } }),
      ctx,
    );
    assert.equal(tls.code, 'runtime_unavailable');
    assert.match(tls.message, /TLS certificate is not trusted/);
    const refused = translateKubeError(new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED', message: 'refused' } }), ctx);
    assert.match(refused.message, /check that the cluster is running/);
    assert.equal(translateKubeError(new Error('exec plugin failed'), ctx).code, 'runtime_error');
  });

  it('lets a HydroplaneError through unchanged', () => {
    const ours = new HydroplaneError('process_not_found', 'no process');
    assert.equal(translateKubeError(ours, ctx), ours);
  });
});

describe('specPath', () => {
  it('names the spec field that a field of our manifests came from', () => {
    const cases: Array<[string | undefined, string | undefined, string]> = [
      ['Deployment', 'metadata.name', 'process_name'],
      ['Deployment', 'metadata.labels', 'group'],
      ['Service', 'spec.ports[1].port', 'container.ports[1]'],
      ['Deployment', 'spec.template.spec.containers[0].image', 'container.image_uri'],
      ['Deployment', 'spec.template.spec.containers[0].args[2]', 'container.command[2]'],
      ['Deployment', 'spec.template.spec.containers[0].env[3].name', 'container.env[3].name'],
      ['Deployment', 'spec.template.spec.containers[0].env[3].valueFrom', 'container.env[3].value'],
      ['Deployment', 'spec.template.spec.containers[0].resources.requests.cpu', 'container.resource_request'],
      ['Deployment', 'spec.template.spec.containers[0].resources.limits', 'container.resource_limit'],
      ['Deployment', 'spec.template.spec.containers[0].ports[0]', 'container.ports'],
      ['Deployment', 'spec.template.spec.nodeSelector', 'container.node_selector'],
      ['Deployment', 'spec.replicas', 'Deployment spec.replicas'],
      ['Secret', undefined, 'Secret'],
      [undefined, 'spec.x', 'object spec.x'],
    ];
    for (const [kind, field, path] of cases) assert.equal(specPath(kind, field), path, `${kind} ${field}`);
  });
});
