/**
 * The demo's services: plain node:http servers on loopback that answer JSON describing what they received,
 * including the headers the gateway added (x-request-id, traceparent, x-forwarded-*, via), so the demo shows
 * what a service behind Gatehouse sees. Request bodies are counted, not stored.
 */
import http from 'node:http';
import { once } from 'node:events';

export interface DemoService {
  readonly name: string;
  readonly port: number;
}

export const demoServices: readonly DemoService[] = [
  { name: 'users', port: 7101 },
  { name: 'users', port: 7102 },
  { name: 'orders', port: 7103 },
  { name: 'orders', port: 7104 },
  { name: 'inventory', port: 7105 },
  { name: 'inventory', port: 7106 },
];

const SHOWN_HEADERS = ['host', 'x-request-id', 'traceparent', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'via', 'x-user-id', 'x-user-scopes', 'x-consumer-id', 'x-cart-id', 'x-api-version', 'authorization', 'x-api-key'];

function createDemoService(service: DemoService): http.Server {
  return http.createServer((req, res) => {
    let bodyBytes = 0;
    req.on('data', (chunk: Buffer) => { bodyBytes += chunk.length; });
    req.on('end', () => {
      const headers = Object.fromEntries(SHOWN_HEADERS.filter((h) => req.headers[h] !== undefined).map((h) => [h, req.headers[h]]));
      const body = JSON.stringify({
        service: service.name,
        instance: `${service.name}@${service.port}`,
        method: req.method,
        url: req.url,
        bodyBytes,
        headers,
      }, null, 2);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
}

/**
 * Starts every demo service, on loopback unless `host` says otherwise (compose.yaml runs them in a container of
 * their own, reached by the gateways over the compose network); resolves with a function that stops them.
 */
export async function startDemoServices(host = '127.0.0.1'): Promise<() => Promise<void>> {
  const servers: http.Server[] = [];
  try {
    for (const service of demoServices) {
      const server = createDemoService(service);
      server.listen(service.port, host);
      await once(server, 'listening');
      servers.push(server);
    }
  } catch (error) {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    throw error;
  }
  return async () => {
    await Promise.all(servers.map((s) => {
      s.closeAllConnections();
      return new Promise((r) => s.close(r));
    }));
  };
}
