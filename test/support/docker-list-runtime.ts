// The in-memory runtime (fake-runtime.ts) listing as Docker's runtime does: without `started` and
// `finished`, which only GET /process/{name} has (see src/spec/process-info.ts). For what the
// dashboard does about the times a list leaves out: its browser test and bench/dashboard-fake.ts.
import type { ListFilter } from '../../src/runtimes/runtime.ts';
import type { ProcessInfo } from '../../src/spec/process-info.ts';
import { FakeRuntime } from './fake-runtime.ts';

export class DockerListRuntime extends FakeRuntime {
  override async list(filter?: ListFilter): Promise<ProcessInfo[]> {
    return (await super.list(filter)).map(({ started: _started, finished: _finished, ...rest }) => rest);
  }
}
