/** `gatehouse validate FILE`: exit 0 when valid, else 2 with every problem as FILE:LINE:COL path: message. */
import { formatProblem, loadConfigFile } from '../config/load.ts';
import { parseCommand, usageError, type CommandSpec } from './args.ts';

export const validateSpec = {
  name: 'validate',
  summary: 'Check a config file and print every problem as FILE:LINE:COL path: message.',
  usage: `gatehouse validate [-c] FILE
  Checks FILE and prints every problem as FILE:LINE:COL path.to.key: message (exit 2), or "ok" (exit 0).
  -c, --config FILE   the config file (YAML); "-c" may be left out`,
  options: { config: { type: 'string', short: 'c' } },
  positional: 'file',
} as const satisfies CommandSpec;

export async function validate(argv: string[]): Promise<number> {
  const { file } = parseCommand(validateSpec, argv);
  if (!file) throw usageError('validate', 'needs a config file, e.g. gatehouse validate gatehouse.yaml');
  const result = await loadConfigFile(file);
  if (result.ok) {
    const { routes, upstreams } = result.config;
    process.stdout.write(`${file}: ok (${routes.length} routes, ${Object.keys(upstreams).length} upstreams)\n`);
    return 0;
  }
  for (const problem of result.problems) process.stderr.write(`${formatProblem(problem)}\n`);
  process.stderr.write(`${file}: ${result.problems.length} problem${result.problems.length === 1 ? '' : 's'}\n`);
  return 2;
}
