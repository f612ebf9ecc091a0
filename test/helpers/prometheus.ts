/**
 * Prometheus for tests: reading samples out of the text format, and a real `prometheus` server (Debian's
 * package) on a free loopback port with its own temp dir for config and storage, scraping given targets
 * every second, stopped by its PID. Every wait is bounded.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './redis-server.ts';
import { tempDir } from './start-gateway.ts';

/** The value of one sample line, by its name and exact label text ("" for none); undefined when absent. */
export function sample(text: string, name: string, labels: string): number | undefined {
  const prefix = labels === '' ? `${name} ` : `${name}{${labels}} `;
  const line = text.split('\n').find((l) => l.startsWith(prefix));
  return line === undefined ? undefined : Number(line.slice(prefix.length));
}

/** The sum of every sample of `name`, whatever its labels. */
export function total(text: string, name: string): number {
  return text.split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

/** Why a test needing `command` cannot run here (for `skip`), or false when it is installed. */
export function missing(command: 'promtool' | 'prometheus'): string | false {
  return spawnSync(command, ['--version']).error ? `${command} is not installed (scripts/ensure-system-deps.sh installs it)` : false;
}

/** Runs `promtool check metrics` on `text`: '' when it passes, else what promtool said. */
export function promtoolProblems(text: string): string {
  const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 10_000 });
  return check.status === 0 ? '' : `${check.stdout}${check.stderr}${check.error ? String(check.error) : ''}`;
}

export interface PrometheusServer {
  readonly url: string;
  readonly pid: number | undefined;
  /** Evaluates an instant PromQL query; the first result's value, or undefined when the result is empty. */
  query(promql: string): Promise<number | undefined>;
  stop(): Promise<void>;
}

/** Starts Prometheus scraping `targets` ("127.0.0.1:PORT", path /metrics) every second; resolves when ready (≤ 15 s). */
export async function startPrometheus(targets: readonly string[]): Promise<PrometheusServer> {
  const dir = tempDir('gatehouse-prometheus-');
  const config = join(dir, 'prometheus.yml');
  writeFileSync(config, [
    'global: { scrape_interval: 1s, scrape_timeout: 900ms, evaluation_interval: 1s }',
    'scrape_configs:',
    '  - job_name: gatehouse',
    `    static_configs: [{ targets: [${targets.map((t) => `"${t}"`).join(', ')}] }]`,
  ].join('\n'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let stderr = '';
  const proc: ChildProcess = spawn('prometheus', [
    `--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  proc.stderr?.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString('utf8')).slice(-4000); });
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = once(proc, 'exit');
    proc.kill('SIGKILL');
    await exited;
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`prometheus exited with ${proc.exitCode}: ${stderr}`);
    const ready = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus was not ready within 15 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    get pid() {
      return proc.exitCode === null && proc.signalCode === null ? proc.pid : undefined;
    },
    async query(promql) {
      const answer = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`, { signal: AbortSignal.timeout(5000) });
      const body = await answer.json() as { status: string; data?: { result: Array<{ value: [number, string] }> }; error?: string };
      if (body.status !== 'success') throw new Error(`query ${promql} failed: ${body.error ?? answer.status}`);
      const first = body.data?.result[0];
      return first === undefined ? undefined : Number(first.value[1]);
    },
    stop,
  };
}
