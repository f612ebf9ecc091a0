/**
 * `gatehouse explain -c FILE [METHOD] URL [-H name:value ...]`: which route of FILE would serve the request,
 * its policies in the order they run, its upstream, the path forwarded and the target a fresh balancer picks
 * first. Offline: nothing is sent and no gateway needs to run (GET /explain asks a running one). Exit 0 when a
 * route serves it, 1 when none does, 2 for bad usage or a bad config.
 */
import { formatProblem, loadConfigFile } from '../config/load.ts';
import { HTTP_METHODS } from '../fields/http-fields.ts';
import { explainRequest, type Explanation } from '../admin/explain-request.ts';
import { parseCommand, usageError, type CommandSpec } from './args.ts';
import { GatewayError } from '../errors.ts';

export const explainSpec = {
  name: 'explain',
  summary: 'Show the route, policies, upstream and target a request would get (offline, from a file).',
  usage: `gatehouse explain -c FILE [METHOD] URL [-H name:value ...] [--ip ADDR] [--json]
  Explains a request against FILE without sending it: route, policies in run order, upstream, forwarded
  path, and the target a fresh balancer picks first. Exit 0 when a route serves it, 1 when none does.
  -c, --config FILE   the config file (YAML)
  METHOD              GET (default), POST, ...
  URL                 https://host/path?query (the host is matched like a Host header) or a bare /path
  -H, --header H      a request header, name:value (repeat for more)
  --ip ADDR           the client address, for hashOn: ip (default 127.0.0.1)
  --json              print the explanation as JSON (the shape of the admin API's GET /explain)`,
  options: {
    config: { type: 'string', short: 'c' },
    header: { type: 'string', short: 'H', multiple: true },
    ip: { type: 'string' },
    json: { type: 'boolean' },
  },
  maxPositionals: 2,
} as const satisfies CommandSpec;

function requestOf(positionals: string[], headerFlags: readonly string[]) {
  const [first, second] = positionals;
  if (first === undefined) throw usageError('explain', 'needs a URL, e.g. gatehouse explain -c gatehouse.yaml GET https://api.example.com/users');
  const method = second === undefined ? 'GET' : first.toUpperCase();
  const target = second ?? first;
  if (!(HTTP_METHODS as readonly string[]).includes(method)) throw usageError('explain', `unknown method "${first}" (one of ${HTTP_METHODS.join(', ')})`);
  const headers: Record<string, string> = {};
  for (const h of headerFlags) {
    const colon = h.indexOf(':');
    if (colon < 1) throw usageError('explain', `-H takes name:value, got "${h}"`);
    headers[h.slice(0, colon).trim().toLowerCase()] = h.slice(colon + 1).trim();
  }
  if (target.startsWith('/')) return { method, host: headers.host, path: target, headers };
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw usageError('explain', `"${target}" is not a URL (https://host/path) or a path (/path)`);
  }
  // The raw path as typed: URL() would resolve dot segments the gateway refuses (400 bad_path).
  const raw = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*([^#]*)/i.exec(target)?.[1] || '/';
  return { method, host: url.host, path: raw.startsWith('/') ? raw : `/${raw}`, headers };
}

export function describeExplanation(e: Explanation): string {
  const lines = [`request    ${e.request.method} ${e.request.host ?? '(no host)'}${e.request.path}`];
  if (e.outcome === 'bad_path') return [...lines, 'no route   400 bad_path: the gateway refuses this path'].join('\n');
  if (e.outcome === 'route_not_found') return [...lines, 'no route   404 route_not_found: no route matches the host, path and headers'].join('\n');
  if (e.outcome === 'method_not_allowed') return [...lines, `no route   405 method_not_allowed (Allow: ${e.allow})`].join('\n');
  const { route, upstream, target } = e;
  const policies = route!.policies.map((p, i) => `${i + 1}. ${p.type} (priority ${p.priority}, ${p.from})`).join(', ') || 'none';
  return [
    ...lines,
    `route      ${route!.name}`,
    `policies   ${policies}`,
    `upstream   ${upstream!.name} (${upstream!.balancer}${upstream!.hashKey === null ? '' : `, hash key "${upstream!.hashKey}"`})`,
    `forwarded  ${e.forwardedPath}`,
    `target     ${target!.url ?? 'none'} (${target!.note})`,
  ].join('\n');
}

export async function explainCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(explainSpec, argv);
  if (!values.config) throw usageError('explain', 'needs a config file: -c FILE');
  const request = requestOf(positionals, values.header ?? []);
  const loaded = await loadConfigFile(values.config);
  if (!loaded.ok) throw new GatewayError('GW_ERR_CONFIG_INVALID', loaded.problems.map(formatProblem).join('\n'));
  const explanation = explainRequest(loaded.config, { ...request, clientIp: values.ip }, { offline: true });
  process.stdout.write(values.json ? `${JSON.stringify(explanation, null, 2)}\n` : `${describeExplanation(explanation)}\n`);
  return explanation.outcome === 'found' ? 0 : 1;
}
