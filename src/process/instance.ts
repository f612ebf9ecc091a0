/**
 * One serving instance: a Gateway behind a listening HTTP server. Both the single-process mode and every
 * cluster worker run exactly this; config loading and watching live above it (supervisor.ts).
 */
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import type { Config } from '../config/schema.ts';
import { Gateway } from '../runtime/gateway.ts';
import { applyServerSettings, createGatewayServer } from '../server/http-server.ts';

export interface Instance {
  readonly gateway: Gateway;
  readonly server: http.Server;
  readonly address: AddressInfo;
  /** Swaps in a new config; throws (old config keeps serving) if the runtime cannot be built. */
  reload(config: Config): void;
  /** Stops accepting, lets in-flight requests finish (bounded by server.drainTimeout), closes pools. */
  shutdown(): Promise<{ drained: boolean }>;
}

export async function startInstance(config: Config): Promise<Instance> {
  const gateway = new Gateway(config);
  const server = createGatewayServer(gateway);
  server.listen(config.listen.port, config.listen.host);
  try {
    await once(server, 'listening');
  } catch (error) {
    await gateway.close();
    throw error;
  }
  let closing: Promise<{ drained: boolean }> | undefined;
  return {
    gateway,
    server,
    address: server.address() as AddressInfo,
    reload(next) {
      gateway.reload(next);
      applyServerSettings(server, next.server);
    },
    shutdown() {
      closing ??= (async () => {
        gateway.startDraining();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const drained = await gateway.drained(gateway.runtime.config.server.drainTimeout);
        server.closeAllConnections();
        await closed;
        // Requests cut at the drain timeout finish (and write their access log line) as their sockets close,
        // a tick later; closing the access log before that would make those writes throw.
        if (!drained) await gateway.drained(1000);
        await gateway.close();
        return { drained };
      })();
      return closing;
    },
  };
}
