/**
 * `workers: 1`: the gateway serves in this process, so every Workers operation applies directly to the one
 * instance, with no channel in between. The active health checks run here too, and tell the gateway directly.
 */
import type { Registry } from 'prom-client';
import type { Config } from '../config/schema.ts';
import { GatewayMetrics } from '../metrics/gateway-metrics.ts';
import type { Logger } from '../observability/logger.ts';
import { HealthMonitor } from '../upstream/health-monitor.ts';
import { applyCommand } from './commands.ts';
import { startInstance } from './instance.ts';
import type { Workers } from './workers.ts';

/** `registry`: the process's metrics registry (metrics.enabled), which the gateway's series join. */
export async function startInProcess(config: Config, log: Logger, registry?: Registry): Promise<Workers> {
  const instance = await startInstance(config, log);
  const health = new HealthMonitor(log, (change) => {
    instance.gateway.setTargetHealth(change.upstream, change.url, change.healthy, change.why);
  });
  health.update(config.upstreams);
  if (registry) new GatewayMetrics(instance.gateway, registry);
  return {
    url: instance.listeners[0]!.url,
    listeners: instance.listeners,
    ready: () => !instance.gateway.draining,
    reload: async (next) => {
      instance.reload(next);
      health.update(next.upstreams);
    },
    snapshot: async () => instance.gateway.snapshot(),
    live: instance.gateway.live,
    metrics: (own) => own.metrics(),
    peekTarget: (upstream, key) => {
      const balancer = instance.gateway.runtime.upstreams.get(upstream)?.balancer;
      return balancer?.peek ? balancer.peek(key)?.id : null;
    },
    command: async (command) => applyCommand(instance.gateway, command),
    shutdown: async () => {
      await health.close();
      return instance.shutdown();
    },
  };
}
