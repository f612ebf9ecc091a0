/**
 * One serving instance: a Gateway behind a listening HTTP server, or behind the HTTPS listener (plus its
 * optional HTTP redirect listener) when listen.tls is set. Both the single-process mode and every cluster
 * worker run exactly this; config loading and watching live above it (supervisor.ts).
 */
import type http from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import { once } from 'node:events';
import type { Config } from '../config/schema.ts';
import { createLogger, type Logger } from '../observability/logger.ts';
import { Gateway } from '../runtime/gateway.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { applyServerSettings, createGatewayServer, type ReloadableServer } from '../server/http-server.ts';
import { startRedirectListener } from '../server/https-redirect.ts';
import { createTlsListener, type TlsListener } from '../server/tls-server.ts';

export interface Instance {
  readonly gateway: Gateway;
  readonly server: Server;
  readonly address: AddressInfo;
  /** The HTTP-to-HTTPS redirect listener's address, when listen.tls.redirectHttp is set. */
  readonly redirectAddress: AddressInfo | undefined;
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
  const name = host === '0.0.0.0' ? '127.0.0.1' : host;
  return `${scheme}://${name.includes(':') ? `[${name}]` : name}:${port}`;
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
    listener.server.listen(config.listen.port, config.listen.host);
    await once(listener.server, 'listening');
    const { port } = listener.server.address() as AddressInfo;
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
  return {
    gateway,
    server,
    address: server.address() as AddressInfo,
    redirectAddress: redirect?.address() as AddressInfo | undefined,
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
