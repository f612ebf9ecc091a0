/**
 * Binding a listener, and what to tell the operator when it cannot: a port in use or a bind the system
 * refuses becomes one GW_ERR_LISTEN error naming the listener, the address and the cause (Node's own error,
 * a stack trace with an errno, says none of that in words). Any other error is passed on unchanged.
 */
import { once } from 'node:events';
import type { AddressInfo, Server } from 'node:net';
import { GatewayError } from '../errors.ts';

/** The three listeners a gateway process can open; the names are what messages and the startup log say. */
export type ListenerName = 'gateway' | 'admin' | 'redirect';

/** The bind failures an operator fixes by choosing another address, in words. */
const causes: Readonly<Record<string, string>> = {
  EADDRINUSE: 'the port is already in use (EADDRINUSE)',
  EACCES: 'permission denied (EACCES; ports below 1024 need privileges)',
  EADDRNOTAVAIL: 'the address is not one of this machine\'s (EADDRNOTAVAIL)',
};

/** A listener that could not bind; `hostProblem` when the host, not the port, is what to change. */
export class ListenError extends GatewayError {
  readonly listener: ListenerName;
  readonly hostProblem: boolean;
  constructor(listener: ListenerName, message: string, hostProblem: boolean, options?: { cause?: unknown }) {
    super('GW_ERR_LISTEN', message, options);
    this.listener = listener;
    this.hostProblem = hostProblem;
  }
}

/** "0.0.0.0:8484", "[::]:8484", "127.0.0.1:9901". */
export function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** True for addresses only this machine can reach (127.0.0.0/8, ::1, their IPv4-mapped form, localhost). */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^::ffff:/, '');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** True for the wildcard addresses that mean every interface. */
export function isEveryInterface(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}

/** The GW_ERR_LISTEN error for `error` on `listener` at host:port, or undefined if it is not a bind failure. */
export function listenError(listener: ListenerName, host: string, port: number, error: unknown): ListenError | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const cause = code === undefined ? undefined : causes[code];
  if (cause === undefined) return undefined;
  const message = `${listener} listener cannot bind ${formatAddress(host, port)}: ${cause}`;
  return new ListenError(listener, message, code === 'EADDRNOTAVAIL', { cause: error });
}

/** Listens on host:port and resolves with the address bound; a bind failure rejects with a ListenError. */
export async function bind(server: Server, listener: ListenerName, port: number, host: string): Promise<AddressInfo> {
  server.listen(port, host);
  try {
    await once(server, 'listening');
  } catch (error) {
    throw listenError(listener, host, port, error) ?? error;
  }
  return server.address() as AddressInfo;
}
