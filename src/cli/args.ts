/** Shared flag parsing: node:util parseArgs in strict mode, so unknown flags are errors. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { GatewayError } from '../errors.ts';

export function parse<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals });
  } catch (error) {
    throw new GatewayError('GW_ERR_USAGE', (error as Error).message);
  }
}

export function portOf(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new GatewayError('GW_ERR_USAGE', `${flag} must be a port number (0-65535), got "${value}"`);
  return port;
}

/** "host:port", "[v6]:port" or ":port" -> parts. */
export function hostPort(value: string, flag: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(value);
  if (!m) throw new GatewayError('GW_ERR_USAGE', `${flag} must be HOST:PORT, got "${value}"`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port: portOf(m[3], flag)! };
}

export function workersOf(value: string | undefined): number | 'auto' | undefined {
  if (value === undefined || value === 'auto') return value;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new GatewayError('GW_ERR_USAGE', `--workers must be a positive integer or "auto", got "${value}"`);
  return n;
}
