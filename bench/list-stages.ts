// The CPU of each stage of a Docker list in the server, on a captured Engine answer (the body of
// a GET /containers/json, as `curl --unix-socket /var/run/docker.sock` saves it), cut in 64 KB
// chunks as the socket gives them:
//   node bench/list-stages.ts FILE.json [reps]
import { readFileSync } from 'node:fs';
import type Dockerode from 'dockerode';
import { createSerializerCompiler } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { JsonArraySplitter } from '../src/runtimes/docker/json-array-stream.ts';
import { factsFromListEntry, processInfo } from '../src/runtimes/docker/container-info.ts';
import { ProcessInfo } from '../src/spec/process-info.ts';

const file = process.argv[2]!;
const reps = Number(process.argv[3] ?? 200);
const body = readFileSync(file);
const chunks: Buffer[] = [];
for (let i = 0; i < body.length; i += 65536) chunks.push(body.subarray(i, i + 65536));
const keep = (e: unknown) => ({ id: (e as Dockerode.ContainerInfo).Id, facts: factsFromListEntry(e as Dockerode.ContainerInfo) });
const serializer = createSerializerCompiler({})({
  schema: z.array(ProcessInfo),
  method: 'GET',
  url: '/process',
  httpStatus: '200',
});

function time(label: string, work: () => unknown): void {
  for (let i = 0; i < 20; i++) work();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) work();
  const c = process.cpuUsage(c0);
  console.log(
    `${label.padEnd(50)} ${((performance.now() - t0) / reps).toFixed(2)} ms wall, ${((c.user + c.system) / 1000 / reps).toFixed(2)} ms CPU`,
  );
}
const split = () => {
  const s = new JsonArraySplitter(keep);
  for (const c of chunks) s.push(c);
  return s.end();
};
time('split + parse each (JsonArraySplitter)', split);
time('concat + toString + JSON.parse whole', () => JSON.parse(Buffer.concat(chunks).toString('utf8')));
time('  ... and keep', () => (JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown[]).map(keep));
const kept = split();
const infos = kept.map((k) => processInfo(k.facts, '127.0.0.1')).sort((a, b) => a.process_name.localeCompare(b.process_name));
time('mapping (processInfo) + sort', () =>
  kept.map((k) => processInfo(k.facts, '127.0.0.1')).sort((a, b) => a.process_name.localeCompare(b.process_name)),
);
time('zod serializer (parse + stringify)', () => (serializer as (d: unknown) => string)(infos));
time('JSON.stringify alone', () => JSON.stringify(infos));
time('z.array(ProcessInfo).parse alone', () => z.array(ProcessInfo).parse(infos));
const out = JSON.stringify(infos);
console.log(`answer: ${out.length} bytes for ${infos.length} processes; Engine's: ${body.length}`);
time('client: JSON.parse of the answer', () => JSON.parse(out));
