/**
 * Log rotation in the real process, as logrotate does it: `mv access.log access.log.1`, then a signal to
 * the pid in the --pid-file. SIGUSR2 reopens the access log file; SIGHUP reopens it and reloads the config;
 * with `workers: 2` every worker reopens. No line is lost or torn across a rotation under load, and lines
 * written after the reopen land in the new file. The logrotate stanza in docs/operations.md is run by the real
 * logrotate (a system package the suite installs: scripts/ensure-system-deps.sh). Process log and access log
 * lines carry the same time format.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { Pool } from 'undici';
import { get, jsonLines, poll, runCli } from '../helpers/e2e-process.ts';
import { spawnGateway, tempDir, type SpawnedGateway } from '../helpers/start-gateway.ts';
import { echoUpstreamPerFile } from '../helpers/e2e-file.ts';

const execFileAsync = promisify(execFile);

/** What the gateway logs once every worker has reopened (src/process/supervisor.ts). */
const REOPENED = 'access log reopened';

let gw: SpawnedGateway | undefined;
const upstream = echoUpstreamPerFile(() => gw);

interface Fixture {
  readonly dir: string;
  readonly config: string;
  readonly log: string;
  readonly pidFile: string;
}

function fixture(workers = 1): Fixture {
  const dir = tempDir('gatehouse-rotation-');
  const f = { dir, config: join(dir, 'gatehouse.yaml'), log: join(dir, 'access.log'), pidFile: join(dir, 'gatehouse.pid') };
  writeFileSync(f.config, [
    'listen: { host: 127.0.0.1, port: 0 }',
    'admin: { enabled: false }',
    `workers: ${workers}`,
    `log: { access: { path: "${f.log}" } }`,
    'upstreams:',
    `  u: { targets: [{ url: "${upstream().url}" }] }`,
    'routes:',
    '  - { name: a, match: { path: /a }, upstream: u }',
  ].join('\n'));
  return f;
}

/** The file's access log lines, each parsed strictly: a torn or interleaved line fails the test. */
function accessLines(file: string): Array<Record<string, unknown>> {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line, i) => {
    try {
      return JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new Error(`${file} line ${i + 1} is not one JSON object: ${line.slice(0, 200)}`);
    }
  });
}

/** The pid logrotate would read from the pid file: the spawned process itself. */
function pidOf(f: Fixture, g: SpawnedGateway): number {
  const pid = Number(readFileSync(f.pidFile, 'utf8'));
  assert.equal(pid, g.proc.pid, 'the pid file names the gateway process');
  return pid;
}

/** Sends one signal and waits (bounded) until the gateway has logged the `n`th reopen. */
async function rotate(f: Fixture, g: SpawnedGateway, signal: NodeJS.Signals, n = 1): Promise<void> {
  renameSync(f.log, `${f.log}.1`);
  process.kill(pidOf(f, g), signal);
  await poll(async () => g.logLines.filter((l) => l.includes(REOPENED)).length >= n || undefined, `"${REOPENED}" after ${signal}`, 5000);
}

