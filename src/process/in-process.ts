/**
 * `workers: 1`: the gateway serves in this process, so every Workers operation applies directly to the one
 * instance, with no channel in between. The active health checks run here too, and tell the gateway directly.
 */
import type { Config } from '../config/schema.ts';
import type { Logger } from '../observability/logger.ts';
import { HealthMonitor } from '../upstream/health-monitor.ts';
import { applyCommand } from './commands.ts';
import { startInstance } from './instance.ts';
import type { Workers } from './workers.ts';

export async function startInProcess(config: Config, log: Logger): Promise<Workers> {
  const instance = await startInstance(config, log);
  const health = new HealthMonitor(log, (change) => {
    instance.gateway.setTargetHealth(change.upstream, change.url, change.healthy, change.why);
  });
  health.update(config.upstreams);
  return {
    url: instance.listeners[0]!.url,
    listeners: instance.listeners,
    ready: () => !instance.gateway.draining,
    reload: async (next) => {
      instance.reload(next);
      health.update(next.upstreams);
    },
    snapshot: async () => instance.gateway.snapshot(),
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
