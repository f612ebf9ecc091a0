/**
 * Streaming through the gateway: a 100 MiB upload and a 100 MiB download, generated and counted chunk by
 * chunk on both ends, arrive byte-exact while the gateway's resident memory grows by less than 50 MB; and
 * backpressure holds both ways (a reader that stops stops the writer on the far side), which is what proves
 * nothing is buffered. The gateway runs as a child process (the real CLI) so its RSS, read from
 * /proc/<pid>/status, is its own; the client and the upstream stay in this process.
 *
 * About the RSS baseline: V8 frees dead Buffers only when a GC runs, and with default flags a cold process
 * lets tens of MB of them pile up before its first collection under streaming load (about 65-80 MB measured
 * here on Node 24, for a gateway that buffers nothing). That is a one-time rise, the same for 100 MB or 300
 * MB. So the baseline is taken once the gateway has streamed 32 MiB each way; the cold rise is reported as a
 * diagnostic. A gateway that buffers whole bodies is caught by the backpressure tests, not by RSS alone
 * (after a warm-up its freed buffers would be reused).
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startUpstream, until, type FakeUpstream } from '../helpers/fake-upstream.ts';
import { spawnGateway, tempDir, type SpawnedGateway } from '../helpers/start-gateway.ts';

const TOTAL = 100 * 1024 * 1024;
const CHUNK = 64 * 1024;
const MAX_GROWTH = 50 * 1024 * 1024;
const TRANSFER_TIMEOUT_MS = 60_000;
const WARM_UP = 32 * 1024 * 1024;
/** What may sit in socket buffers and stream queues between a stalled reader and its writer. */
const MAX_IN_FLIGHT = 40 * 1024 * 1024;

/** A fresh chunk each time (its first bytes carry a counter), so nothing is one big buffer reused by reference. */
function chunk(i: number, size = CHUNK): Buffer {
  const b = Buffer.allocUnsafe(size).fill(i & 0xff);
  b.writeUInt32BE(i >>> 0, 0);
  return b;
}

