// The fake that the route tests use must behave as the real runtimes do.
import { runtimeContract } from '../support/runtime-contract.ts';
import { FakeRuntime } from '../support/fake-runtime.ts';

runtimeContract('fake', async () => ({
  runtime: new FakeRuntime(),
  cleanup: async () => {},
  imageUri: 'hydroplane-test/busybox:latest',
  port: 18080,
}));
