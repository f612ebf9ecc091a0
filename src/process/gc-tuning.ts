/**
 * V8 tuning for a serving process, applied before any request. With incremental marking on, a gateway
 * process under steady load can fall into a mode where every scavenge promotes most of the young
 * generation (~10 MB each) while marking runs almost continuously: CPU per request rises ~30 % and p99
 * reaches ~17 ms, for the life of the process (docs/performance.md). Old-generation collections done
 * atomically avoid that cycle; the gateway's old generation is small, so each costs a short pause.
 * GATEHOUSE_INCREMENTAL_MARKING=1 keeps V8's default.
 */
import { setFlagsFromString } from 'node:v8';

export function tuneGarbageCollector(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.GATEHOUSE_INCREMENTAL_MARKING === '1') return false;
  setFlagsFromString('--no-incremental-marking');
  return true;
}
