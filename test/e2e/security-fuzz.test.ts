/**
 * A small, bounded, seeded fuzz of the real gateway process over raw sockets: random bytes, random
 * printable text, and valid requests mutated (bytes flipped, CR/LF/NUL/space/colon/percent inserted, ranges
 * deleted, lines duplicated or folded, truncated). The process must not crash, hang or log errors, every byte it
 * answers must be well-formed HTTP/1.1, its own errors must carry the JSON error shape with a reason from the
 * catalogue, every request that reached the upstream must have a canonical path, and every access log line
 * must parse. Set FUZZ_SEED to replay a run; the seed is printed with every failure.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { reasons } from '../../src/observability/reasons.ts';
import { normalizePath } from '../../src/server/normalize-path.ts';
import { killIfRunning } from '../helpers/e2e-process.ts';
import { echo, startUpstream, until, type FakeUpstream } from '../helpers/fake-upstream.ts';
import { assertGatewayError, get, rawExchange, rawRequest, type GatewayError, type RawResponse } from '../helpers/raw-http.ts';
import { spawnGateway, tempDir, type SpawnedGateway } from '../helpers/start-gateway.ts';

const CONNECTIONS = 200;
const CONCURRENCY = 40;
/** Per connection: well above the gateway's own timeouts (see the config below), so only a hang reaches it. */
const TIMEOUT_MS = 3000;
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 32);

/** mulberry32: a tiny seeded PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TEMPLATES = [
  'GET /fuzz/a?x=1 HTTP/1.1\r\nHost: gw.test\r\nUser-Agent: fuzz\r\nAccept: */*\r\nConnection: close\r\n\r\n',
  'POST /fuzz/b HTTP/1.1\r\nHost: gw.test\r\nContent-Type: text/plain\r\nContent-Length: 11\r\nConnection: close\r\n\r\nhello world',
  'POST /fuzz/c HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n',
  'GET /fuzz/d HTTP/1.1\r\nHost: gw.test\r\n\r\nGET /fuzz/e HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n',
  'GET /fuzz/%61/./../%2e%2e/x HTTP/1.1\r\nHost: gw.test\r\nX-Forwarded-For: 6.6.6.6\r\nX-Request-ID: fuzz-1\r\nConnection: close\r\n\r\n',
  'GET /fuzz/ws HTTP/1.1\r\nHost: gw.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
  'PUT /fuzz/f HTTP/1.1\r\nHost: gw.test\r\nExpect: 100-continue\r\nContent-Length: 4\r\nConnection: close\r\n\r\nabcd',
  'POST /fuzz/g HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /internal/smuggled HTTP/1.1\r\nHost: gw.test\r\n\r\n',
];

const INSERTS = ['\r', '\n', '\r\n', '\0', ' ', '\t', ':', '%', ',', ';', '\r\n ', '\x7f', '\xff'];

interface FuzzCase {
  readonly kind: string;
  readonly parts: Buffer[];
  /** Half-close after writing. */
  readonly end: boolean;
}

