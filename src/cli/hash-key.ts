/**
 * `gatehouse hash-key [KEY]`: prints the SHA-256 hash of an API key in the form api-key-auth's config takes.
 * Without KEY it reads one line from stdin when stdin is piped (so the key stays out of shell history); with
 * nothing there either it generates a new random key and prints both.
 */
import { randomBytes } from 'node:crypto';
import { text } from 'node:stream/consumers';
import { GatewayError } from '../errors.ts';
import { hashKey } from '../policies/api-key-auth.ts';
import { parseCommand, type CommandSpec } from './args.ts';

export const hashKeySpec = {
  name: 'hash-key',
  summary: 'Print the sha256 form of an API key for api-key-auth (or generate a new key).',
  usage: `gatehouse hash-key [KEY]
  Prints "sha256:<hex>" for KEY (or for the first line of stdin when piped), for api-key-auth's consumers[].keys.
  With no KEY and nothing on stdin, generates a new random key and prints the key and its hash.`,
  options: {},
  positional: 'one',
} as const satisfies CommandSpec;

export async function hashKeyCommand(argv: string[]): Promise<number> {
  const { positionals } = parseCommand(hashKeySpec, argv);
  let key = positionals[0];
  if (key === undefined && !process.stdin.isTTY) key = (await text(process.stdin)).split(/\r?\n/)[0] || undefined;
  if (key === undefined) {
    const generated = newKey();
    process.stdout.write(`key:  ${generated}\nhash: ${hashKey(generated)}\n`);
    return 0;
  }
  if (key === '') throw new GatewayError('GW_ERR_USAGE', 'the key is empty');
  process.stdout.write(`${hashKey(key)}\n`);
  return 0;
}

/**
 * A random key (24 bytes, base64url). Never one that starts with "-": pasted as `gatehouse hash-key KEY` or
 * into another command's argument it would read as a flag (1 key in 64 did; CI caught it in cli.test.ts).
 */
export function newKey(): string {
  for (;;) {
    const key = randomBytes(24).toString('base64url');
    if (!key.startsWith('-')) return key;
  }
}
