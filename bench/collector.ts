/**
 * The tracing variants' OTLP/HTTP collector: accepts POST /v1/traces, reads and discards the body, answers
 * 200 {}. It does nothing else, so what the variants cost is the gateway's side of tracing alone.
 *
 *   node bench/collector.ts     prints {"msg":"listening","url":...} on stdout; SIGTERM stops it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ msg: 'listening', url: `http://127.0.0.1:${port}` })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