function makeCase(rand: () => number): FuzzCase {
  const int = (n: number) => Math.floor(rand() * n);
  const pick = <T>(list: readonly T[]): T => list[int(list.length)]!;
  const roll = rand();
  let bytes: Buffer;
  let kind: string;
  if (roll < 0.2) {
    kind = 'random bytes';
    bytes = Buffer.from(Array.from({ length: 1 + int(600) }, () => int(256)));
  } else if (roll < 0.35) {
    kind = 'random text';
    const alphabet = 'GETPOST /HTTP1.0:\r\n%2e%2fHost: x-\tContent-Length: 0123456789chunked;,="\\';
    bytes = Buffer.from(Array.from({ length: 1 + int(400) }, () => alphabet[int(alphabet.length)]).join(''), 'latin1');
  } else {
    kind = 'mutated request';
    const text = Buffer.from(pick(TEMPLATES), 'latin1');
    let b = [...text];
    // A few are left valid, so the fuzz also runs alongside requests the upstream serves.
    for (let m = rand() < 0.1 ? 0 : 1 + int(3); m > 0; m--) {
      const at = int(b.length + 1);
      switch (int(6)) {
        case 0: if (b.length) b[Math.min(at, b.length - 1)] = int(256); break;
        case 1: b.splice(at, 0, ...Buffer.from(pick(INSERTS), 'latin1')); break;
        case 2: b.splice(at, 1 + int(8)); break;
        case 3: b = b.slice(0, at); break;
        case 4: {
          // Duplicate a line (a second Host, Content-Length, Transfer-Encoding ...).
          const s = Buffer.from(b).toString('latin1');
          const lines = s.split('\r\n');
          const i = 1 + int(Math.max(1, lines.length - 2));
          lines.splice(i, 0, lines[i] ?? '');
          b = [...Buffer.from(lines.join('\r\n'), 'latin1')];
          break;
        }
        default: if (b.length) b[Math.min(at, b.length - 1)] = b[Math.min(at, b.length - 1)]! ^ (1 << int(8));
      }
    }
    bytes = Buffer.from(b);
  }
  // Sometimes in several packets, cut anywhere.
  const parts: Buffer[] = [];
  const pieces = rand() < 0.3 ? 2 + int(3) : 1;
  let from = 0;
  for (let i = 1; i < pieces; i++) {
    const to = from + int(bytes.length - from + 1);
    parts.push(bytes.subarray(from, to));
    from = to;
  }
  parts.push(bytes.subarray(from));
  return { kind, parts, end: rand() < 0.3 };
}

