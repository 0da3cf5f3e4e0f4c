// The shared runtime contract, against the real Docker Engine.
import { DockerTestRun, TEST_IMAGE, dockerSkip, engineInfo, freePort } from '../../support/docker.ts';
import { runtimeContract } from '../../support/runtime-contract.ts';

const run = new DockerTestRun();

runtimeContract(
  'docker',
  async () => ({
    runtime: run.runtime(),
    cleanup: () => run.cleanup(),
    imageUri: TEST_IMAGE,
    port: await freePort(),
    stopToldAs: (await engineInfo()).kind === 'podman' ? 'exited' : 'stopped',
  }),
  { skip: await dockerSkip(), prefix: run.prefix },
);
