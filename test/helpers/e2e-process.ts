/**
 * Tools for end-to-end tests: run the CLI to completion, save a config the way editors do, make one-off
 * HTTP requests on fresh connections, and wait for a child process to exit. Every wait is bounded in time;
 * every loop in count.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { renameSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { basename, dirname, join } from 'node:path';
import { mainScript } from './start-gateway.ts';

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `gatehouse ARGS` to completion (killed by PID after `timeoutMs`); `env` adds to this process's environment. */
export async function runCli(args: string[], timeoutMs = 15_000, env?: Record<string, string>): Promise<CliResult> {
  const proc = spawn(process.execPath, [mainScript, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env: { ...process.env, ...env } } : {}) });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (c: Buffer) => { stdout += c.toString('utf8'); });
  proc.stderr.on('data', (c: Buffer) => { stderr += c.toString('utf8'); });
  const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  const [code, signal] = await once(proc, 'close') as [number | null, NodeJS.Signals | null];
  clearTimeout(timer);
  return { code, signal, stdout, stderr };
}

let saves = 0;

/** Saves `text` to `file` as editors do: a temp file in the same directory, renamed over the original. */
export function saveAtomically(file: string, text: string): void {
  const temp = join(dirname(file), `.${basename(file)}.${process.pid}.${++saves}.tmp`);
  writeFileSync(temp, text);
  renameSync(temp, file);
}

/** Resolves with the exit code once `proc` exits; rejects after `timeoutMs` (the process is left running). */
export async function exitOf(proc: ChildProcess, timeoutMs: number): Promise<number | null> {
  if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`process ${proc.pid} did not exit within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const [code] = await Promise.race([once(proc, 'exit'), timeout]) as [number | null];
    return code;
  } finally {
    clearTimeout(timer);
  }
}

/** Kills a child this test started, by PID, if it is still running (for after() hooks). */
export function killIfRunning(proc: ChildProcess | undefined): void {
  if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
}

/** True while a process with this PID exists (and may be signalled by us). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

export interface RequestOptions {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
  readonly timeoutMs?: number;
  /** A keep-alive agent to reuse connections; by default each request has a fresh connection. */
  readonly agent?: http.Agent | false;
  /** For an https `base`: the CA (PEM) that verifies the server's certificate. */
  readonly ca?: string;
}

/**
 * One request for `path` (sent as given: never normalised the way a URL would be) to the server at `base`
 * (http or https), on a fresh connection unless an `agent` is given, failing after `timeoutMs` (5 s by default).
 */
export function request(base: string, path: string, options: RequestOptions = {}): Promise<Answer> {
  const { method = 'GET', headers = {}, body, timeoutMs = 5000, agent = false, ca } = options;
  const { protocol, hostname, port } = new URL(base);
  const client = protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request({ host: hostname, port, path, method, headers, agent, ca, signal: AbortSignal.timeout(timeoutMs) }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** One GET for `url` (see `request`). */
export function get(url: string, headers: Record<string, string> = {}, timeoutMs = 5000, agent: http.Agent | false = false): Promise<Answer> {
  const { origin, pathname, search } = new URL(url);
  return request(origin, pathname + search, { headers, timeoutMs, agent });
}

/**
 * Calls `attempt` every `intervalMs` until it returns something other than undefined; rejects after
 * `timeoutMs` naming `what` and the last error thrown by `attempt`, if any.
 */
export async function poll<T>(attempt: () => Promise<T | undefined>, what: string, timeoutMs = 10_000, intervalMs = 20): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  for (let i = 0; i < 100_000; i++) {
    try {
      const result = await attempt();
      if (result !== undefined) return result;
    } catch (error) {
      lastError = error;
    }
    if (performance.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
}

/** Parses JSON lines, skipping any that are not JSON objects. */
export function jsonLines(lines: readonly string[]): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const line of lines) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch { /* a partial or foreign line */ }
  }
  return out;
}
