/**
 * Tells undici the names of the headers Gatehouse adds to upstream requests (X-Request-ID, traceparent,
 * X-Forwarded-*, the identity headers), so that it treats them as the well-known names it already lists.
 *
 * For every header of every request, undici's Request looks the name up in its table of well-known names; a
 * name it does not know costs a miss in that 190-key dictionary, a lower-casing, a second miss and a token
 * check (a regex for names of 12 characters or more). Micro-benchmark (Node 24, undici 8.12, 1M
 * `new Request(...)` with the 9 headers a benchmark request forwards): 760-790 ns as shipped, 505-515 ns with
 * Gatehouse's five names in the table.
 *
 * The table maps a name to its lower-case spelling, and only valid lower-case tokens are added, so undici
 * behaves exactly as before for them. The table is undici's internal (`lib/core/constants.js`): if a later
 * undici moves or reshapes it, this does nothing and requests cost what they did.
 */
import { createRequire } from 'node:module';

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;

function wellKnownTable(): Record<string, string> | undefined {
  try {
    const constants = createRequire(import.meta.url)('undici/lib/core/constants.js') as { headerNameLowerCasedRecord?: unknown };
    const table = constants.headerNameLowerCasedRecord;
    return table !== null && typeof table === 'object' && !Object.isFrozen(table) ? (table as Record<string, string>) : undefined;
  } catch {
    return undefined;
  }
}

const table = wellKnownTable();

/** Adds lower-case header names to undici's well-known names; returns how many it added (0 without the table). */
export function teachUndiciHeaderNames(names: Iterable<string>): number {
  if (table === undefined) return 0;
  let added = 0;
  for (const name of names) {
    if (!TOKEN.test(name) || Object.hasOwn(table, name)) continue;
    table[name] = name;
    added++;
  }
  return added;
}
