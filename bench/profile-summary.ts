// Summarises a V8 .cpuprofile (node --cpu-prof): where the time went, by package and by function.
//   node bench/profile-summary.ts FILE.cpuprofile [--top=25] [--until-ms=N]
// --until-ms keeps the first N ms of the profile only (a server's start-up, say).
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const file = process.argv[2];
if (!file) {
  console.error('usage: node bench/profile-summary.ts FILE.cpuprofile [--top=25] [--until-ms=N]');
  process.exit(2);
}
const top = Number(process.argv.find((a) => a.startsWith('--top='))?.slice(6) ?? 25);
const untilMs = Number(process.argv.find((a) => a.startsWith('--until-ms='))?.slice(11) ?? Number.POSITIVE_INFINITY);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

/** "fastify", "@fastify/swagger", "hydroplane src", "node:internal", "(program)"... */
function packageOf(frame: CallFrame): string {
  const url = frame.url;
  if (url === '') return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  if (url.startsWith('node:')) return 'node: built-ins';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  return url.includes('/dist/') || url.includes('/src/') ? 'hydroplane' : url;
}

const self = new Map<number, number>();
let elapsed = 0;
for (let i = 0; i < profile.samples.length; i++) {
  elapsed += profile.timeDeltas[i]! / 1000;
  if (elapsed > untilMs) break;
  const id = profile.samples[i]!;
  self.set(id, (self.get(id) ?? 0) + profile.timeDeltas[i]! / 1000);
}
const total = [...self.values()].reduce((a, b) => a + b, 0);

const packages = new Map<string, number>();
const functions = new Map<string, number>();
/** Inclusive time of each package: a sample counts once for every package on its stack. */
const inclusive = new Map<string, number>();
for (const [id, ms] of self) {
  const node = byId.get(id)!;
  const pkg = packageOf(node.callFrame);
  packages.set(pkg, (packages.get(pkg) ?? 0) + ms);
  const fn = `${node.callFrame.functionName || '(anonymous)'} ${node.callFrame.url.replace(/^.*\/node_modules\//, '')}:${node.callFrame.lineNumber + 1}`;
  functions.set(fn, (functions.get(fn) ?? 0) + ms);
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const p = packageOf(byId.get(cur)!.callFrame);
    if (!seen.has(p)) {
      seen.add(p);
      inclusive.set(p, (inclusive.get(p) ?? 0) + ms);
    }
  }
}

const show = (title: string, map: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [k, v] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`${v.toFixed(1).padStart(9)} ms ${((v / total) * 100).toFixed(1).padStart(5)}%  ${k}`);
};
console.log(`${file}: ${total.toFixed(1)} ms sampled${Number.isFinite(untilMs) ? ` (first ${untilMs} ms)` : ''}`);
show('self time by package', packages);
show('inclusive time by package (on the stack)', inclusive);
show('self time by function', functions);
