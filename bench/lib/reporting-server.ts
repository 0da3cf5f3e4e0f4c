// A server that reports its own memory (memory-report.ts's hook loaded with --import), started for
// the probes that look into one: bench/list-probe.ts, bench/k8s-list-memory.ts and
// bench/semi-space-probe.ts. Apart from memory-report.ts because that file is loaded into the
// server under measurement, and what it imports would be counted there.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../test/support/net.ts';
import { MEMORY_REPORT_HOOK, memoryReport, type MemoryReport } from './memory-report.ts';

export interface ReportingServer {
  pid: number;
  url: string;
  /** From the spawn to the first 200 on /health. */
  readyMs: number;
  /** Its memory now; after a full GC with `gc` (the server needs --expose-gc for that). */
  memory(options?: { gc?: boolean }): Promise<MemoryReport>;
  stop(): Promise<void>;
}

export interface ReportingServerOptions {
  /** The server's dist/cli/hydroplane.js. */
  bin: string;
  /** The config's runtime section (the secret store is none). */
  runtime: Record<string, unknown>;
  /** A folder of the probe's own, for the config and the report. */
  dir: string;
  /** Node's options, before the hook. */
  nodeArgs?: string[];
  /** More environment (LOG_LEVEL is warn unless given). */
  env?: Record<string, string>;
}

export async function startReportingServer(options: ReportingServerOptions): Promise<ReportingServer> {
  const config = join(options.dir, 'config.yml');
  writeFileSync(config, JSON.stringify({ secret_store: { secret_store_type: 'none' }, runtime: options.runtime }));
  const reportFile = join(options.dir, 'memory.json');
  const port = await freePort();
  const started = performance.now();
  const server = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), '--import', MEMORY_REPORT_HOOK, options.bin, '-c', config, '-p', String(port)],
    { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, LOG_LEVEL: 'warn', ...options.env, MEMORY_REPORT_FILE: reportFile } },
  );
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  const stop = async () => {
    if (server.exitCode === null && server.signalCode === null) server.kill('SIGTERM');
    await exited;
  };
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    const up = await fetch(`${url}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    if (server.exitCode !== null || server.signalCode !== null)
      throw new Error(`the server exited (${server.exitCode ?? server.signalCode})`);
    await sleep(5);
  }
  return {
    pid: server.pid!,
    url,
    readyMs: performance.now() - started,
    memory: (memoryOptions = {}) => memoryReport(server.pid!, reportFile, memoryOptions),
    stop,
  };
}
