/**
 * The demo's traffic generator (`gatehouse demo`, on unless --no-traffic), so the dashboard has something to
 * show from the first second: mostly users, some orders with and without a token, inventory with a key of
 * its own (consumer demo-traffic: 5 a minute, the rest rate-limited; demo-shop's budget stays yours), and now
 * and then a path no route matches. Bounded: one request per tick (about 10 a second) and at most
 * MAX_IN_FLIGHT at once, however slow the services get; loopback targets only, so it can never be pointed at
 * someone else's server.
 */
import http from 'node:http';
import { isLoopbackHost } from '../config/schema.ts';

export const TICK_MS = 100;
export const MAX_IN_FLIGHT = 16;

export interface DemoRequest {
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** The n-th request of the mix: a fixed cycle of 20, so the proportions are exact. */
export function demoRequest(n: number, ordersToken: string | undefined): DemoRequest {
  const slot = n % 20;
  if (slot < 12) return { path: '/api/users' };
  if (slot < 15 && ordersToken !== undefined) return { path: '/api/orders', headers: { authorization: `Bearer ${ordersToken}` } };
  if (slot < 16) return { path: '/api/orders' }; // 401 token_missing
  if (slot < 19) return { path: `/api/inventory/items/${n % 7}`, headers: { 'x-api-key': 'demo-traffic-key', 'x-cart-id': `c-${n % 5}` } };
  return { path: '/api/nope' }; // 404 route_not_found
}

export interface Traffic {
  /** Requests sent so far. */
  readonly sent: number;
  stop(): Promise<void>;
}

export function startTraffic(gatewayUrl: string, ordersToken: string | undefined, tickMs = TICK_MS): Traffic {
  const base = new URL(gatewayUrl);
  if (!isLoopbackHost(base.hostname)) throw new Error(`the demo's traffic only goes to loopback, not ${base.hostname}`);
  const agent = new http.Agent({ keepAlive: true, maxSockets: MAX_IN_FLIGHT });
  let sent = 0;
  let inFlight = 0;
  const idle = new Set<() => void>();
  const timer = setInterval(() => {
    if (inFlight >= MAX_IN_FLIGHT) return; // the services are slow: skip a beat rather than pile up
    const { path, headers } = demoRequest(sent++, ordersToken);
    inFlight++;
    let finished = false;
    const done = () => {
      if (finished) return;
      finished = true;
      if (--inFlight === 0) for (const resolve of idle) resolve();
    };
    http.get(new URL(path, base), { agent, headers: { 'user-agent': 'gatehouse-demo-traffic', ...headers }, timeout: 15_000 }, (res) => {
      res.resume().on('end', done).on('error', done);
    }).on('error', done).on('timeout', function (this: http.ClientRequest) { this.destroy(); });
  }, tickMs);
  timer.unref();
  return {
    get sent() {
      return sent;
    },
    async stop() {
      clearInterval(timer);
      // The answers still on their way, for at most a couple of seconds (a slowed service answers in less).
      if (inFlight > 0) await new Promise<void>((resolve) => idle.add(resolve) && setTimeout(resolve, 2000).unref());
      agent.destroy();
    },
  };
}
