/**
 * Summarizes V8 CPU profiles (`node --cpu-prof`): the functions with the most self time, the same
 * grouped by file, and the functions of the gateway and its libraries with the most total time
 * (self plus callees: where a request's time goes).
 * Usage: node --import tsx bench/profile-summary.ts <file.cpuprofile|dir> [top]
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { ROOT } from './gateway-process.js';

interface ProfileNode {
  id: number;
  children?: number[];
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time in ms per node id: each sample's delta is charged to the node it hit. */
function selfTimes(profile: Profile): Map<number, number> {
  const times = new Map<number, number>();
  profile.samples.forEach((id, i) =>
    times.set(id, (times.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000),
  );
  return times;
}

/** Total time per function key: each sample's delta counts once for every function on its stack. */
function totalTimes(profile: Profile, key: (node: ProfileNode) => string | undefined): Map<string, number> {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const totals = new Map<string, number>();
  for (const [id, ms] of selfTimes(profile)) {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = key(byId.get(cur)!);
      if (k === undefined || seen.has(k)) continue;
      seen.add(k);
      totals.set(k, (totals.get(k) ?? 0) + ms);
    }
  }
  return totals;
}

/** Frames worth a total-time line: the gateway's own code and the libraries a request passes. */
const INTERESTING = /dist\/server\/|@modelcontextprotocol|fastify|@hono|zod|undici/;

function where(url: string): string {
  const path = url.replace(/^file:\/\//, '');
  return path.startsWith(ROOT) ? relative(ROOT, path) : path || '(native)';
}

function top(entries: Map<string, number>, n: number, total: number): string[] {
  return [...entries]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(
      ([name, ms]) =>
        `${ms.toFixed(0).padStart(7)} ms ${((ms / total) * 100).toFixed(1).padStart(5)}%  ${name}`,
    );
}

export async function summarizeProfile(file: string, n = 25): Promise<string> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  let total = 0;
  for (const [id, ms] of selfTimes(profile)) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const file = where(url);
    const fn = `${functionName || '(anonymous)'}  ${file}${url ? `:${lineNumber + 1}` : ''}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + ms);
    byFile.set(file, (byFile.get(file) ?? 0) + ms);
    total += ms;
  }
  const busy = total - (byFunction.get('(idle)  (native)') ?? 0);
  const inclusive = totalTimes(profile, ({ callFrame: { functionName, url, lineNumber } }) =>
    INTERESTING.test(url) ? `${functionName || '(anonymous)'}  ${where(url)}:${lineNumber + 1}` : undefined,
  );
  return [
    `${file}: ${total.toFixed(0)} ms sampled, ${busy.toFixed(0)} ms not idle`,
    `top ${n} functions by self time:`,
    ...top(byFunction, n, total),
    `top ${Math.min(n, 15)} files by self time:`,
    ...top(byFile, Math.min(n, 15), total),
    `top ${n} gateway and library functions by total time (self + callees):`,
    ...top(inclusive, n, total),
  ].join('\n');
}

const [target, count] = process.argv.slice(2);
if (target) {
  const files = (await stat(target)).isDirectory()
    ? (await readdir(target)).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(target, f))
    : [target];
  for (const file of files) console.log(`${await summarizeProfile(file, Number(count ?? 25))}\n`);
}
