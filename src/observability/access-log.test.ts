import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accessLine, createAccessLog } from './access-log.ts';
import type { AccessRecord } from './access-record.ts';

const exchange = (over: Partial<AccessRecord> = {}): AccessRecord => ({
  start: 1000, end: 0, requestId: 'r-1', traceId: 'a'.repeat(32), method: 'GET',
  host: 'api.test', clientIp: '127.0.0.1', consumer: undefined, path: '/api/x', route: 'api', upstream: 'u', target: 'http://127.0.0.1:1',
  attempts: 1, tries: undefined, status: 200, reason: undefined, source: undefined, bytesIn: 3, bytesOut: 42, upstreamMs: 1.23456, upstreamError: undefined, ...over,
});

describe('access log line', () => {
  it('is one JSON object with every field, durations in ms to the microsecond', () => {
    const line = accessLine(exchange(), 4242, 1012.3456789);
    assert.ok(line.endsWith('}\n'));
    // The arrival's wall-clock time, from its performance.now() reading.
    const time = Math.floor(Date.now() - performance.now() + 1000);
    const parsed = JSON.parse(line) as { time: number };
    assert.ok(Math.abs(parsed.time - time) <= 2, `time ${parsed.time} vs ${time}`);
    assert.deepEqual(parsed, {
      log: 'access', pid: 4242, time: parsed.time, requestId: 'r-1', traceId: 'a'.repeat(32), method: 'GET',
      host: 'api.test', path: '/api/x', route: 'api', upstream: 'u', target: 'http://127.0.0.1:1', status: 200,
      bytesIn: 3, bytesOut: 42, durationMs: 12.346, upstreamMs: 1.235, clientIp: '127.0.0.1',
    });
  });

  it('records the attempts and each one\'s target and outcome after a retry, and nothing of them for one attempt', () => {
    const one = JSON.parse(accessLine(exchange(), 1, 1001)) as Record<string, unknown>;
    assert.equal('attempts' in one || 'tries' in one, false);
    const tries = ['http://127.0.0.1:1 connect_failure', 'http://127.0.0.1:2 200'];
    const line = accessLine(exchange({ attempts: 2, tries, target: 'http://127.0.0.1:2' }), 1, 1001);
    assert.match(line, /"target":"http:\/\/127\.0\.0\.1:2","attempts":2,"tries":"http:\/\/127\.0\.0\.1:1 connect_failure,http:\/\/127\.0\.0\.1:2 200","status":200/);
    const many = Array.from({ length: 10 }, (_, i) => `http://127.0.0.1:${i} "quoted" ${'x'.repeat(200)}`);
    const parsed = JSON.parse(accessLine(exchange({ attempts: 10, tries: many }), 1, 1001)) as { tries: string };
    assert.equal(parsed.tries, many.join(','), 'escaped, and within the line bound');
  });

  it('writes durations as JSON numbers to the microsecond, whole, fractional and zero-padded', () => {
    const durations: Array<[number, number]> = [[1000, 0], [1001, 1], [1000.05, 0.05], [1000.0004, 0], [1012.3456, 12.346], [1000.007, 0.007], [1250.1, 250.1], [999.5, -0.5]];
    for (const [now, expected] of durations) {
      const parsed = JSON.parse(accessLine(exchange({ upstreamMs: now - 1000 }), 1, now)) as { durationMs: number; upstreamMs: number };
      assert.equal(parsed.durationMs, expected, `durationMs for ${now - 1000}`);
      assert.equal(parsed.upstreamMs, expected, `upstreamMs for ${now - 1000}`);
    }
  });

  it('leaves out absent values and keeps reasons and upstream errors', () => {
    const parsed = JSON.parse(accessLine(exchange({ route: undefined, upstream: undefined, target: undefined, host: undefined,
      upstreamMs: undefined, status: 404, reason: 'route_not_found', upstreamError: 'ECONNREFUSED' }), 1, 1000)) as Record<string, unknown>;
    for (const gone of ['route', 'upstream', 'target', 'host', 'upstreamMs']) assert.equal(gone in parsed, false, gone);
    assert.equal(parsed.reason, 'route_not_found');
    assert.equal(parsed.upstreamError, 'ECONNREFUSED');
  });

  it('escapes hostile strings so every line stays one valid JSON line', () => {
    const nasty = 'a"b\\c\n{"injected":true}\u0000\u2028é';
    const line = accessLine(exchange({ path: nasty, host: nasty, method: nasty }), 1, 1000);
    assert.equal(line.indexOf('\n'), line.length - 1, 'exactly one newline, at the end');
    const parsed = JSON.parse(line) as Record<string, unknown>;
    assert.equal(parsed.path, nasty);
    assert.equal(parsed.host, nasty);
    assert.equal('injected' in parsed, false);
  });

  // accessLine allocates exactly the bound and a Buffer drops writes past its end, so a string left out of the
  // bound shows up as a truncated line. Most control characters escape to six bytes (\u000e), the most any
  // character takes (not \b \t \n \f \r: two bytes). A different one per field shows a value under the wrong key.
  it('fits a line whose every string is as long as escaping can make it', () => {
    const fields = ['requestId', 'traceId', 'method', 'host', 'path', 'route', 'upstream', 'target', 'reason', 'source', 'clientIp', 'consumer', 'upstreamError'] as const;
    const strings = Object.fromEntries(fields.map((f, i) => [f, String.fromCharCode(0x0e + i).repeat(100)])) as Record<(typeof fields)[number], string>;
    const ex = exchange({ ...strings, reason: strings.reason as AccessRecord['reason'], start: 1000, status: 599, bytesIn: 2 ** 53 - 1, bytesOut: 2 ** 53 - 1 });
    const line = accessLine(ex, 2 ** 22, 1000 + 86_400_000.123);
    assert.equal(line.indexOf('\n'), line.length - 1, 'one whole line');
    const parsed = JSON.parse(line) as Record<string, unknown>;
    for (const [field, value] of Object.entries(strings)) assert.equal(parsed[field], value, field);
    assert.equal(parsed.bytesOut, 2 ** 53 - 1);
    assert.equal(parsed.durationMs, 86_400_000.123);
  });

  it('writes lines to the configured file and flushes them on close', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'gh-access-')), 'access.log');
    const log = createAccessLog({ enabled: true, path });
    const huge = `/${'é"'.repeat(20_000)}`; // escaped, far more than one 64 KiB batch
    log.write(exchange({ requestId: 'one' }));
    log.write(exchange({ requestId: 'two', path: huge }));
    log.write(exchange({ requestId: 'three' }));
    log.close();
    const lines = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { requestId: string; path: string });
    assert.deepEqual(lines.map((l) => l.requestId), ['one', 'two', 'three']);
    assert.equal(lines[1]!.path, huge);
  });
});
