/**
 * The benchmark's upstream: a minimal node:http server that answers every request with the same small JSON
 * body (~100 bytes, fixed Content-Length) over keep-alive. It does as little as a server can, so that the
 * cost measured on the proxies is theirs.
 *
 *   node bench/upstream.ts [--port N]     prints {"msg":"listening","url":...} on stdout; SIGTERM stops it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';

export const UPSTREAM_BODY = Buffer.from(JSON.stringify({
  ok: true,
  service: 'bench-upstream',
  items: [{ id: 1, name: 'alpha' }, { id: 2, name: 'beta' }, { id: 3, name: 'gamma' }],
}));

const RESPONSE_HEADERS = { 'content-type': 'application/json', 'content-length': String(UPSTREAM_BODY.length) };

export function createUpstream(): http.Server {
  // Node's own default (5 s): the proxies' pools close idle sockets at 4 s, below it.
  return http.createServer({ keepAliveTimeout: 5000 }, (req, res) => {
    req.resume();
    res.writeHead(200, RESPONSE_HEADERS);
    res.end(UPSTREAM_BODY);
  });
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '0' } }, strict: true });
  const server = createUpstream();
  server.listen(Number(values.port), '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    process.stdout.write(`${JSON.stringify({ msg: 'listening', url: `http://127.0.0.1:${port}` })}\n`);
  });
  process.on('SIGTERM', () => process.exit(0));
  process.on('SIGINT', () => process.exit(0));
}
