/**
 * The one command-line parser every subcommand goes through (node:util parseArgs underneath), so every
 * usage error reads the same: `gatehouse CMD: <what> (see gatehouse CMD --help)`, exit 2. Each command
 * declares a CommandSpec; `--help`/`-h` is added to every command here, and a command that takes a config
 * file accepts it as `-c FILE` or as one positional FILE.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { GatewayError } from '../errors.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

export interface CommandSpec<O extends Options = Options> {
  /** The subcommand as typed: "start"; "" for `gatehouse` itself. */
  readonly name: string;
  /** One line for `gatehouse --help`. */
  readonly summary: string;
  /** What `gatehouse CMD --help` prints: the synopsis, then one line per flag. */
  readonly usage: string;
  readonly options: O;
  /** `file`: one positional FILE that stands for `-c FILE`; `one`: one free positional (hash-key's KEY). */
  readonly positional?: 'file' | 'one';
  /** Free positionals allowed (explain's METHOD URL); default 1 with `positional`, else 0. */
  readonly maxPositionals?: number;
}

const helpOption = { help: { type: 'boolean', short: 'h' } } as const;

/** The usage error of `spec`'s command, pointing to its --help. */
export function usageError(command: string, what: string): GatewayError {
  const name = command ? `gatehouse ${command}` : 'gatehouse';
  return new GatewayError('GW_ERR_USAGE', `${name}: ${what} (see ${name} --help)`);
}

/**
 * Checks the flags without parsing values: an unknown flag, a flag without its value (or whose value is
 * another flag), a switch given a value. Returns whether --help was asked for. Non-strict tokens are used
 * so the message can name the flag exactly as typed, in the same words for every command.
 */
export function checkFlags(spec: CommandSpec, argv: string[]): { help: boolean } {
  const options: Options = { ...spec.options, ...helpOption };
  const { tokens } = parseArgs({ args: argv, options, strict: false, allowPositionals: true, tokens: true });
  let help = false;
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    const option = options[token.name];
    if (!option) throw usageError(spec.name, `unknown flag "${token.rawName}"`);
    if (token.name === 'help') help = true;
    if (option.type === 'boolean' && token.value !== undefined) throw usageError(spec.name, `flag ${token.rawName} takes no value`);
    if (option.type === 'string' && token.value === undefined) throw usageError(spec.name, `flag ${token.rawName} needs a value`);
    if (option.type === 'string' && !token.inlineValue && token.value!.startsWith('-') && token.value !== '-') {
      throw usageError(spec.name, `flag ${token.rawName} needs a value, got the flag "${token.value}"`);
    }
  }
  return { help };
}

/** Parses `argv` for `spec` (after checkFlags' checks); `file` is -c FILE or the positional FILE. */
export function parseCommand<O extends Options>(spec: CommandSpec<O>, argv: string[]) {
  checkFlags(spec, argv);
  const options = { ...spec.options, ...helpOption };
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: true });
  } catch (error) {
    // checkFlags catches what strict parsing refuses; this is the fallback for anything it does not know.
    throw usageError(spec.name, (error as Error).message.split('\n')[0]!);
  }
  const { values, positionals } = parsed;
  const limit = spec.maxPositionals ?? (spec.positional ? 1 : 0);
  if (positionals.length > limit) throw usageError(spec.name, `unexpected argument "${positionals[limit]}"`);
  const config = 'config' in values ? values.config as string | undefined : undefined;
  if (spec.positional === 'file' && config !== undefined && positionals[0] !== undefined) {
    throw usageError(spec.name, `the config file is given twice ("${config}" and "${positionals[0]}")`);
  }
  const file = spec.positional === 'file' ? positionals[0] ?? config : undefined;
  return { values, positionals, file };
}

export function portOf(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new GatewayError('GW_ERR_USAGE', `${flag} must be a port number (0-65535), got "${value}"`);
  return port;
}

/**
 * A listen address: "PORT" is 127.0.0.1:PORT (loopback: nothing is exposed unless asked), ":PORT" every
 * interface (0.0.0.0), "HOST:PORT" and "[V6]:PORT" that address.
 */
export function hostPort(value: string, flag: string): { host: string; port: number } {
  if (/^\d+$/.test(value)) return { host: '127.0.0.1', port: portOf(value, flag)! };
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(value);
  if (!m) throw new GatewayError('GW_ERR_USAGE', `${flag} must be PORT, :PORT or HOST:PORT, got "${value}"`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port: portOf(m[3], flag)! };
}

export function workersOf(value: string | undefined): number | 'auto' | undefined {
  if (value === undefined || value === 'auto') return value;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new GatewayError('GW_ERR_USAGE', `--workers must be a positive integer or "auto", got "${value}"`);
  return n;
}
