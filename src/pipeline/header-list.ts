/** Header lists as the data plane keeps them: flat [name, value, ...] arrays with lower-case names. */

/** Removes every entry named `name` from a flat list, in place, keeping the others in order. */
export function removeHeader(flat: string[], name: string): void {
  let w = 0;
  // Usually absent (cors clears three names on every answer): then nothing is rewritten.
  while (w < flat.length && flat[w] !== name) w += 2;
  if (w >= flat.length) return;
  for (let r = w + 2; r < flat.length; r += 2) {
    if (flat[r] === name) continue;
    flat[w++] = flat[r]!;
    flat[w++] = flat[r + 1]!;
  }
  flat.length = w;
}
