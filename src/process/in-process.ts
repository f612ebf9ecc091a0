/**
 * `workers: 1`: the gateway serves in this process, so every Workers operation applies directly to the one
 * instance, with no channel in between.
 */
import type { Config } from '../config/schema.ts';
import type { Logger } from '../observability/logger.ts';
import { applyCommand } from './commands.ts';
import { startInstance } from './instance.ts';
import type { Workers } from './workers.ts';

export async function startInProcess(config: Config, log: Logger): Promise<Workers> {
  const instance = await startInstance(config, log);
  return {
    url: instance.listeners[0]!.url,
    listeners: instance.listeners,
    ready: () => !instance.gateway.draining,
    reload: async (next) => instance.reload(next),
    snapshot: async () => instance.gateway.snapshot(),
    command: async (command) => applyCommand(instance.gateway, command),
    shutdown: () => instance.shutdown(),
  };
}
