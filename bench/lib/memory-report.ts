// Loaded into a server with --import (bench/k8s-list-memory.ts): on SIGUSR2 it writes its memory as
// the server itself sees it (VmRSS, process.memoryUsage(), V8's heap spaces) to $MEMORY_REPORT_FILE,
// after a full GC when $MEMORY_REPORT_FILE.gc exists (the server runs with --expose-gc).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import v8 from 'node:v8';

const file = process.env.MEMORY_REPORT_FILE;
if (file !== undefined) {
  process.on('SIGUSR2', () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (existsSync(`${file}.gc`) && gc) gc();
    const rssKb = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0);
    const spaces = Object.fromEntries(
      v8.getHeapSpaceStatistics().map((s) => [s.space_name, { size: s.space_size, used: s.space_used_size }]),
    );
    writeFileSync(file, JSON.stringify({ rss: rssKb * 1024, memory: process.memoryUsage(), spaces }));
  });
}
