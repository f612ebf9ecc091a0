/** `gatehouse start FILE`: run the gateway on a config file. */
import { createLogger } from '../observability/logger.ts';
import { fileSource } from '../process/config-source.ts';
import { runGateway, type GatewayProcess } from '../process/supervisor.ts';
import { parseCommand, portOf, usageError, workersOf, type CommandSpec } from './args.ts';
import { GatewayError } from '../errors.ts';
import { preparePidFile } from './pid-file.ts';

export const startSpec = {
  name: 'start',
  summary: 'Run the gateway on a config file; reload on change or SIGHUP; drain on SIGTERM/SIGINT.',
  usage: `gatehouse start [-c] FILE [--port N] [--workers N|auto] [--pid-file FILE]
  Runs the gateway on FILE; reloads it when it changes or on SIGHUP; drains on SIGTERM/SIGINT; reopens the
  access log file on SIGHUP and SIGUSR2 (log rotation).
  -c, --config FILE   the config file (YAML); "-c" may be left out
  --port N            override listen.port (listen.host still applies: the default 0.0.0.0 is every interface)
  --workers N|auto    override workers
  --pid-file FILE     write the process id to FILE once serving (removed at exit), for logrotate`,
  options: {
    config: { type: 'string', short: 'c' },
    port: { type: 'string' },
    workers: { type: 'string' },
    'pid-file': { type: 'string' },
  },
  positional: 'file',
} as const satisfies CommandSpec;

export async function start(argv: string[]): Promise<GatewayProcess> {
  const { values, file } = parseCommand(startSpec, argv);
  if (!file) throw usageError('start', 'needs a config file, e.g. gatehouse start gatehouse.yaml');
  const overrides = { port: portOf(values.port, '--port'), workers: workersOf(values.workers) };
  const pidFile = values['pid-file'] === undefined ? undefined : preparePidFile(values['pid-file']);
  const gateway = await runGateway(fileSource(file, overrides), createLogger());
  try {
    pidFile?.publish();
  } catch (error) {
    // Started but unfindable: stop rather than run a gateway logrotate cannot signal.
    await gateway.shutdown();
    throw new GatewayError('GW_ERR_STARTUP', `--pid-file ${values['pid-file']}: ${(error as Error).message}`);
  }
  return gateway;
}
