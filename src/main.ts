/**
 * Process entry: argv -> a command. Exit codes: 0 ok, 2 bad usage or bad config, 1 runtime failure.
 * Cluster workers re-run this file and go straight to serving what the primary sends.
 */
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { styleText } from 'node:util';
import { demo, demoUsage } from './cli/demo.ts';
import { hashKeyCommand, hashKeyUsage } from './cli/hash-key.ts';
import { healthCommand, healthUsage } from './cli/health.ts';
import { tokenCommand, tokenUsage } from './cli/token.ts';
import { proxy, proxyUsage } from './cli/proxy.ts';
import { schemaCommand, schemaUsage } from './cli/schema.ts';
import { start, startUsage } from './cli/start.ts';
import { validate, validateUsage } from './cli/validate.ts';
import { GatewayError } from './errors.ts';
import { createLogger } from './observability/logger.ts';
import { runWorker } from './process/worker.ts';

const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const usages = [startUsage, validateUsage, proxyUsage, demoUsage, hashKeyUsage, tokenUsage, schemaUsage, healthUsage, 'gatehouse --help | --version'];

const help = `Gatehouse ${version}: an API gateway.

Usage:
  ${usages.map((usage) => usage.replaceAll('\n', '\n  ')).join('\n\n  ')}

Docs: docs/configuration.md (every config key), docs/policies.md (every policy), docs/reasons.md (every
error reason), docs/security.md (the trust model).
`;

async function main(argv: string[]): Promise<number | undefined> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(help);
      return 0;
    case '--version':
    case '-v':
      process.stdout.write(`${version}\n`);
      return 0;
    case 'start':
      await start(rest);
      return undefined;
    case 'validate':
      return validate(rest);
    case 'proxy':
      await proxy(rest);
      return undefined;
    case 'token':
      return tokenCommand(rest);
    case 'hash-key':
      return hashKeyCommand(rest);
    case 'health':
      return healthCommand(rest);
    case 'schema':
      return schemaCommand(rest);
    case 'demo':
      await demo(rest);
      return undefined;
    default:
      throw new GatewayError('GW_ERR_USAGE', `unknown command or flag "${command}" (see gatehouse --help)`);
  }
}

if (cluster.isWorker) {
  runWorker(createLogger('info', { worker: true }));
} else {
  main(process.argv.slice(2)).then((code) => {
    if (code !== undefined) process.exitCode = code;
  }, (error: unknown) => {
    const code = error instanceof GatewayError ? 2 : 1;
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`${styleText('red', 'gatehouse:')} ${message}\n`);
    if (code === 1 && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    process.exitCode = code;
  });
}