/** Resident set size of `pid` in bytes, from /proc/<pid>/status. */
function rssOf(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(m, `no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}

/** Samples RSS of `pid` every 20 ms while `work` runs; returns the work's result and the largest sample. */
async function sampleRss<T>(pid: number, work: () => Promise<T>): Promise<{ result: T; maxRss: number }> {
  let maxRss = rssOf(pid);
  const timer = setInterval(() => { maxRss = Math.max(maxRss, rssOf(pid)); }, 20);
  try {
    const result = await work();
    maxRss = Math.max(maxRss, rssOf(pid));
    return { result, maxRss };
  } finally {
    clearInterval(timer);
  }
}

interface Progress { sent: number }

/** POSTs `total` bytes in generated chunks, honouring backpressure; resolves with the status and body. */
function upload(base: string, path: string, total: number, requestId: string, progress: Progress = { sent: 0 }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(base);
    const req = http.request({
      host: url.hostname, port: url.port, path, method: 'POST', agent: false,
      headers: { 'content-type': 'application/octet-stream', 'x-request-id': requestId },
      signal: AbortSignal.timeout(TRANSFER_TIMEOUT_MS),
    }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    let i = 0;
    const pump = () => {
      while (progress.sent < total) {
        const size = Math.min(CHUNK, total - progress.sent);
        progress.sent += size;
        if (!req.write(chunk(i++, size))) {
          req.once('drain', pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
}

/** GETs `path` and counts the body's bytes without keeping them; `onResponse` may pause the response. */
function download(
  base: string, path: string, requestId: string, onResponse?: (res: http.IncomingMessage) => void,
): Promise<{ status: number; bytes: number; complete: boolean }> {
  return new Promise((resolve, reject) => {
    const url = new URL(base);
    const req = http.get({
      host: url.hostname, port: url.port, path, agent: false, headers: { 'x-request-id': requestId },
      signal: AbortSignal.timeout(TRANSFER_TIMEOUT_MS),
    }, (res) => {
      onResponse?.(res);
      let bytes = 0;
      // Counted on 'data' listeners added after onResponse, so a paused response stays paused.
      res.on('data', (c: Buffer) => { bytes += c.length; });
      if (onResponse) res.pause();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, complete: res.complete }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/** Resolves once `read()` has not changed for `quietMs` (checked every 50 ms), bounded by `timeoutMs`. */
async function settled(read: () => number, quietMs = 500, timeoutMs = 15_000): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  let last = read();
  let since = performance.now();
  while (performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    const now = read();
    if (now !== last) {
      last = now;
      since = performance.now();
    } else if (performance.now() - since >= quietMs) {
      return now;
    }
  }
  throw new Error(`still changing after ${timeoutMs} ms (at ${last})`);
}

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

describe('streaming 100 MiB through the gateway', () => {
  let upstream: FakeUpstream;
  let gateway: SpawnedGateway;
  let accessLogPath: string;
  let coldRise = 0;
  const uploads = new Map<string, number>();
  /** Bytes the upstream has handed to its socket, by request URL. */
  const generated = new Map<string, number>();
  /** Uploads the upstream does not read until the test says so, by request URL. */
  const stalled = new Map<string, http.IncomingMessage>();

  before(async () => {
    upstream = await startUpstream((req, res, received) => {
      const url = req.url ?? '';
      if (req.method === 'POST') {
        // Counts the upload as it streams; answers with the count.
        req.on('data', (c: Buffer) => { received.bodyBytes += c.length; });
        req.on('end', () => {
          uploads.set(url, received.bodyBytes);
          const body = JSON.stringify({ bytes: received.bodyBytes });
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
          res.end(body);
        });
        if (url.includes('stall')) {
          req.pause();
          stalled.set(url, req);
        }
        return;
      }
      // Generates the requested number of bytes, chunk by chunk, honouring backpressure.
      const total = Number(new URL(url, 'http://x').searchParams.get('bytes'));
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total });
      let sent = 0;
      let i = 0;
      const pump = () => {
        while (sent < total && !res.destroyed) {
          const size = Math.min(CHUNK, total - sent);
          sent += size;
          generated.set(url, sent);
          if (!res.write(chunk(i++, size))) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
    });
    const dir = tempDir('gatehouse-streaming-');
    accessLogPath = join(dir, 'access.log');
    const configPath = join(dir, 'gatehouse.yaml');
    writeFileSync(configPath, `listen: { host: 127.0.0.1, port: 0 }
admin: { enabled: false }
log:
  access: { path: ${JSON.stringify(accessLogPath)} }
upstreams:
  bulk:
    targets:
      - url: ${upstream.url}
    timeouts: { bodyIdle: 20s }
routes:
  - name: bulk
    match: { path: /bulk }
    upstream: bulk
`);
    gateway = await spawnGateway(['start', '-c', configPath]);
    const pid = gateway.proc.pid!;
    const cold = rssOf(pid);
    assert.equal((await upload(gateway.url, '/bulk/warm', WARM_UP, 'warm-up')).status, 200);
    assert.equal((await download(gateway.url, `/bulk/warm?bytes=${WARM_UP}`, 'warm-down')).bytes, WARM_UP);
    coldRise = rssOf(pid) - cold;
  });

  after(async () => {
    for (const req of stalled.values()) req.resume();
    await gateway?.stop();
    await upstream?.close();
  });

  it('streams a 100 MiB upload byte-exact while a warm gateway\'s RSS grows < 50 MB', async (t) => {
    const pid = gateway.proc.pid!;
    const baseline = rssOf(pid);
    t.diagnostic(`RSS ${mib(baseline)}; the warm-up raised it ${mib(coldRise)} from cold`);
    const { result, maxRss } = await sampleRss(pid, () => upload(gateway.url, '/bulk/upload', TOTAL, 'upload-100'));
    assert.equal(result.status, 200, result.body);
    assert.equal((JSON.parse(result.body) as { bytes: number }).bytes, TOTAL);
    assert.equal(uploads.get('/bulk/upload'), TOTAL);
    const growth = maxRss - baseline;
    t.diagnostic(`RSS growth during the upload: ${mib(growth)}`);
    assert.ok(growth < MAX_GROWTH, `gateway RSS grew ${mib(growth)} (from ${mib(baseline)})`);
  });

  it('streams a 100 MiB download byte-exact while a warm gateway\'s RSS grows < 50 MB', async (t) => {
    const pid = gateway.proc.pid!;
    const baseline = rssOf(pid);
    const { result, maxRss } = await sampleRss(pid, () => download(gateway.url, `/bulk/download?bytes=${TOTAL}`, 'download-100'));
    assert.equal(result.status, 200);
    assert.equal(result.complete, true);
    assert.equal(result.bytes, TOTAL);
    const growth = maxRss - baseline;
    t.diagnostic(`RSS growth during the download: ${mib(growth)}`);
    assert.ok(growth < MAX_GROWTH, `gateway RSS grew ${mib(growth)} (from ${mib(baseline)})`);
  });

  it('stops pulling a download from the upstream while the client does not read', async (t) => {
    const path = `/bulk/download-stall?bytes=${TOTAL}`;
    let response: http.IncomingMessage | undefined;
    const done = download(gateway.url, path, 'download-stall', (res) => { response = res; });
    await until(() => response !== undefined, 5000, 'the response head');
    const stalledAt = await settled(() => generated.get(path) ?? 0);
    t.diagnostic(`the upstream stalled after ${mib(stalledAt)}`);
    assert.ok(stalledAt < MAX_IN_FLIGHT, `the upstream could send ${mib(stalledAt)} to a client that read nothing`);
    response!.resume();
    const result = await done;
    assert.equal(result.bytes, TOTAL);
    assert.equal(result.complete, true);
  });

  it('stops taking an upload from the client while the upstream does not read', async (t) => {
    const path = '/bulk/upload-stall';
    const progress: Progress = { sent: 0 };
    const done = upload(gateway.url, path, TOTAL, 'upload-stall', progress);
    await until(() => stalled.has(path), 5000, 'the upload to reach the upstream');
    const stalledAt = await settled(() => progress.sent);
    t.diagnostic(`the client stalled after ${mib(stalledAt)}`);
    assert.ok(stalledAt < MAX_IN_FLIGHT, `the client could send ${mib(stalledAt)} to an upstream that read nothing`);
    stalled.get(path)!.resume();
    const result = await done;
    assert.equal(result.status, 200, result.body);
    assert.equal(uploads.get(path), TOTAL);
  });

  it('logs the exact byte counts of both transfers', async () => {
    // The access log is buffered; a graceful stop flushes it. Reads what the tests above left in the log.
    assert.equal(await gateway.stop(), 0);
    let lines: Array<Record<string, unknown>> = [];
    await until(() => {
      lines = readFileSync(accessLogPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
      return lines.some((l) => l.requestId === 'download-100');
    }, 2000, 'the access log lines');
    const up = lines.find((l) => l.requestId === 'upload-100');
    const down = lines.find((l) => l.requestId === 'download-100');
    assert.equal(up?.status, 200);
    assert.equal(up?.bytesIn, TOTAL);
    assert.equal(down?.status, 200);
    assert.equal(down?.bytesOut, TOTAL);
  });
});
