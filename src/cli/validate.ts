/** `gatehouse validate -c FILE`: exit 0 when valid, else 2 with every problem as FILE:LINE:COL path: message. */
import { formatProblem, loadConfigFile } from '../config/load.ts';
import { GatewayError } from '../errors.ts';
import { parse } from './args.ts';

export const validateUsage = `gatehouse validate -c FILE
  Checks FILE and prints every problem as FILE:LINE:COL path.to.key: message (exit 2), or "ok" (exit 0).`;

export async function validate(argv: string[]): Promise<number> {
  const { values } = parse(argv, { config: { type: 'string', short: 'c' } });
  if (!values.config) throw new GatewayError('GW_ERR_USAGE', 'validate needs a config file: gatehouse validate -c gatehouse.yaml');
  const result = await loadConfigFile(values.config);
  if (result.ok) {
    const { routes, upstreams } = result.config;
    process.stdout.write(`${values.config}: ok (${routes.length} routes, ${Object.keys(upstreams).length} upstreams)\n`);
    return 0;
  }
  for (const problem of result.problems) process.stderr.write(`${formatProblem(problem)}\n`);
  process.stderr.write(`${values.config}: ${result.problems.length} problem${result.problems.length === 1 ? '' : 's'}\n`);
  return 2;
}
