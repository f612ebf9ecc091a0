/**
 * `gatehouse proxy --listen HOST:PORT --to URL [--to URL ...]`: the one-line quick start (Caddy's
 * reverse-proxy). One catch-all route, round-robin over the targets, the same defaults as any route.
 */
import { configSchema, type Config } from '../config/schema.ts';
import { GatewayError } from '../errors.ts';
import { createLogger } from '../observability/logger.ts';
import { memorySource } from '../process/config-source.ts';
import { runGateway, type GatewayProcess } from '../process/supervisor.ts';
import { hostPort, parse, workersOf } from './args.ts';

export const proxyUsage = `gatehouse proxy --listen HOST:PORT --to URL [--to URL ...] [--admin HOST:PORT] [--workers N|auto]
  Proxies every request on HOST:PORT to the targets, round-robin, with request IDs, trace context and the
  access log on. --admin defaults to 127.0.0.1:9901; "--admin off" disables it.`;

function proxyConfig(argv: string[]): Config {
  const { values } = parse(argv, {
    listen: { type: 'string', default: '127.0.0.1:8080' },
    to: { type: 'string', multiple: true },
    admin: { type: 'string', default: '127.0.0.1:9901' },
    workers: { type: 'string' },
  });
  if (!values.to?.length) throw new GatewayError('GW_ERR_USAGE', 'proxy needs at least one --to URL, e.g. --to http://127.0.0.1:7001');
  const admin = values.admin === 'off' ? { enabled: false } : { enabled: true, ...hostPort(values.admin, '--admin') };
  const parsed = configSchema.safeParse({
    listen: hostPort(values.listen, '--listen'),
    admin,
    workers: workersOf(values.workers) ?? 1,
    upstreams: { default: { targets: values.to.map((url) => ({ url })) } },
    routes: [{ name: 'default', match: { path: '/' }, upstream: 'default' }],
  });
  if (!parsed.success) {
    const details = parsed.error.issues.map((i) => `${i.path.join('.').replace(/^upstreams\.default\.targets\.(\d+)\.url$/, (_m, n: string) => `--to #${Number(n) + 1}`)}: ${i.message}`);
    throw new GatewayError('GW_ERR_USAGE', details.join('\n'));
  }
  return parsed.data;
}

export async function proxy(argv: string[]): Promise<GatewayProcess> {
  return runGateway(memorySource(proxyConfig(argv)), createLogger());
}
