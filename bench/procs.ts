/**
 * Child processes for the benchmark: started pinned to a CPU core (taskset) when the machine allows it,
 * tracked by PID, and always stopped by PID — on normal exit, on a failure and on Ctrl-C. Also reads a
 * process's CPU time (utime + stime, all threads) from /proc/<pid>/stat.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

export interface Pinning {
  /** taskset prefix for a core, or [] when pinning is unavailable. */
  prefix(core: number): string[];
  readonly enabled: boolean;
  readonly note: string;
}

/** Pins this process (all threads) to `selfCore` and returns how children get pinned; degrades to none. */
export function setUpPinning(selfCore: number): Pinning {
  const none = (note: string): Pinning => ({ prefix: () => [], enabled: false, note });
  if (process.platform !== 'linux') return none('not Linux: no CPU pinning');
  if (availableParallelism() < 2) return none(`only ${availableParallelism()} CPU available: no CPU pinning`);
  const probe = spawnSync('taskset', ['-V'], { stdio: 'ignore' });
  if (probe.error || probe.status !== 0) return none('taskset not found (apt-get install util-linux): no CPU pinning');
  const self = spawnSync('taskset', ['-a', '-cp', String(selfCore), String(process.pid)], { stdio: 'ignore' });
  if (self.status !== 0) return none('taskset could not pin this process: no CPU pinning');
  return { prefix: (core) => ['taskset', '-c', String(core)], enabled: true, note: 'pinned with taskset' };
}

export function clockTicksPerSecond(): number {
  const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(out.stdout?.trim());
  return Number.isInteger(n) && n > 0 ? n : 100;
}

/** utime + stime of a whole process in clock ticks, or undefined where /proc is not available. */
export function cpuTicks(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may contain spaces and parentheses: count fields from the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** Busy and total clock ticks of one CPU core so far (from /proc/stat), or undefined without /proc. */
export function coreTicks(core: number): { busy: number; total: number } | undefined {
  let stat: string;
  try {
    stat = readFileSync('/proc/stat', 'utf8');
  } catch {
    return undefined;
  }
  const line = stat.split('\n').find((l) => l.startsWith(`cpu${core} `));
  if (!line) return undefined;
  // user nice system idle iowait irq softirq steal ...
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).slice(1).map(Number);
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}

export interface Child {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly pid: number;
  /** The last lines the process wrote (stdout and stderr), for error reports. */
  readonly lines: string[];
  readonly exited: Promise<number | null>;
  running(): boolean;
}

const KEEP_LINES = 200;
const children = new Set<Child>();
const expectedExits = new WeakSet<Child>();
let onUnexpectedExit: ((child: Child, code: number | null) => void) | undefined;
let stopping = false;

/** Called when a child exits while the benchmark still needs it. */
export function whenChildDies(handler: (child: Child, code: number | null) => void): void {
  onUnexpectedExit = handler;
}

/**
 * Starts `command` (with an optional taskset prefix) and resolves once a line of its output satisfies
 * `ready`, with that line; rejects if it exits or stays silent past `timeoutMs`.
 */
export async function startChild(
  name: string, prefix: string[], command: string[], ready: (line: string) => boolean, timeoutMs = 20_000,
): Promise<{ child: Child; line: string }> {
  const argv = [...prefix, ...command];
  const proc = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  if (proc.pid === undefined) throw new Error(`${name}: could not start ${argv[0]}`);
  const lines: string[] = [];
  let alive = true;
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code, signal) => {
    alive = false;
    children.delete(child);
    if (!stopping && !expectedExits.has(child)) onUnexpectedExit?.(child, code ?? (signal ? -1 : null));
    resolve(code);
  }));
  const child: Child = { name, proc, pid: proc.pid, lines, exited, running: () => alive };
  children.add(child);

  return new Promise((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => finish(new Error(`${name} did not become ready in ${timeoutMs} ms:\n${lines.join('\n')}`)), timeoutMs);
    const finish = (err: Error | undefined, line?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve({ child, line: line! });
    };
    const collect = () => {
      let buf = '';
      return (chunk: Buffer) => {
        buf += chunk.toString('utf8');
        let nl;
        while ((nl = buf.indexOf('\n')) !== -1) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          lines.push(line);
          if (lines.length > KEEP_LINES) lines.shift();
          if (!done && ready(line)) finish(undefined, line);
        }
      };
    };
    proc.stdout!.on('data', collect());
    proc.stderr!.on('data', collect());
    proc.once('error', (err) => finish(new Error(`${name}: ${err.message}`)));
    void exited.then((code) => finish(new Error(`${name} exited (${code}) before it was ready:\n${lines.join('\n')}`)));
  });
}

/** Stops one child by PID: SIGTERM, then SIGKILL after `graceMs`. Resolves with its exit code. */
export async function stopChild(child: Child, graceMs = 5000): Promise<number | null> {
  if (!child.running()) return child.exited;
  expectedExits.add(child);
  signal(child, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const killed = new Promise<null>((resolve) => {
    timer = setTimeout(() => {
      if (child.running()) signal(child, 'SIGKILL');
      resolve(null);
    }, graceMs);
  });
  const code = await Promise.race([child.exited, killed]);
  clearTimeout(timer);
  return code;
}

/** Stops every child still running (by PID). */
export async function stopAll(): Promise<void> {
  stopping = true;
  await Promise.all([...children].map((c) => stopChild(c)));
}

/** Last resort, synchronous (process 'exit'): SIGKILL whatever is still running. */
export function killAllNow(): void {
  stopping = true;
  for (const c of children) if (c.running()) signal(c, 'SIGKILL');
  children.clear();
}

function signal(child: Child, name: NodeJS.Signals): void {
  try {
    process.kill(child.pid, name);
  } catch {
    // Already gone between the check and the signal.
  }
}
