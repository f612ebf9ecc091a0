/**
 * `gatehouse demo [--port N]`: the demo services plus Gatehouse on examples/demo.yaml, with ready-made curl
 * lines. Ctrl-C drains the gateway and stops the services.
 */
import { styleText } from 'node:util';
import { startDemoServices } from './demo-services.ts';
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
  usage: `gatehouse demo [--port N] [--admin-port N]
  Starts three demo services (users, orders, inventory; two instances each) on 127.0.0.1:7101-7106 and
  Gatehouse in front of them on examples/demo.yaml. Ctrl-C stops everything.
  --port N            the gateway's port (default 8080)
  --admin-port N      the admin listener's port (default 9901)`,
  options: { port: { type: 'string' }, 'admin-port': { type: 'string' } },
} as const satisfies CommandSpec;

export async function demo(argv: string[]): Promise<void> {
  const { values } = parseCommand(demoSpec, argv);
  const stopServices = await startDemoServices();
  const log = createLogger('warn');
  const overrides = { port: portOf(values.port, '--port'), adminPort: portOf(values['admin-port'], '--admin-port') };
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
  process.stdout.write([
    '',
    `${b('Gatehouse demo')} is running on ${b(u)} (admin ${gateway.adminUrl ?? 'off'}), config ${demoConfigFile}`,
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
    '',
    'Access log lines (one JSON line per request) follow. Ctrl-C stops everything.',
    '',
  ].join('\n') + '\n');
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void gateway.shutdown().then(stopServices).then(() => process.exit(0));
  };
  process.on('SIGINT', stop).on('SIGTERM', stop);
}
