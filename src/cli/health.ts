/**
 * `gatehouse health [--admin HOST:PORT]`: asks the admin listener's GET /ready, for a container HEALTHCHECK or
 * any supervisor. One line out; exit 0 when ready, 1 when not ready (503 while starting or draining), unreachable,
 * or silent past the timeout. A bad flag is a usage error (exit 2), as everywhere in the CLI.
 */
import http from 'node:http';
import { hostPort, parseCommand, type CommandSpec } from './args.ts';

export const healthSpec = {
  name: 'health',
  summary: 'Ask the admin listener\'s /ready (a container HEALTHCHECK): exit 0 ready, 1 not.',
  usage: `gatehouse health [--admin ADDR]
  Asks the admin listener's /ready: prints one line, exits 0 when ready, 1 when not (or unreachable).
  --admin ADDR        the admin listener: PORT (127.0.0.1:PORT) or HOST:PORT (default 127.0.0.1:9901)`,
  options: { admin: { type: 'string' } },
} as const satisfies CommandSpec;

const DEFAULT_ADMIN = '127.0.0.1:9901';
/** Under Docker's default HEALTHCHECK timeout (30 s) and a kubelet's, so this process reports before being killed. */
const TIMEOUT_MS = 3000;

interface Outcome { readonly ready: boolean; readonly line: string }

function askReady(host: string, port: number): Promise<Outcome> {
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  return new Promise((resolve) => {
    const req = http.get({ host, port, path: '/ready', agent: false, timeout: TIMEOUT_MS }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      resolve(status === 200
        ? { ready: true, line: `ready: ${where}/ready answered 200` }
        : { ready: false, line: `not ready: ${where}/ready answered ${status}` });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
    req.on('error', (error: NodeJS.ErrnoException) => {
      resolve({ ready: false, line: `not ready: admin listener ${where} unreachable (${error.code ?? error.message})` });
    });
  });
}

export async function healthCommand(argv: string[]): Promise<number> {
  const { values } = parseCommand(healthSpec, argv);
  const { host, port } = hostPort(values.admin ?? DEFAULT_ADMIN, '--admin');
  const outcome = await askReady(host, port);
  (outcome.ready ? process.stdout : process.stderr).write(`${outcome.line}\n`);
  return outcome.ready ? 0 : 1;
}
