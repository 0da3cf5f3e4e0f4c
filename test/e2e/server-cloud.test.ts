// The `hydroplane` command with the EKS and GKE runtimes: their clients stay in node_modules,
// outside the bundle (build/bundle.config.ts), and the built command must still load them. With
// endpoints that refuse connections, it stops with those runtimes' own errors, not a module error.
// (The runtimes themselves are tested against the AWS and GCP stand-ins in test/runtimes/kubernetes/eks and gke.)
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LocalSecretStore } from '../../src/secrets/local-secret-store.ts';
import { freePort } from '../support/net.ts';
import { runServerToExit, writeConfig } from '../support/server-process.ts';

describe('hydroplane server on the cloud runtimes, as built', () => {
  it('loads the EKS runtime and its AWS clients: an unreachable EKS API stops it with the runtime error', async () => {
    const storeDir = join(await mkdtemp(join(tmpdir(), 'hp-cloud-')), 'store');
    const store = await LocalSecretStore.init(storeDir, 'pw');
    await store.add('aws-id', 'AKIDEXAMPLE');
    await store.add('aws-secret', 'not-a-real-secret');
    const closed = `http://127.0.0.1:${await freePort()}`;
    const config = await writeConfig(
      `secret_store:\n  secret_store_type: local\n  store_location: ${storeDir}\n` +
        `runtime:\n  runtime_type: eks\n  cluster_name: demo\n  region: us-west-2\n  eks_endpoint: ${closed}\n  sts_endpoint: ${closed}\n` +
        '  credentials:\n    access_key:\n      access_key_id: {secret_name: aws-id}\n      secret_access_key: {secret_name: aws-secret}\n',
    );
    const { code, output } = await runServerToExit(['-c', config, '-p', '0'], { HYDROPLANE_SECRET_STORE_PASSWORD: 'pw' });
    assert.equal(code, 1, output);
    assert.ok(output.includes(`cannot reach AWS EKS in us-west-2 (${closed})`), output);
    assert.doesNotMatch(output, /ERR_MODULE_NOT_FOUND|Cannot find/);
  });

  it('loads the GKE runtime and its Google clients: without credentials it stops saying how to give them', async () => {
    const config = await writeConfig(
      `runtime:\n  runtime_type: gke\n  project: p\n  region: us-central1\n  cluster_id: demo\n  gke_endpoint: http://127.0.0.1:${await freePort()}\n`,
    );
    const { code, output } = await runServerToExit(['-c', config, '-p', '0'], {
      GOOGLE_APPLICATION_CREDENTIALS: undefined,
      // No metadata server either: the credential lookup fails at once instead of timing out.
      GCE_METADATA_HOST: `127.0.0.1:${await freePort()}`,
      HOME: await mkdtemp(join(tmpdir(), 'hp-cloud-home-')),
    });
    assert.equal(code, 1, output);
    assert.match(output, /the gke runtime found no usable Google Application Default Credentials/);
    assert.doesNotMatch(output, /ERR_MODULE_NOT_FOUND|Cannot find/);
  });
});
