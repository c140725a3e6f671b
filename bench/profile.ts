// `node dist/bench/profile.js FILE.cpuprofile [N]`: the top N functions of a V8 CPU
// profile (from `npm run bench -- --cpu-prof DIR`) by self time, and the same
// grouped by package or source folder, to see where the daemon's thread goes.
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

const [file, top = '25'] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node dist/bench/profile.js FILE.cpuprofile [N]\n');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] };
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);

const byFn = new Map<string, number>();
const byArea = new Map<string, number>();
for (const n of profile.nodes) {
  const us = selfUs.get(n.id) ?? 0;
  if (!us) continue;
  const { functionName, url, lineNumber } = n.callFrame;
  const where = url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, 'npm:').replace(/^.*\/dist\//, '');
  const key = `${functionName || '(anonymous)'}  ${where}${url ? `:${lineNumber + 1}` : ''}`;
  byFn.set(key, (byFn.get(key) ?? 0) + us);
  const area = !url ? `(${functionName})` : where.startsWith('npm:') ? where.split('/').slice(0, where.startsWith('npm:@') ? 2 : 1).join('/') : where.startsWith('node:') ? 'node internals' : where.split('/').slice(0, -1).join('/') || where;
  byArea.set(area, (byArea.get(area) ?? 0) + us);
}
const show = (title: string, m: Map<string, number>, n: number) => {
  process.stdout.write(`${title}\n`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n)) {
    process.stdout.write(`  ${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}\n`);
  }
};
process.stdout.write(`${file}: ${(total / 1e6).toFixed(2)} s sampled\n`);
show('by area (self time):', byArea, 15);
show(`top ${top} functions (self time):`, byFn, Number(top));
