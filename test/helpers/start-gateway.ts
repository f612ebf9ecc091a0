/**
 * Gateways for tests. `startGateway` runs one in this process (fast; for data-plane tests); `spawnGateway`
 * runs the real CLI as a child process (for reload, signals, workers and the CLI itself). Both listen on
 * 127.0.0.1 port 0 and write the access log to a temp file that tests can read.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configSchema, type Config, type ConfigInput } from '../../src/config/schema.ts';
import { startInstance, type Instance } from '../../src/process/instance.ts';
import { until } from './fake-upstream.ts';

export const mainScript = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
/** The installed command, run as a user runs it: through its shebang, with this Node first on PATH. */
export const binScript = fileURLToPath(new URL('../../bin/gatehouse.js', import.meta.url));

export function tempDir(prefix = 'gatehouse-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Validates a test config with listen/admin forced to loopback port 0 and the access log in a temp file. */
export function testConfig(input: Omit<ConfigInput, 'listen'> & Partial<Pick<ConfigInput, 'listen'>>, accessLogPath?: string): Config {
  const log = accessLogPath ?? join(tempDir(), 'access.log');
  return configSchema.parse({
    ...input,
    listen: { ...input.listen, host: '127.0.0.1', port: 0 },
    admin: { enabled: false },
    log: { level: 'warn', access: { enabled: true, path: log }, ...input.log },
  });
}

export interface TestGateway {
  readonly url: string;
  readonly instance: Instance;
  /** The access log lines written so far, parsed (flushes first). */
  accessLog(): Array<Record<string, unknown>>;
  close(): Promise<void>;
}

export async function startGateway(input: Parameters<typeof testConfig>[0]): Promise<TestGateway> {
  const accessLogPath = join(tempDir(), 'access.log');
  const instance = await startInstance(testConfig(input, accessLogPath));
  return {
    url: `${instance.gateway.runtime.config.listen.tls ? 'https' : 'http'}://127.0.0.1:${instance.address.port}`,
    instance,
    accessLog() {
      instance.gateway.runtime.accessLog.flush();
      if (!existsSync(accessLogPath)) return [];
      return readFileSync(accessLogPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    async close() {
      await instance.shutdown();
    },
  };
}

/** The access log line for `requestId`, waiting (bounded) for it: lines are written when responses close. */
export async function logLine(gateway: TestGateway, requestId: string, timeoutMs = 2000): Promise<Record<string, unknown>> {
  let line: Record<string, unknown> | undefined;
  await until(() => (line = gateway.accessLog().find((l) => l.requestId === requestId)) !== undefined, timeoutMs, `access log line ${requestId}`);
  return line!;
}

export interface SpawnedGateway {
  readonly proc: ChildProcess;
  readonly url: string;
  readonly adminUrl: string | undefined;
  /** stderr (process log) lines so far. */
  readonly logLines: string[];
  readonly stdoutLines: string[];
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Resolves when a process-log line containing `text` appears. */
  waitForLog(text: string, timeoutMs?: number): Promise<string>;
}

/** `via: 'bin'` starts bin/gatehouse.js as an executable instead of `node src/main.ts`. */
export async function spawnGateway(args: string[], timeoutMs = 15_000, via: 'main' | 'bin' = 'main'): Promise<SpawnedGateway> {
  const proc = via === 'main'
    ? spawn(process.execPath, [mainScript, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(binScript, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}` } });
  const logLines: string[] = [];
  const stdoutLines: string[] = [];
  const waiters: Array<{ text: string; resolve: (line: string) => void }> = [];
  const collect = (into: string[]) => {
    let buf = '';
    return (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      let nl;
      while ((nl = buf.indexOf('\n')) !== -1) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        into.push(line);
        for (const w of [...waiters]) if (line.includes(w.text)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(line); }
      }
    };
  };
  proc.stderr!.on('data', collect(logLines));
  proc.stdout!.on('data', collect(stdoutLines));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const waitForLog = (text: string, ms = timeoutMs) => {
    const seen = [...logLines, ...stdoutLines].find((l) => l.includes(text));
    if (seen) return Promise.resolve(seen);
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no log line with "${text}" in ${ms} ms; stderr:\n${logLines.join('\n')}`)), ms);
      waiters.push({ text, resolve: (line) => { clearTimeout(timer); resolve(line); } });
      void exited.then((code) => { clearTimeout(timer); reject(new Error(`gateway exited (${code}) before "${text}"; stderr:\n${logLines.join('\n')}`)); });
    });
  };
  const line = JSON.parse(await waitForLog('gateway listening')) as { url: string; adminUrl?: string };
  return {
    proc,
    url: line.url,
    adminUrl: line.adminUrl,
    logLines,
    stdoutLines,
    waitForLog,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode !== null) return proc.exitCode;
      proc.kill(signal);
      return exited;
    },
  };
}
