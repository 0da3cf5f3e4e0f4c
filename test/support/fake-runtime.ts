// An in-memory runtime with the same semantics as the real ones (the shared runtime contract
// suite holds it to them), for route tests that need no engine.
import { HydroplaneError } from '../../src/errors.ts';
import type { ListFilter, Runtime } from '../../src/runtimes/runtime.ts';
import type { ProcessInfo } from '../../src/spec/process-info.ts';
import type { ProcessSpec } from '../../src/spec/process-spec.ts';

export class FakeRuntime implements Runtime {
  readonly type = 'fake';
  readonly processes = new Map<string, ProcessInfo>();
  readonly specs = new Map<string, ProcessSpec>();
  /** When set, every call fails with it (e.g. to play an unreachable daemon). */
  failWith: HydroplaneError | undefined;
  now: () => Date = () => new Date();

  async start(spec: ProcessSpec): Promise<ProcessInfo> {
    this.check();
    const existing = this.processes.get(spec.process_name);
    if (existing && existing.status !== 'EXITED') {
      throw new HydroplaneError('process_exists', `a process named '${spec.process_name}' already exists`);
    }
    const info: ProcessInfo = {
      process_name: spec.process_name,
      group: spec.group ?? null,
      socket_addresses: spec.container.ports.map((p) => ({
        host: spec.has_public_ip ? '192.0.2.10' : '127.0.0.1',
        port: p.host_port ?? p.container_port,
        is_public: spec.has_public_ip,
      })),
      created: this.now().toISOString(),
      status: 'RUNNING',
    };
    this.processes.set(spec.process_name, info);
    this.specs.set(spec.process_name, spec);
    return info;
  }

  async get(name: string): Promise<ProcessInfo | undefined> {
    this.check();
    return this.processes.get(name);
  }

  async list(filter: ListFilter = {}): Promise<ProcessInfo[]> {
    this.check();
    return [...this.processes.values()].filter((p) => filter.group === undefined || p.group === filter.group);
  }

  async stop(name: string): Promise<void> {
    this.check();
    if (!this.processes.delete(name)) throw new HydroplaneError('process_not_found', `no process named '${name}'`);
    this.specs.delete(name);
  }

  async stopGroup(group: string): Promise<string[]> {
    const members = await this.list({ group });
    for (const p of members) await this.stop(p.process_name);
    return members.map((p) => p.process_name);
  }

  async close(): Promise<void> {}

  private check(): void {
    if (this.failWith) throw this.failWith;
  }
}
