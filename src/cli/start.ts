/** `gatehouse start -c FILE`: run the gateway on a config file. */
import { createLogger } from '../observability/logger.ts';
import { fileSource } from '../process/config-source.ts';
import { runGateway, type GatewayProcess } from '../process/supervisor.ts';
import { parse, portOf, workersOf } from './args.ts';
import { GatewayError } from '../errors.ts';

export const startUsage = `gatehouse start -c FILE [--port N] [--workers N|auto]
  Runs the gateway on FILE; reloads it when it changes or on SIGHUP; drains on SIGTERM/SIGINT.
  -c, --config FILE   the config file (YAML)
  --port N            override listen.port
  --workers N|auto    override workers`;

export async function start(argv: string[]): Promise<GatewayProcess> {
  const { values } = parse(argv, {
    config: { type: 'string', short: 'c' },
    port: { type: 'string' },
    workers: { type: 'string' },
  });
  if (!values.config) throw new GatewayError('GW_ERR_USAGE', 'start needs a config file: gatehouse start -c gatehouse.yaml');
  const overrides = { port: portOf(values.port, '--port'), workers: workersOf(values.workers) };
  return runGateway(fileSource(values.config, overrides), createLogger());
}
