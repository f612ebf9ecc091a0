/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): the functions with the most self time, self time by
 * area (a Gatehouse source file, an npm package, a Node internal module, GC), and the inclusive time of
 * Gatehouse's own functions (what each unit costs including what it calls). Percentages are of busy time
 * (idle excluded); given the number of requests the process served, times are also shown per request.
 * The profiler samples the main thread's stack in wall time: a native call during which the thread was
 * preempted (e.g. by the libuv thread it just woke, on a single pinned core) is charged that time too.
 *
 *   node bench/profile-summary.ts FILE.cpuprofile [--top N] [--requests N]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface CallFrame { functionName: string; url: string; lineNumber: number; columnNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
export interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

function shortUrl(url: string): string {
  const nm = url.lastIndexOf('/node_modules/');
  if (nm !== -1) return url.slice(nm + '/node_modules/'.length);
  const src = url.lastIndexOf('/src/');
  if (src !== -1) return url.slice(src + 1);
  const bench = url.lastIndexOf('/bench/');
  if (bench !== -1) return url.slice(bench + 1);
  return url;
}

function areaOf(frame: CallFrame): string {
  const url = frame.url;
  if (!url) return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  const short = shortUrl(url);
  if (url.includes('/node_modules/')) {
    const parts = short.split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  if (short.startsWith('src/') || short.startsWith('bench/')) return short;
  if (url.startsWith('node:internal/')) return `node:${url.slice('node:internal/'.length).split('/')[0]}`;
  return url;
}

function keyOf(frame: CallFrame): string {
  const name = frame.functionName || '(anonymous)';
  return frame.url ? `${name}  ${shortUrl(frame.url)}:${frame.lineNumber + 1}` : name;
}

const ms = (us: number) => (us / 1000).toFixed(1).padStart(9);
const pct = (part: number, whole: number) => `${((100 * part) / whole).toFixed(1).padStart(5)}%`;
const perRequest = (us: number, requests: number | undefined) => (requests ? `${(us / requests).toFixed(2).padStart(7)}  ` : '');

function top(map: Map<string, number>, n: number): Array<[string, number]> {
  return [...map].sort((a, b) => b[1] - a[1]).slice(0, n);
}

export function summarizeProfile(profile: CpuProfile, n = 25, requests?: number): string {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  // Sample i lasts until sample i+1 (DevTools' convention).
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
  }
  let total = 0;
  let idle = 0;
  const selfByKey = new Map<string, number>();
  const selfByArea = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    total += us;
    if (frame.functionName === '(idle)') {
      idle += us;
      continue;
    }
    selfByKey.set(keyOf(frame), (selfByKey.get(keyOf(frame)) ?? 0) + us);
    selfByArea.set(areaOf(frame), (selfByArea.get(areaOf(frame)) ?? 0) + us);
  }
  const busy = total - idle;

  // Inclusive time of Gatehouse's functions, each counted once per stack (recursion is not double counted).
  const inclusive = new Map<string, number>();
  const root = profile.nodes[0];
  const totals = new Map<number, number>();
  // Post-order without recursion: children's totals first.
  const order: ProfileNode[] = [];
  const stack: ProfileNode[] = root ? [root] : [];
  while (stack.length) {
    const node = stack.pop()!;
    order.push(node);
    for (const c of node.children ?? []) stack.push(byId.get(c)!);
  }
  for (let i = order.length - 1; i >= 0; i--) {
    const node = order[i]!;
    let sum = selfUs.get(node.id) ?? 0;
    for (const c of node.children ?? []) sum += totals.get(c) ?? 0;
    totals.set(node.id, sum);
  }
  const walk: Array<{ node: ProfileNode; active: ReadonlySet<string> }> = root ? [{ node: root, active: new Set() }] : [];
  while (walk.length) {
    const { node, active } = walk.pop()!;
    const frame = node.callFrame;
    let next = active;
    if (shortUrl(frame.url).startsWith('src/')) {
      const key = keyOf(frame);
      if (!active.has(key)) {
        inclusive.set(key, (inclusive.get(key) ?? 0) + (totals.get(node.id) ?? 0));
        next = new Set(active).add(key);
      }
    }
    for (const c of node.children ?? []) walk.push({ node: byId.get(c)!, active: next });
  }

  const reqCol = requests ? `${'µs/req'.padStart(7)}  ` : '';
  const lines = [`CPU profile: ${(total / 1e6).toFixed(2)} s sampled, ${(busy / 1e6).toFixed(2)} s busy (idle excluded below)` +
    (requests ? `, ${requests} requests: ${(busy / requests).toFixed(1)} µs busy per request` : '')];
  lines.push(`\nTop ${n} functions by self time:\n${'self ms'.padStart(9)}  busy%  ${reqCol}function  location`);
  for (const [key, us] of top(selfByKey, n)) lines.push(`${ms(us)} ${pct(us, busy)}  ${perRequest(us, requests)}${key}`);
  lines.push(`\nSelf time by area:\n${'self ms'.padStart(9)}  busy%  ${reqCol}area`);
  for (const [area, us] of top(selfByArea, n)) lines.push(`${ms(us)} ${pct(us, busy)}  ${perRequest(us, requests)}${area}`);
  lines.push(`\nsrc/ (Gatehouse) functions by inclusive time (self + callees):\n${'incl ms'.padStart(9)}  busy%  ${reqCol}function  location`);
  for (const [key, us] of top(inclusive, n)) lines.push(`${ms(us)} ${pct(us, busy)}  ${perRequest(us, requests)}${key}`);
  return lines.join('\n');
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    options: { top: { type: 'string', default: '25' }, requests: { type: 'string' } }, allowPositionals: true, strict: true,
  });
  const file = positionals[0];
  if (!file) {
    console.error('usage: node bench/profile-summary.ts FILE.cpuprofile [--top N] [--requests N]');
    process.exit(2);
  }
  const requests = values.requests === undefined ? undefined : Number(values.requests);
  console.log(summarizeProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, Number(values.top) || 25, requests));
}