describe('access log rotation', () => {
  it('loses no line when the file is moved and SIGUSR2 arrives under load; later lines go to the new file', async () => {
    const f = fixture();
    const g = gw = await spawnGateway(['start', '-c', f.config, '--pid-file', f.pidFile]);
    const TOTAL = 2000;
    const ROTATE_AT = 600;
    // Requests from HOLD_FROM on wait for the reopen to be confirmed: they are known to come after it, and
    // the requests between ROTATE_AT and HOLD_FROM keep the gateway busy while it reopens.
    const HOLD_FROM = 1200;
    let rotated: Promise<void> | undefined;
    const pool = new Pool(g.url, { connections: 8, pipelining: 1 });
    const failures: string[] = [];
    let next = 0;
    const client = async () => {
      for (let i = next++; i < TOTAL; i = next++) {
        if (i === ROTATE_AT) rotated = rotate(f, g, 'SIGUSR2');
        if (i >= HOLD_FROM) await rotated;
        const { statusCode, body } = await pool.request({ path: '/a', method: 'GET', headers: { 'x-request-id': `rot-${i}` } });
        await body.text();
        if (statusCode !== 200) failures.push(`rot-${i}: ${statusCode}`);
      }
    };
    try {
      await Promise.all(Array.from({ length: 8 }, client));
    } finally {
      await pool.close();
    }
    assert.deepEqual(failures, []);
    assert.equal(await g.stop('SIGTERM'), 0, 'the drain writes out the last batch');
    assert.equal(existsSync(f.pidFile), false, 'the pid file is removed at exit');

    const rotatedLines = accessLines(`${f.log}.1`);
    const fresh = accessLines(f.log);
    const seen = new Map<string, number>();
    for (const line of [...rotatedLines, ...fresh]) seen.set(String(line.requestId), (seen.get(String(line.requestId)) ?? 0) + 1);
    const wrong = Array.from({ length: TOTAL }, (_, i) => `rot-${i}`).filter((id) => seen.get(id) !== 1);
    assert.deepEqual(wrong.slice(0, 10), [], `${wrong.length} request IDs not logged exactly once`);
    assert.equal(seen.size, TOTAL, 'no other lines');
    assert.ok(rotatedLines.length >= ROTATE_AT - 8, `the rotated file kept the lines before the signal (${rotatedLines.length})`);
    const index = (line: Record<string, unknown>) => Number(String(line.requestId).slice('rot-'.length));
    const late = rotatedLines.filter((line) => index(line) >= HOLD_FROM).map((line) => line.requestId);
    assert.deepEqual(late, [], 'no request sent after the reopen was logged to the rotated file');
  });

  it('reopens on SIGHUP as well as reloading the config', async () => {
    const f = fixture();
    const g = gw = await spawnGateway(['start', '-c', f.config, '--pid-file', f.pidFile]);
    assert.equal((await get(`${g.url}/a`, { 'x-request-id': 'hup-before' })).status, 200);
    await poll(async () => accessLines(f.log).length === 1 || undefined, 'the first line on disk', 5000);
    await rotate(f, g, 'SIGHUP');
    await g.waitForLog('config reloaded', 5000);
    assert.equal((await get(`${g.url}/a`, { 'x-request-id': 'hup-after' })).status, 200);
    assert.equal(await g.stop('SIGTERM'), 0);
    assert.deepEqual(accessLines(`${f.log}.1`).map((l) => l.requestId), ['hup-before']);
    assert.deepEqual(accessLines(f.log).map((l) => l.requestId), ['hup-after']);
  });

  it('with workers: 2, every worker reopens: new lines land in the new file from both workers', async () => {
    const f = fixture(2);
    const g = gw = await spawnGateway(['start', '-c', f.config, '--pid-file', f.pidFile]);
    // Fresh connections are spread over the workers; the gateway sends both the reopen before confirming.
    const before = await pidsIn(g, f.log, 'before', 2);
    assert.equal(before.size, 2, `both workers served before the rotation: ${[...before].join(', ')}`);
    await rotate(f, g, 'SIGUSR2');
    const after = await pidsIn(g, f.log, 'after', 2);
    assert.deepEqual([...after].sort(), [...before].sort(), 'the same two workers write the new file');
    assert.equal(await g.stop('SIGTERM'), 0);
    assert.ok(accessLines(`${f.log}.1`).every((l) => String(l.requestId).startsWith('before-')), 'the rotated file has only earlier lines');
    assert.ok(accessLines(f.log).every((l) => String(l.requestId).startsWith('after-')), 'the new file has only later lines');
  });

  it('keeps writing to the rotated file and says why when the path cannot be opened again', async () => {
    const f = fixture();
    const g = gw = await spawnGateway(['start', '-c', f.config, '--pid-file', f.pidFile]);
    assert.equal((await get(`${g.url}/a`, { 'x-request-id': 'fail-before' })).status, 200);
    renameSync(f.log, `${f.log}.1`);
    mkdirSync(f.log);
    process.kill(pidOf(f, g), 'SIGUSR2');
    const failed = JSON.parse(await g.waitForLog('reopening the access log failed', 5000)) as { err?: { message?: string } };
    assert.match(failed.err?.message ?? '', /EISDIR/);
    assert.equal((await get(`${g.url}/a`, { 'x-request-id': 'fail-after' })).status, 200, 'the gateway keeps serving');
    assert.equal(await g.stop('SIGTERM'), 0);
    assert.deepEqual(accessLines(`${f.log}.1`).map((l) => l.requestId), ['fail-before', 'fail-after']);
  });

  it('refuses a --pid-file that cannot be written, with one line and exit 2, before listening', async () => {
    const f = fixture();
    const pidFile = join(f.dir, 'missing', 'gatehouse.pid');
    const result = await runCli(['start', '-c', f.config, '--pid-file', pidFile]);
    assert.equal(result.code, 2, result.stderr);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.match(result.stderr, new RegExp(`--pid-file ${pidFile}: cannot write it \\(ENOENT\\)`));
    assert.doesNotMatch(result.stderr, /gateway listening|\n\s+at /);
  });

  it('leaves no pid file behind when the start fails', async () => {
    const f = fixture();
    writeFileSync(f.config, 'listen: { port: nope }\n');
    const result = await runCli(['start', '-c', f.config, '--pid-file', f.pidFile]);
    assert.equal(result.code, 2, result.stderr);
    assert.deepEqual(readdirSync(f.dir).sort(), ['gatehouse.yaml']);
  });
});

