/** `gatehouse start -c FILE`: run the gateway on a config file. */
import { createLogger } from '../observability/logger.ts';
import { fileSource } from '../process/config-source.ts';
import { runGateway, type GatewayProcess } from '../process/supervisor.ts';
import { parse, portOf, workersOf } from './args.ts';
import { GatewayError } from '../errors.ts';
import { preparePidFile } from './pid-file.ts';

export const startUsage = `gatehouse start -c FILE [--port N] [--workers N|auto] [--pid-file FILE]
  Runs the gateway on FILE; reloads it when it changes or on SIGHUP; drains on SIGTERM/SIGINT; reopens the
  access log file on SIGHUP and SIGUSR2 (log rotation).
  -c, --config FILE   the config file (YAML)
  --port N            override listen.port
  --workers N|auto    override workers
  --pid-file FILE     write the process id to FILE once serving (removed at exit), for logrotate`;

export async function start(argv: string[]): Promise<GatewayProcess> {
  const { values } = parse(argv, {
    config: { type: 'string', short: 'c' },
    port: { type: 'string' },
    workers: { type: 'string' },
    'pid-file': { type: 'string' },
  });
  if (!values.config) throw new GatewayError('GW_ERR_USAGE', 'start needs a config file: gatehouse start -c gatehouse.yaml');
  const overrides = { port: portOf(values.port, '--port'), workers: workersOf(values.workers) };
  const pidFile = values['pid-file'] === undefined ? undefined : preparePidFile(values['pid-file']);
  const gateway = await runGateway(fileSource(values.config, overrides), createLogger());
  try {
    pidFile?.publish();
  } catch (error) {
    // Started but unfindable: stop rather than run a gateway logrotate cannot signal.
    await gateway.shutdown();
    throw new GatewayError('GW_ERR_STARTUP', `--pid-file ${values['pid-file']}: ${(error as Error).message}`);
  }
  return gateway;
}
