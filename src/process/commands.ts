/**
 * The commands of the channel (channel.ts Command) applied to one process's gateway: a cluster worker runs
 * this for each command the primary sends, and the in-process Workers calls it directly. Throws when a command
 * names something the gateway does not have, so the caller answers with the reason.
 */
import type { Gateway } from '../runtime/gateway.ts';
import type { Command } from './channel.ts';

export function applyCommand(gateway: Gateway, command: Command): void {
  switch (command.type) {
    case 'reopen-logs':
      // Lines buffered before the command go to the rotated file, later ones to the file at the path now.
      gateway.runtime.accessLog.reopen();
      return;
    case 'set-target-available':
      targetOf(gateway, command.upstream, command.url).state.available = command.available;
      return;
    case 'set-target-health':
      gateway.setTargetHealth(command.upstream, command.url, command.healthy, command.why);
      return;
    case 'purge':
      // Nothing is cached yet (response caching arrives later): purging an empty cache succeeds.
      return;
    default:
      command satisfies never;
  }
}

/** The serving runtime's target `url` of `upstream`; its state is shared with later runtimes that keep it. */
function targetOf(gateway: Gateway, upstream: string, url: string) {
  const pool = gateway.runtime.upstreams.get(upstream);
  if (!pool) throw new Error(`no upstream "${upstream}"`);
  const target = pool.targets.find((t) => t.id === url);
  if (!target) throw new Error(`upstream "${upstream}" has no target ${url}`);
  return target;
}
