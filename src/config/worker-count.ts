/** `workers` as a number of processes: "auto" is one per core this process may use. */
import { availableParallelism } from 'node:os';
import type { Config } from './schema.ts';

export function workerCount(workers: Config['workers']): number {
  return workers === 'auto' ? availableParallelism() : workers;
}
