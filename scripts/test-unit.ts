// npm run test:unit: every test file that needs nothing (no Engine, browser or cluster), in three
// shards run side by side, each shard's files in one process (--test-isolation=none). One process
// per file, Node's default, spends about half the CPU on starting Node and stripping the same
// TypeScript sources again for each of some 130 files; one process for all runs the files that
// wait (timeouts, child processes) one after another. Three shards of one process each do neither:
// on a 2-core machine about 35 s instead of 50 to 60. Each shard's report is printed whole when it
// ends; the exit code is 1 when any shard failed.
import { spawn } from 'node:child_process';

const FILES = 'test/**/!(*.docker|*.browser|*.cluster).test.ts';
const SHARDS = 3;

interface ShardResult {
  shard: number;
  code: number | null;
  output: string;
  seconds: number;
}

function runShard(shard: number): Promise<ShardResult> {
  const started = Date.now();
  const child = spawn(process.execPath, ['--test', '--test-isolation=none', `--test-shard=${shard}/${SHARDS}`, FILES], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise((resolve) => {
    child.on('close', (code) => resolve({ shard, code, output, seconds: (Date.now() - started) / 1000 }));
  });
}

const results = await Promise.all(Array.from({ length: SHARDS }, (_, i) => runShard(i + 1)));
for (const r of results) {
  process.stdout.write(`\n== test:unit shard ${r.shard}/${SHARDS} (${r.seconds.toFixed(1)} s, exit ${r.code})\n${r.output}`);
}
const failed = results.filter((r) => r.code !== 0).map((r) => r.shard);
process.stdout.write(
  failed.length === 0 ? `\n== test:unit: ${SHARDS} shards passed\n` : `\n== test:unit: shard ${failed.join(', ')} of ${SHARDS} failed\n`,
);
process.exitCode = failed.length === 0 ? 0 : 1;
