/**
 * Process entry: argv -> a command. Exit codes: 0 ok, 2 bad usage or bad config, 1 runtime failure.
 * Cluster workers re-run this file and go straight to serving what the primary sends.
 */
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { styleText } from 'node:util';
import { checkFlags, usageError, type CommandSpec } from './cli/args.ts';
import { demo, demoSpec } from './cli/demo.ts';
import { explainCommand, explainSpec } from './cli/explain.ts';
import { hashKeyCommand, hashKeySpec } from './cli/hash-key.ts';
import { healthCommand, healthSpec } from './cli/health.ts';
import { tokenCommand, tokenSpec } from './cli/token.ts';
import { proxy, proxySpec } from './cli/proxy.ts';
import { reloadCommand, reloadSpec } from './cli/reload.ts';
import { schemaCommand, schemaSpec } from './cli/schema.ts';
import { start, startSpec } from './cli/start.ts';
import { validate, validateSpec } from './cli/validate.ts';
import { GatewayError, type ErrorCode } from './errors.ts';
import { createLogger } from './observability/logger.ts';
import { runWorker } from './process/worker.ts';

const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Every subcommand: its spec (name, one-line summary, usage, flags) and what runs it (undefined: keeps running). */
const commands: ReadonlyArray<{ readonly spec: CommandSpec; run(argv: string[]): Promise<number | undefined> }> = [
  { spec: startSpec, run: async (argv) => void await start(argv) },
  { spec: validateSpec, run: validate },
  { spec: proxySpec, run: async (argv) => void await proxy(argv) },
  { spec: demoSpec, run: async (argv) => void await demo(argv) },
  { spec: tokenSpec, run: (argv) => tokenCommand(argv) },
  { spec: hashKeySpec, run: hashKeyCommand },
  { spec: schemaSpec, run: async (argv) => schemaCommand(argv) },
  { spec: healthSpec, run: healthCommand },
  { spec: reloadSpec, run: reloadCommand },
  { spec: explainSpec, run: explainCommand },
];

const topSpec: CommandSpec = {
  name: '',
  summary: '',
  usage: '',
  options: { version: { type: 'boolean', short: 'v' } },
};

const rows = (list: ReadonlyArray<readonly [string, string]>, width: number) => list.map(([left, right]) => `  ${left.padEnd(width)}   ${right}`).join('\n');
const commandRows = commands.map(({ spec }) => [spec.name, spec.summary] as const);
const flagRows = [['-h, --help', 'this text; gatehouse COMMAND --help: that command\'s flags'], ['-v, --version', 'the version']] as const;
const width = Math.max(...[...commandRows, ...flagRows].map(([left]) => left.length));
const help = `Gatehouse ${version}: an API gateway.

Usage: gatehouse COMMAND [flags]

Commands:
${rows(commandRows, width)}

Flags:
${rows(flagRows, width)}

Docs: docs/configuration.md (every config key), docs/policies.md (every policy), docs/reasons.md (every
error reason), docs/security.md (the trust model), docs/operations.md (running it), docs/admin-api.md
(the admin API).
`;

async function main(argv: string[]): Promise<number | undefined> {
  const [first, ...rest] = argv;
  const named = commands.find((c) => c.spec.name === first);
  if (named) {
    if (checkFlags(named.spec, rest).help) {
      process.stdout.write(`${named.spec.usage}\n`);
      return 0;
    }
    return named.run(rest);
  }
  if (first === 'help') {
    const about = commands.find((c) => c.spec.name === rest[0]);
    if (rest[0] !== undefined && !about) throw usageError('', `unknown command "${rest[0]}"`);
    process.stdout.write(about ? `${about.spec.usage}\n` : help);
    return 0;
  }
  if (first !== undefined && !first.startsWith('-')) throw usageError('', `unknown command "${first}"`);
  checkFlags(topSpec, argv);
  if (argv.includes('--version') || argv.includes('-v')) {
    process.stdout.write(`${version}\n`);
    return 0;
  }
  process.stdout.write(help);
  return 0;
}

/** Codes for a failure at run time (exit 1); every other code is bad usage or bad config (exit 2). */
const runtimeCodes: ReadonlySet<ErrorCode> = new Set(['GW_ERR_LISTEN']);
/** Codes whose message is a list printed as is (one problem a line); the others are one line with the code. */
const listCodes: ReadonlySet<ErrorCode> = new Set(['GW_ERR_USAGE', 'GW_ERR_CONFIG_INVALID']);

/** One line for the user; a stack only on request (GATEHOUSE_DEBUG=1), since an unexpected error is a bug to report. */
function report(error: unknown): number {
  const prefix = `${styleText('red', 'gatehouse:')} `;
  if (error instanceof GatewayError) {
    // Usage errors already start with the command they are about ("gatehouse start: ...").
    const lead = error.message.startsWith('gatehouse') ? '' : prefix;
    process.stderr.write(`${lead}${listCodes.has(error.code) ? '' : `${error.code} `}${error.message}\n`);
    return runtimeCodes.has(error.code) ? 1 : 2;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`${prefix}${message}${process.env.GATEHOUSE_DEBUG ? '' : ' (GATEHOUSE_DEBUG=1 prints the stack)'}\n`);
  if (process.env.GATEHOUSE_DEBUG && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  return 1;
}

if (cluster.isWorker) {
  runWorker(createLogger('info', { worker: true }));
} else {
  // `gatehouse schema | head` closes the pipe early: that is the reader being done, not a failure to report.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  });
  main(process.argv.slice(2)).then((code) => {
    if (code !== undefined) process.exitCode = code;
  }, (error: unknown) => {
    process.exitCode = report(error);
  });
}
