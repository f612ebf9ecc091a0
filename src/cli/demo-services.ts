/**
 * The demo's services: plain node:http servers on loopback that answer JSON describing what they received,
 * including the headers the gateway added (x-request-id, traceparent, x-forwarded-*, via), so the demo shows
 * what a service behind Gatehouse sees. Request bodies are counted, not stored.
 *
 * The users service has bad moments on purpose: it answers SLOW_DELAY_MS late for SLOW_FOR_MS of every
 * SLOW_EVERY_MS, so the demo's alert rule (users-slow, examples/demo.yaml) fires and then resolves.
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

export const SLOW_EVERY_MS = 60_000;
export const SLOW_FOR_MS = 20_000;
export const SLOW_DELAY_MS = 300;

/** Whether the users service is in a slow spell at `now`: the last SLOW_FOR_MS of each SLOW_EVERY_MS since `start`. */
export function slowAt(now: number, start: number): boolean {
  return (now - start) % SLOW_EVERY_MS >= SLOW_EVERY_MS - SLOW_FOR_MS;
}

const SHOWN_HEADERS = ['host', 'x-request-id', 'traceparent', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'via', 'x-user-id', 'x-user-scopes', 'x-consumer-id', 'x-cart-id', 'x-api-version', 'authorization', 'x-api-key'];

function createDemoService(service: DemoService, delayMs: () => number): http.Server {
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
      const answer = () => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      };
      const delay = delayMs();
      if (delay > 0) setTimeout(answer, delay).unref();
      else answer();
    });
  });
}

/**
 * Starts every demo service, on loopback unless `host` says otherwise (compose.yaml runs them in a container of
 * their own, reached by the gateways over the compose network); resolves with a function that stops them.
 */
export async function startDemoServices(host = '127.0.0.1', now: () => number = Date.now): Promise<() => Promise<void>> {
  const servers: http.Server[] = [];
  const start = now();
  const usersDelay = () => (slowAt(now(), start) ? SLOW_DELAY_MS : 0);
  try {
    for (const service of demoServices) {
      const server = createDemoService(service, service.name === 'users' ? usersDelay : () => 0);
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
