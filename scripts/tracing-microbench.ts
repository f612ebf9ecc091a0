/**
 * Micro-benchmark of tracing's cost per request (src/tracing/tracing.ts quotes its result): CPU µs a
 * recorded request adds at sampleRatio 1 — the trace record and one attempt record, the two spans built at
 * finish, the batch processor's queue, and the OTLP/HTTP export (JSON encoding and the POST) amortised over
 * its batches — against the same loop with tracing off. The collector is a child process that discards
 * what it gets, so its work is not counted. Run: node_modules/.bin/node scripts/tracing-microbench.ts
 * (it is not part of the test suite, and asserts nothing).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { pino } from 'pino';
import { Exchange } from '../src/pipeline/exchange.ts';
import { traceFrom } from '../src/observability/request-id.ts';
import { SpanExport } from '../src/tracing/span-export.ts';
import { Tracing } from '../src/tracing/tracing.ts';
import { tracingSchema } from '../src/tracing/tracing-schema.ts';

const REQUESTS = Number(process.argv[2] ?? 100_000);
const CHUNK = 256;

const collector = spawn(process.execPath, ['-e', `
  require('node:http').createServer((req, res) => { req.resume(); req.on('end', () => res.end('{}')); })
    .listen(0, '127.0.0.1', function () { process.stdout.write(this.address().port + '\\n'); });`], { stdio: ['ignore', 'pipe', 'inherit'] });
const [portLine] = await once(collector.stdout!, 'data') as [Buffer];
const endpoint = `http://127.0.0.1:${portLine.toString().trim()}/v1/traces`;

/** One proxied request's worth of the work tracing touches: the server stage's trace, an attempt, finish. */
function request(tracing: Tracing | undefined, i: number): void {
  const trace = traceFrom(undefined, tracing === undefined ? 1 : tracing.sampleRatio);
  const ex = new Exchange({ requestId: `r${i}`, method: 'GET', path: '/api/users/42', query: '', headers: { host: 'api.example.com', 'user-agent': 'bench' },
    clientIp: '10.1.2.3', traceId: trace.traceId, traceparent: trace.traceparent, traceFlags: trace.traceFlags, host: 'api.example.com' });
  ex.route = 'users';
  ex.upstream = 'users';
  ex.target = 'http://10.0.0.7:8080';
  ex.attempts = 1;
  ex.status = 200;
  if (tracing !== undefined) ex.trace = tracing.begin(trace.parentId);
  const record = ex.trace;
  if (record !== undefined) {
    const start = performance.now();
    record.attempts.push({ spanId: trace.spanId, target: ex.target, host: '10.0.0.7:8080', path: '/api/users/42', start, end: start + 0.5, status: 200, reason: undefined, errorCode: undefined });
  }
  if (record !== undefined) record.recorder.end(ex, record);
}

async function run(tracing: Tracing | undefined, spanExport?: SpanExport): Promise<number> {
  const before = process.cpuUsage();
  for (let i = 0; i < REQUESTS; i += CHUNK) {
    for (let j = i; j < i + CHUNK && j < REQUESTS; j++) request(tracing, j);
    // Lets the batch processor's timer and the exporter's sockets run, as between requests in a gateway, and
    // keeps the queue under its bound: a dropped span would be a span whose export is not counted.
    do await new Promise((resolve) => setImmediate(resolve));
    while ((spanExport?.queued ?? 0) > 1024);
  }
  await spanExport?.flush();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / REQUESTS;
}

const config = tracingSchema.parse({ enabled: true, endpoint, sampleRatio: 1 });
const spanExport = new SpanExport(config, pino({ level: 'warn' }));
await spanExport.ready;
const tracing = new Tracing(1, spanExport, new Map([['users', '/api/users/:id']]));
// Warm-up, then the measured runs, alternating.
await run(undefined);
await run(tracing, spanExport);
const off: number[] = [];
const on: number[] = [];
for (let round = 0; round < 3; round++) {
  off.push(await run(undefined));
  on.push(await run(tracing, spanExport));
}
const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(JSON.stringify({
  requests: REQUESTS, offUsPerRequest: median(off).toFixed(2), onUsPerRequest: median(on).toFixed(2),
  tracingUsPerRequest: (median(on) - median(off)).toFixed(2), counts: spanExport.counts,
}));
await spanExport.close();
collector.kill();
