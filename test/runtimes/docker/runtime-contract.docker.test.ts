// The shared runtime contract, against the real Docker Engine.
import { DockerTestRun, TEST_IMAGE, dockerSkip, freePort } from '../../support/docker.ts';
import { runtimeContract } from '../../support/runtime-contract.ts';

const run = new DockerTestRun();

runtimeContract(
  'docker',
  async () => ({
    runtime: run.runtime(),
    cleanup: () => run.cleanup(),
    imageUri: TEST_IMAGE,
    port: await freePort(),
  }),
  { skip: await dockerSkip(), prefix: run.prefix },
);
