/**
 * `gatehouse proxy --to URL [--to URL ...] [--listen ADDR] [--admin ADDR [--admin-token TOKEN]]`: the one-line quick start (Caddy's
 * reverse-proxy). One catch-all route, round-robin over the targets, the same defaults as any route.
 */
import { configSchema, type Config } from '../config/schema.ts';
import { GatewayError } from '../errors.ts';
import { createLogger } from '../observability/logger.ts';
import { configFileHints, memorySource } from '../process/config-source.ts';
import { runGateway, type GatewayProcess } from '../process/supervisor.ts';
import { hostPort, parseCommand, usageError, workersOf, type CommandSpec } from './args.ts';

export const proxySpec = {
  name: 'proxy',
  summary: 'Proxy every request on one address to one or more targets, no config file needed.',
  usage: `gatehouse proxy --to URL [--to URL ...] [--listen ADDR] [--admin ADDR] [--admin-token TOKEN] [--workers N|auto]
  Proxies every request on ADDR to the targets, round-robin, with request IDs, trace context and the
  access log on.
  --listen ADDR       where to listen (default 127.0.0.1:8080). ADDR is PORT (127.0.0.1:PORT, this machine
                      only), :PORT (every interface: reachable from other machines) or HOST:PORT
  --to URL            a target (repeat for more)
  --admin ADDR        open the admin listener (/live, /ready and the admin API) on ADDR, same forms as
                      --listen; none unless asked. An ADDR other machines reach needs a token
  --admin-token TOKEN the admin API's bearer token, at least 16 characters (default: $GATEHOUSE_ADMIN_TOKEN;
                      prefer the variable: flags show in ps)
  --workers N|auto    worker processes (default 1)`,
  options: {
    listen: { type: 'string', default: '127.0.0.1:8080' },
    to: { type: 'string', multiple: true },
    admin: { type: 'string' },
    'admin-token': { type: 'string' },
    workers: { type: 'string' },
  },
} as const satisfies CommandSpec;

function proxyConfig(argv: string[]): Config {
  const { values } = parseCommand(proxySpec, argv);
  if (!values.to?.length) throw usageError('proxy', 'needs at least one --to URL, e.g. --to http://127.0.0.1:7001');
  // No admin listener unless asked: two quick-start proxies must not both claim 9901. "off" is the old spelling of none.
  const token = values['admin-token'] ?? (process.env.GATEHOUSE_ADMIN_TOKEN || undefined);
  const admin = values.admin === undefined || values.admin === 'off' ? { enabled: false } : { enabled: true, ...hostPort(values.admin, '--admin'), token };
  const parsed = configSchema.safeParse({
    listen: hostPort(values.listen, '--listen'),
    admin,
    workers: workersOf(values.workers) ?? 1,
    upstreams: { default: { targets: values.to.map((url) => ({ url })) } },
    routes: [{ name: 'default', match: { path: '/' }, upstream: 'default' }],
  });
  if (!parsed.success) {
    const details = parsed.error.issues.map((i) => flagProblem(i.path.join('.'), i.message));
    throw new GatewayError('GW_ERR_USAGE', details.join('\n'));
  }
  return parsed.data;
}

/** A config problem in the words of the flags that made the config. */
function flagProblem(path: string, message: string): string {
  if (path === 'admin.host') {
    return '--admin: an address other machines reach needs the admin token, or anyone who reaches it could reload the gateway: ' +
      'set GATEHOUSE_ADMIN_TOKEN (or --admin-token TOKEN), or give --admin a loopback address (PORT or 127.0.0.1:PORT). Earlier versions accepted this (see CHANGELOG.md)';
  }
  if (path === 'admin.token') return `--admin-token: ${message.replace(/^admin\.token /, '')}`;
  return `${path.replace(/^upstreams\.default\.targets\.(\d+)\.url$/, (_m, n: string) => `--to #${Number(n) + 1}`)}: ${message}`;
}

export async function proxy(argv: string[]): Promise<GatewayProcess> {
  const hints = { ...configFileHints, gateway: { port: '--listen', host: '--listen' }, admin: { port: '--admin', host: '--admin' } };
  return runGateway(memorySource(proxyConfig(argv), hints), createLogger());
}
