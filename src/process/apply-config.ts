/**
 * Applies a config to N workers so that it is live in every worker or in none, in two phases:
 *
 *   1. prepare: every worker builds the complete runtime without serving it;
 *   2. if every worker answered ok, commit everywhere (each swaps the prepared runtime in); otherwise discard
 *      everywhere and fail with the first worker's error (first in the order given), the old config serving on.
 *
 * A worker that does not answer prepare in time, or exits first, counts as a failure. Commit only swaps a
 * reference that is already built, so it is not expected to fail; a commit that is not confirmed (the worker
 * exited meanwhile, and its replacement starts with the new config) cannot be undone in the others, so it is
 * reported to the caller rather than failing the apply.
 */
import type { Config } from '../config/schema.ts';
import { ask, failureOf, nextId, type WorkerLink } from './channel.ts';

export interface Applied {
  /** Workers that did not confirm their commit, with why. */
  readonly unconfirmed: readonly string[];
}

export async function applyConfig(links: readonly WorkerLink[], config: Config, timeoutMs: number): Promise<Applied> {
  const id = nextId();
  const prepared = await Promise.allSettled(links.map((link) => ask(link, { type: 'prepare', id, config }, timeoutMs)));
  const failure = links.map((link, i) => failureOf(link, prepared[i]!)).find((f) => f !== undefined);
  if (failure !== undefined) {
    // Every worker gets the discard, also those that failed or did not answer: a late prepare is then
    // released too, since the discard cannot overtake it on the channel.
    await Promise.allSettled(links.map((link) => ask(link, { type: 'discard', id }, timeoutMs)));
    throw new Error(failure);
  }
  const committed = await Promise.allSettled(links.map((link) => ask(link, { type: 'commit', id }, timeoutMs)));
  return { unconfirmed: links.map((link, i) => failureOf(link, committed[i]!)).filter((f) => f !== undefined) };
}