describe('log time format', () => {
  it('is epoch milliseconds in a `time` field on process log and access log lines alike', async () => {
    const f = fixture();
    const from = Date.now();
    const g = gw = await spawnGateway(['start', '-c', f.config]);
    assert.equal((await get(`${g.url}/a`)).status, 200);
    assert.equal(await g.stop('SIGTERM'), 0);
    const to = Date.now();
    const processLines = jsonLines(g.logLines);
    const lines = [...processLines, ...accessLines(f.log)];
    assert.ok(processLines.length >= 2 && lines.length > processLines.length, `process and access lines: ${lines.length}`);
    for (const line of lines) {
      assert.ok(Number.isInteger(line.time), `time is an integer: ${JSON.stringify(line)}`);
      assert.ok((line.time as number) >= from - 1000 && (line.time as number) <= to + 1000, `time is now in epoch ms: ${JSON.stringify(line)}`);
    }
  });
});

/**
 * Requests /a on fresh connections with IDs `${tag}-N` until `want` distinct pids wrote their lines to `file`
 * (at most 60 requests); resolves with the pids.
 */
async function pidsIn(g: SpawnedGateway, file: string, tag: string, want: number): Promise<Set<number>> {
  const pids = new Set<number>();
  for (let i = 0; i < 60 && pids.size < want; i++) {
    const id = `${tag}-${i}`;
    assert.equal((await get(`${g.url}/a`, { 'x-request-id': id })).status, 200);
    // Lines reach the file within the batch interval (100 ms).
    const line = await poll(async () => accessLines(file).find((l) => l.requestId === id), `${id} in ${file}`, 5000);
    pids.add(line.pid as number);
  }
  return pids;
}

describe('the logrotate stanza in docs/operations.md', () => {
  it('rotates a running gateway\'s access log through its pid file without losing a line', async () => {
    const f = fixture();
    const stanza = /```\n(\/var\/log\/gatehouse\/access\.log \{[^`]*\})\n```/.exec(readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8'))?.[1];
    assert.ok(stanza, 'docs/operations.md has the stanza');
    const conf = join(f.dir, 'logrotate.conf');
    writeFileSync(conf, `${stanza.replaceAll('/var/log/gatehouse/access.log', f.log).replaceAll('/run/gatehouse.pid', f.pidFile)}\n`);
    const g = gw = await spawnGateway(['start', '-c', f.config, '--pid-file', f.pidFile]);
    const ids = (tag: string) => Array.from({ length: 20 }, (_, i) => `${tag}-${i}`);
    for (const id of ids('lr-before')) assert.equal((await get(`${g.url}/a`, { 'x-request-id': id })).status, 200);
    await poll(async () => accessLines(f.log).length === 20 || undefined, 'the first lines on disk', 5000);
    // -f: rotate now, whatever `daily` says; -s: a state file of our own, not the system's.
    await execFileAsync('logrotate', ['-f', '-s', join(f.dir, 'logrotate.state'), conf], { timeout: 10_000 });
    await g.waitForLog(REOPENED, 5000);
    for (const id of ids('lr-after')) assert.equal((await get(`${g.url}/a`, { 'x-request-id': id })).status, 200);
    assert.equal(await g.stop('SIGTERM'), 0);
    assert.deepEqual(accessLines(`${f.log}.1`).map((l) => l.requestId), ids('lr-before'), 'access.log.1 is left uncompressed (delaycompress) with the earlier lines');
    assert.deepEqual(accessLines(f.log).map((l) => l.requestId), ids('lr-after'));
  });
});
