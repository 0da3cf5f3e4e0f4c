// Google failures -> the catalogue (gke/errors.ts), without Google: gaxios errors of the REST
// transport (HTTP status and Google's JSON body), gRPC codes, OAuth2 errors, network failures.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { HydroplaneError } from '../../../../src/errors.ts';
import { googleError, type GoogleCall } from '../../../../src/runtimes/kubernetes/gke/errors.ts';

const config = { cluster_id: 'c1', project: 'demo-project', region: 'us-central1' };
const gkeApi: GoogleCall = { service: 'the GKE API (https://container.googleapis.com)', action: "reading the cluster 'c1'", config };
const tokens: GoogleCall = { service: "Google's OAuth2 token service", action: 'getting an access token', config };

const gaxios = (status: number, data: unknown) =>
  Object.assign(new Error(`Request failed with status code ${status}`), { response: { status, data } });
const googleBody = (code: number, status: string, message: string) => ({ error: { code, status, message } });

describe('googleError', () => {
  it("reads Google's JSON body, from the response or from the message, and says its message", () => {
    const body = googleBody(403, 'PERMISSION_DENIED', 'Required "container.clusters.get" permission');
    for (const err of [gaxios(403, body), gaxios(403, JSON.stringify(body)), new Error(JSON.stringify(body))]) {
      const mapped = googleError(err, gkeApi);
      assert.equal(mapped.code, 'runtime_forbidden');
      assert.match(
        mapped.message,
        /the GKE API \(https:\/\/container\.googleapis\.com\) refused reading the cluster 'c1' \(project demo-project, location us-central1, PERMISSION_DENIED\)/,
      );
      assert.match(mapped.message, /Required "container\.clusters\.get" permission/);
    }
  });

  it('a missing cluster is a config mistake on the GKE API only', () => {
    const notFound = gaxios(404, googleBody(404, 'NOT_FOUND', 'Not found: c1'));
    assert.equal(googleError(notFound, gkeApi).code, 'invalid_config');
    assert.match(googleError(notFound, gkeApi).message, /no GKE cluster 'c1' in project demo-project, location us-central1/);
    assert.equal(googleError(Object.assign(new Error('x'), { code: 5 }), gkeApi).code, 'invalid_config', 'gRPC NOT_FOUND');
    assert.equal(googleError(notFound, tokens).code, 'runtime_error');
  });

  it("an OAuth2 refusal (400 with an error string) is forbidden, with the token service's description", () => {
    const err = googleError(gaxios(400, { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' }), tokens);
    assert.equal(err.code, 'runtime_forbidden');
    assert.match(err.message, /Invalid JWT Signature\./);
  });

  it('every HTTP status: forbidden for 401/403, unavailable for 5xx, else runtime_error (outside a 404 of the GKE API)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 400, max: 599 }), (status) => {
        fc.pre(status !== 404);
        const err = googleError(gaxios(status, googleBody(status, 'SOMETHING', 'it failed')), gkeApi);
        const want = status === 401 || status === 403 ? 'runtime_forbidden' : status >= 500 ? 'runtime_unavailable' : 'runtime_error';
        assert.equal(err.code, want);
        assert.match(err.message, /it failed/);
      }),
    );
  });

  it('no answer: unavailable, naming the network code, for the shared network table and gRPC UNAVAILABLE / DEADLINE_EXCEEDED', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    assert.equal(googleError(refused, gkeApi).code, 'runtime_unavailable');
    assert.match(googleError(refused, gkeApi).message, /cannot reach the GKE API .*: ECONNREFUSED: connect ECONNREFUSED/);
    for (const code of [14, 4]) assert.equal(googleError(Object.assign(new Error('x'), { code }), gkeApi).code, 'runtime_unavailable');
    assert.equal(googleError(Object.assign(new Error('x'), { code: 7 }), gkeApi).code, 'runtime_forbidden', 'gRPC PERMISSION_DENIED');
  });

  it('lets a HydroplaneError through', () => {
    const ours = new HydroplaneError('invalid_config', 'x');
    assert.equal(googleError(ours, gkeApi), ours);
  });
});
