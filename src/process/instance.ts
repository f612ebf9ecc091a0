/**
 * One serving instance: a Gateway behind a listening HTTP server, or behind the HTTPS listener (plus its
 * optional HTTP redirect listener) when listen.tls is set. Both the single-process mode and every cluster
 * worker run exactly this; config loading and watching live above it (supervisor.ts).
 */
import type http from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import type { Config } from '../config/schema.ts';
import { createLogger, type Logger } from '../observability/logger.ts';
import { Gateway } from '../runtime/gateway.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { applyServerSettings, createGatewayServer, type ReloadableServer } from '../server/http-server.ts';
import { startRedirectListener } from '../server/https-redirect.ts';
import { bind, formatAddress, isEveryInterface, isLoopback, type ListenerName } from '../server/listen.ts';
import { createTlsListener, type TlsListener } from '../server/tls-server.ts';

export interface Instance {
  readonly gateway: Gateway;
  readonly server: Server;
  readonly address: AddressInfo;
  /** The HTTP-to-HTTPS redirect listener's address, when listen.tls.redirectHttp is set. */
  readonly redirectAddress: AddressInfo | undefined;
  /** The gateway listener and, when set, the redirect listener, as bound. */
  readonly listeners: readonly BoundListener[];
  /**
   * Swaps in a new config; throws (old config keeps serving) if the runtime cannot be built. `listen` (TLS
   * settings included) is kept from the start; the certificate files are re-read.
   */
  reload(config: Config): void;
  /** The second half of a reload: swaps in a runtime from gateway.prepare() and applies its server settings. */
  commit(prepared: Runtime): void;
  /** Stops accepting, lets in-flight requests finish (bounded by server.drainTimeout), closes pools. */
  shutdown(): Promise<{ drained: boolean }>;
}

interface Listener {
  readonly server: Server & ReloadableServer;
  closeIdleConnections(): void;
  closeAllConnections(): void;
}

function plainListener(server: http.Server): Listener {
  return { server, closeIdleConnections: () => server.closeIdleConnections(), closeAllConnections: () => server.closeAllConnections() };
}

/** The URL a client on this machine reaches a listener on `host`:`port` by (0.0.0.0 through 127.0.0.1). */
export function listenerUrl(scheme: 'http' | 'https', host: string, port: number): string {
  const name = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `${scheme}://${name.includes(':') ? `[${name}]` : name}:${port}`;
}

/** One listener as the startup log shows it: what is really bound, and whether other machines can reach it. */
export interface BoundListener {
  readonly name: ListenerName;
  /** The address bound, as the system reports it: "0.0.0.0:8484", "[::]:8484", "127.0.0.1:9901". */
  readonly address: string;
  /** The URL a client on this machine uses. */
  readonly url: string;
  /** Bound to an address other than loopback: reachable from other machines. */
  readonly exposed: boolean;
  readonly everyInterface: boolean;
}

export function boundListener(name: ListenerName, scheme: 'http' | 'https', host: string, port: number): BoundListener {
  return {
    name,
    address: formatAddress(host, port),
    url: listenerUrl(scheme, host, port),
    exposed: !isLoopback(host),
    everyInterface: isEveryInterface(host),
  };
}

function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => server.close(() => resolve()));
}

/** `log` receives the HTTPS listener's certificate reload errors (default: a process logger at log.level). */
export async function startInstance(config: Config, log?: Logger): Promise<Instance> {
  const gateway = new Gateway(config);
  const tlsConfig = config.listen.tls;
  let tls: TlsListener | undefined;
  let redirect: http.Server | undefined;
  let listener: Listener;
  try {
    tls = tlsConfig ? createTlsListener(gateway, tlsConfig, log ?? createLogger(config.log.level)) : undefined;
    listener = tls ?? plainListener(createGatewayServer(gateway));
    const { port } = await bind(listener.server, 'gateway', config.listen.port, config.listen.host);
    if (tlsConfig?.redirectHttp) redirect = await startRedirectListener(tlsConfig.redirectHttp, port, gateway);
  } catch (error) {
    if (tls?.server.listening) await closeServer(tls.server);
    await tls?.close();
    await gateway.close();
    throw error;
  }
  const server = listener.server;
  let closing: Promise<{ drained: boolean }> | undefined;
  const commit = (prepared: Runtime) => {
    gateway.commit(prepared);
    applyServerSettings(server, prepared.config.server);
    tls?.contexts.reload();
  };
  const address = server.address() as AddressInfo;
  const redirectAddress = redirect?.address() as AddressInfo | undefined;
  const listeners = [boundListener('gateway', tls ? 'https' : 'http', address.address, address.port)];
  if (redirectAddress) listeners.push(boundListener('redirect', 'http', redirectAddress.address, redirectAddress.port));
  return {
    gateway,
    server,
    address,
    redirectAddress,
    listeners,
    reload: (next) => commit(gateway.prepare(next)),
    commit,
    shutdown() {
      closing ??= (async () => {
        gateway.startDraining();
        const closed = Promise.all([closeServer(server), redirect && closeServer(redirect)]);
        listener.closeIdleConnections();
        redirect?.closeIdleConnections();
        const drained = await gateway.drained(gateway.runtime.config.server.drainTimeout);
        listener.closeAllConnections();
        redirect?.closeAllConnections();
        await closed;
        // Requests cut at the drain timeout finish (and write their access log line) as their sockets close,
        // a tick later; closing the access log before that would make those writes throw.
        if (!drained) await gateway.drained(1000);
        await tls?.close();
        await gateway.close();
        return { drained };
      })();
      return closing;
    },
  };
}
