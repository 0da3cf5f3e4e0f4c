// A server's memory as it sees it itself, for the probes that look into a server
// (bench/k8s-list-memory.ts, bench/list-probe.ts, bench/semi-space-probe.ts, which start it with
// reporting-server.ts). This file is loaded into the server with --import (MEMORY_REPORT_HOOK): on
// SIGUSR2 it writes VmRSS, process.memoryUsage() and V8's heap spaces to $MEMORY_REPORT_FILE, after
// a full GC when $MEMORY_REPORT_FILE.gc exists (the server runs with --expose-gc). memoryReport()
// asks for one from the bench's side.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import v8 from 'node:v8';

export interface MemoryReport {
  rss: number;
  memory: NodeJS.MemoryUsage;
  /** Each of V8's spaces: its size, what of it is used, and what of it is resident. */
  spaces: Record<string, { size: number; used: number; resident: number }>;
}

/** The path to give the server's --import. */
export const MEMORY_REPORT_HOOK = import.meta.filename;

/** Asks the server `pid` (started with MEMORY_REPORT_FILE=file and --import MEMORY_REPORT_HOOK) for its memory. */
export async function memoryReport(pid: number, file: string, options: { gc?: boolean } = {}): Promise<MemoryReport> {
  await writeFile(file, '');
  if (options.gc) await writeFile(`${file}.gc`, '');
  else await rm(`${file}.gc`, { force: true });
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 200; i++) {
    await sleep(10);
    const text = await readFile(file, 'utf8');
    if (text !== '') return JSON.parse(text) as MemoryReport;
  }
  throw new Error(`the server ${pid} did not write its memory to ${file}`);
}

const file = process.env['MEMORY_REPORT_FILE'];
if (file !== undefined) {
  process.on('SIGUSR2', () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (existsSync(`${file}.gc`) && gc) gc();
    const rssKb = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0);
    const spaces = Object.fromEntries(
      v8
        .getHeapSpaceStatistics()
        .map((s) => [s.space_name, { size: s.space_size, used: s.space_used_size, resident: s.physical_space_size }]),
    );
    const report: MemoryReport = { rss: rssKb * 1024, memory: process.memoryUsage(), spaces };
    writeFileSync(file, JSON.stringify(report));
  });
}