describe('fuzzing the gateway process with hostile bytes', () => {
  let upstream: FakeUpstream;
  let gw: SpawnedGateway | undefined;
  let port: number;
  let accessLogPath: string;

  before(async () => {
    upstream = await startUpstream(echo('up'));
    const dir = tempDir('gatehouse-fuzz-');
    accessLogPath = join(dir, 'access.log');
    const file = join(dir, 'gatehouse.yaml');
    // JSON is YAML.
    writeFileSync(file, JSON.stringify({
      listen: { host: '127.0.0.1', port: 0 },
      admin: { enabled: false },
      server: { maxHeaderSize: '4KiB', maxUrlLength: '1KiB', headersTimeout: '800ms', requestTimeout: '1s', keepAliveTimeout: '300ms' },
      log: { level: 'info', access: { path: accessLogPath } },
      upstreams: { up: { targets: [{ url: upstream.url }] } },
      // Only /fuzz is routed: a request the gateway itself parses for /internal/smuggled gets its 404.
      routes: [{ name: 'fuzz', match: { path: '/fuzz' }, upstream: 'up' }],
    }));
    gw = await spawnGateway(['start', '-c', file]);
    port = Number(new URL(gw.url).port);
  });

  after(async () => {
    killIfRunning(gw?.proc);
    await upstream?.close();
  });

  it(`survives ${CONNECTIONS} connections of hostile bytes and answers only well-formed HTTP`, async (t) => {
    t.diagnostic(`FUZZ_SEED=${SEED}`);
    const rand = prng(SEED);
    const cases = Array.from({ length: CONNECTIONS }, () => makeCase(rand));
    const problems: string[] = [];
    const gatewayErrors = new Map<string, number>();
    const statuses = new Map<number, number>();
    const started = performance.now();
    let slowest = 0;

    const check = (r: RawResponse, where: string) => {
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      if (r.status < 400) return;
      // Every error answer on this gateway is its own (the upstream only echoes with 200): the shared check of
      // the JSON error shape, its reason from the catalogue with that reason's status, collected, not thrown.
      let reason: string;
      try {
        reason = String((JSON.parse(r.body) as Partial<GatewayError>).error?.reason);
        assertGatewayError(r, r.status, reason);
      } catch (error) {
        problems.push(`${where}: not the gateway's error shape: ${error instanceof Error ? error.message : String(error)}`);
        return;
      }
      if (reason === 'internal_error' || reason === 'policy_error') problems.push(`${where}: ${reason}`);
      gatewayErrors.set(reason, (gatewayErrors.get(reason) ?? 0) + 1);
    };

    let next = 0;
    const worker = async () => {
      while (next < cases.length) {
        const i = next++;
        const c = cases[i]!;
        const where = `case ${i} (${c.kind}, ${JSON.stringify(Buffer.concat(c.parts).toString('latin1').slice(0, 120))})`;
        const r = await rawExchange(port, c.parts, { gapMs: 5, timeoutMs: TIMEOUT_MS, end: c.end });
        slowest = Math.max(slowest, r.elapsedMs);
        const got = JSON.stringify(r.bytes.toString('latin1').slice(0, 200));
        // The gateway answers or closes every connection within its timeouts (headers 800 ms, request 1 s,
        // keep-alive 300 ms): waiting out the exchange's own timeout is a hang.
        if (r.timedOut) problems.push(`${where}: neither answered in full nor closed within ${TIMEOUT_MS} ms; got ${got}`);
        // Truncated answers included: the gateway always finishes the response it started before closing.
        if (r.malformed) problems.push(`${where}: ${r.malformed}: ${JSON.stringify(r.rest.toString('latin1').slice(0, 200))}`);
        r.responses.forEach((x, n) => check(x, `${where} response ${n}`));
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    t.diagnostic(`${CONNECTIONS} connections in ${(performance.now() - started).toFixed(0)} ms (slowest ${slowest.toFixed(0)} ms); statuses ${JSON.stringify(Object.fromEntries(statuses))}; gateway errors ${JSON.stringify(Object.fromEntries(gatewayErrors))}`);

    const seed = `(FUZZ_SEED=${SEED})`;
    assert.deepEqual(problems, [], `malformed, truncated, missing or non-JSON error answers ${seed}`);
    assert.equal(gw!.proc.exitCode, null, `the gateway exited ${seed}:\n${gw!.logLines.join('\n')}`);
    assert.equal(gw!.proc.signalCode, null, `the gateway was killed ${seed}`);

    // Still serving.
    const ok = await rawRequest(port, [get('/fuzz/after')]);
    assert.equal(ok.status, 200, `after the fuzz ${seed}: ${ok.statusLine}`);

    // Nothing in the process log at error level or above (pino: 50 error, 60 fatal).
    const errors = gw!.logLines.filter((l) => { try { return (JSON.parse(l) as { level?: number }).level! >= 50; } catch { return /error|uncaught/i.test(l); } });
    assert.deepEqual(errors, [], `process log errors ${seed}`);

    // Whatever reached the upstream had a canonical path: the gateway forwards only what it normalised. (The
    // request /fuzz/after is one of them; the fuzz must have delivered others for the loop to check anything.)
    assert.ok(upstream.received.length > 1, `the upstream received ${upstream.received.length} request(s): the fuzz forwarded nothing ${seed}`);
    for (const r of upstream.received) {
      const path = r.url.split('?')[0]!;
      assert.equal(normalizePath(path), path, `the upstream received a non-canonical path ${JSON.stringify(r.url)} ${seed}`);
    }
    // Only a desync between the gateway's framing and the upstream's could deliver it there.
    assert.ok(!upstream.received.some((r) => r.url.startsWith('/internal/')), `a smuggled request reached the upstream ${seed}`);

    // Every access log line is one JSON object with a known reason. The log is written in batches: the line
    // of the request sent last shows that the lines before it are out.
    const lastId = ok.headers['x-request-id']!;
    await until(() => existsSync(accessLogPath) && readFileSync(accessLogPath, 'utf8').includes(`"requestId":"${lastId}"`), 3000, `the access log line of ${lastId}`);
    const lines = readFileSync(accessLogPath, 'utf8').split('\n').filter(Boolean);
    assert.ok(lines.length > 0, 'no access log lines');
    for (const line of lines) {
      let parsed: { status?: unknown; reason?: unknown };
      try {
        parsed = JSON.parse(line) as typeof parsed;
      } catch {
        assert.fail(`an access log line is not JSON ${seed}: ${line.slice(0, 300)}`);
      }
      assert.equal(typeof parsed.status, 'number', `${line} ${seed}`);
      if (parsed.reason !== undefined) assert.ok(String(parsed.reason) in reasons, `unknown reason in ${line} ${seed}`);
    }
  });
});
