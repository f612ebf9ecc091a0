/**
 * `gatehouse demo [--port N]`: the demo services plus Gatehouse on examples/demo.yaml, with ready-made curl
 * lines, the dashboard's URL and the admin token, and (unless --no-traffic) a small traffic generator so the
 * dashboard moves and the shipped alert rule fires when the users service has its slow spell. Ctrl-C stops
 * the traffic, drains the gateway and stops the services.
 */
import { randomBytes } from 'node:crypto';
import { styleText } from 'node:util';
import { SLOW_EVERY_MS, SLOW_FOR_MS, startDemoServices } from './demo-services.ts';
import { startTraffic, type Traffic } from './demo-traffic.ts';
import { loadConfigFile } from '../config/load.ts';
import { createLogger } from '../observability/logger.ts';
import { configFileHints, fileSource } from '../process/config-source.ts';
import { runGateway } from '../process/supervisor.ts';
import { parseCommand, portOf, type CommandSpec } from './args.ts';
import { demoConfigFile } from './demo-config.ts';
import { findSigningIssuer, mintToken } from './token.ts';

export const demoSpec = {
  name: 'demo',
  summary: 'Start three demo services and Gatehouse in front of them (npm start).',
  usage: `gatehouse demo [--port N] [--admin-port N] [--no-traffic]
  Starts three demo services (users, orders, inventory; two instances each) on 127.0.0.1:7101-7106 and
  Gatehouse in front of them on examples/demo.yaml, with a small traffic generator (about 10 requests a
  second, loopback only) for the dashboard. Users is slow 20 s of every minute, so the users-slow alert
  fires and resolves. The admin token is GATEHOUSE_ADMIN_TOKEN, or a random one. Ctrl-C stops everything.
  --port N            the gateway's port (default 8080)
  --admin-port N      the admin listener's port (default 9901)
  --no-traffic        no generated traffic: only your own requests`,
  options: { port: { type: 'string' }, 'admin-port': { type: 'string' }, 'no-traffic': { type: 'boolean' } },
} as const satisfies CommandSpec;

export async function demo(argv: string[]): Promise<void> {
  const { values } = parseCommand(demoSpec, argv);
  // examples/demo.yaml reads admin.token from here: a fresh one per run unless the environment sets it.
  process.env.GATEHOUSE_ADMIN_TOKEN ||= randomBytes(18).toString('base64url');
  const adminToken = process.env.GATEHOUSE_ADMIN_TOKEN;
  const stopServices = await startDemoServices();
  const log = createLogger('warn');
  const withTraffic = values['no-traffic'] !== true;
  const overrides = { port: portOf(values.port, '--port'), adminPort: portOf(values['admin-port'], '--admin-port'), accessLog: withTraffic ? false as const : undefined };
  let gateway;
  try {
    const hints = { ...configFileHints, gateway: { port: '--port', host: 'listen.host' }, admin: { port: '--admin-port', host: 'admin.host' } };
    gateway = await runGateway(fileSource(demoConfigFile, overrides, hints), log, false);
  } catch (error) {
    await stopServices();
    throw error;
  }
  const u = gateway.url;
  const b = (s: string) => styleText('bold', s);
  const loaded = await loadConfigFile(demoConfigFile);
  const issuer = loaded.ok ? findSigningIssuer(loaded.config, 'orders') : 'not loaded';
  const token = typeof issuer === 'string' ? '$(npx gatehouse token --scope orders:read)' : await mintToken(issuer, 'demo-user', ['orders:read'], 24 * 3600_000);
  const traffic: Traffic | undefined = !withTraffic ? undefined : startTraffic(u, typeof issuer === 'string' ? undefined : token);
  const dashboard = gateway.adminUrl === undefined ? 'off (admin.enabled is false)' : `${gateway.adminUrl}/dashboard`;
  process.stdout.write([
    '',
    `${b('Gatehouse demo')} is running on ${b(u)} (admin ${gateway.adminUrl ?? 'off'}), config ${demoConfigFile}`,
    '',
    `Dashboard: ${b(dashboard)}`,
    `Admin token: ${b(adminToken)}   (the dashboard asks for it once)`,
    traffic
      ? `Traffic: about 10 requests a second to every route (--no-traffic turns it off). The users service is slow ${SLOW_FOR_MS / 1000} s of every ${SLOW_EVERY_MS / 1000} s: watch the users-slow alert fire, then resolve.`
      : 'Traffic: off (--no-traffic): the dashboard shows your own requests.',
    '',
    'Try:',
    `  curl -s ${u}/api/users                         # round-robin: run it twice, "instance" alternates`,
    `  curl -si ${u}/api/orders                        # 401 token_missing: orders needs a JWT`,
    `  curl -s -H "Authorization: Bearer ${token}" ${u}/api/orders -d '{"item":42}'`,
    '                                                  # 200, weighted 3:1 over two instances; the service sees x-user-id: demo-user',
    `  curl -s -H 'x-api-key: demo-inventory-key' -H 'x-cart-id: c-17' ${u}/api/inventory/items/1`,
    '                                                  # API key -> x-consumer-id: demo-shop; consistent hash on x-cart-id; prefix stripped',
    `  for i in 1 2 3 4 5 6; do curl -si -H 'x-api-key: demo-inventory-key' ${u}/api/inventory/items/1 | grep -iE '^(HTTP|retry-after|ratelimit)'; done`,
    '                                                  # 5 a minute per consumer: 200s, then 429 rate_limited with Retry-After, RateLimit-Policy, RateLimit',
    `  curl -s -H 'x-user-id: root' ${u}/api/users    # a spoofed identity header never reaches the service`,
    `  curl -si -H 'x-request-id: demo-123' ${u}/api/users | grep -i x-request-id   # your request ID, echoed`,
    `  curl -si ${u}/nope                             # 404 route_not_found, JSON error with a request ID`,
    `  curl -s ${gateway.adminUrl ?? ''}/ready`,
    `  curl -s -H "Authorization: Bearer ${adminToken}" ${gateway.adminUrl ?? ''}/status`,
    '',
    traffic
      ? 'The access log is off while the traffic runs (gatehouse demo --no-traffic shows one JSON line per request). Ctrl-C stops everything.'
      : 'Access log lines (one JSON line per request) follow. Ctrl-C stops everything.',
    '',
  ].join('\n') + '\n');
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void (traffic?.stop() ?? Promise.resolve()).then(() => gateway.shutdown()).then(stopServices).then(() => process.exit(0));
  };
  process.on('SIGINT', stop).on('SIGTERM', stop);
}
