/**
 * `gatehouse reload [--admin ADDR]`: asks the running gateway's admin API (POST /reload) to reload its
 * config file now, and prints what changed or why it did not. The token comes from GATEHOUSE_ADMIN_TOKEN
 * (or --token, which other users of the machine can see in the process list). Exit 0 reloaded; 1 when the
 * gateway is not running, refused the token, or kept its config (the problems are printed); 2 bad usage.
 */
import { hostPort, parseCommand, type CommandSpec } from './args.ts';

export const reloadSpec = {
  name: 'reload',
  summary: 'Ask the running gateway to reload its config file now (the admin API\'s POST /reload).',
  usage: `gatehouse reload [--admin ADDR] [--token TOKEN]
  Reloads the running gateway's config file and prints what changed, or every problem (exit 1).
  --admin ADDR        the admin listener: PORT (127.0.0.1:PORT) or HOST:PORT (default: $GATEHOUSE_ADMIN_ADDR,
                      else 127.0.0.1:9901)
  --token TOKEN       the admin token (default: $GATEHOUSE_ADMIN_TOKEN; prefer the variable: flags show in ps)`,
  options: { admin: { type: 'string' }, token: { type: 'string' } },
} as const satisfies CommandSpec;

const TIMEOUT_MS = 30_000;

interface Answer { readonly status: number; readonly body: Record<string, unknown> }

async function postReload(base: string, token: string | undefined): Promise<Answer | string> {
  try {
    const res = await fetch(`${base}/reload`, {
      method: 'POST', headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    const text = await res.text();
    try {
      return { status: res.status, body: JSON.parse(text) as Record<string, unknown> };
    } catch {
      return `${base} answered ${res.status} with something other than the admin API's JSON: is ADDR a Gatehouse admin listener?`;
    }
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
    return `no gateway answers at ${base} (${cause}): is it running, with its admin listener there? Set --admin ADDR (admin.host:admin.port)`;
  }
}

function explain(answer: Answer): { code: number; text: string } {
  const { status, body } = answer;
  if (status === 200) return { code: 0, text: `reloaded: ${String(body.summary ?? 'ok')}` };
  const error = (body.error ?? {}) as { reason?: string; requestId?: string };
  const list = (body.problems ?? body.errors ?? []) as string[];
  if (error.reason === 'admin_unauthorized') {
    return { code: 1, text: 'the gateway refused the admin token: set GATEHOUSE_ADMIN_TOKEN (or --token) to its admin.token' };
  }
  if (error.reason === 'admin_config_invalid') return { code: 1, text: ['not reloaded: the config file has problems; the running config keeps serving', ...list].join('\n') };
  return { code: 1, text: [`not reloaded: ${status} ${error.reason ?? ''} (request ${error.requestId ?? '?'}); the running config keeps serving`, ...list].join('\n') };
}

export async function reloadCommand(argv: string[]): Promise<number> {
  const { values } = parseCommand(reloadSpec, argv);
  const { host, port } = hostPort(values.admin ?? process.env.GATEHOUSE_ADMIN_ADDR ?? '127.0.0.1:9901', '--admin');
  const base = `http://${host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  const answer = await postReload(base, values.token ?? process.env.GATEHOUSE_ADMIN_TOKEN);
  const { code, text } = typeof answer === 'string' ? { code: 1, text: answer } : explain(answer);
  (code === 0 ? process.stdout : process.stderr).write(`${code === 0 ? '' : 'gatehouse reload: '}${text}\n`);
  return code;
}
