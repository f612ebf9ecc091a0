/**
 * hash-ring: a ketama-style consistent-hash ring. Each target gets 160 points per unit of weight, placed by
 * md5 of `${id}-${n}` (four points per digest, as ketama does), so the ring depends only on the targets' ids
 * and weights: a rebuild with the same ids, in any order, maps every key the same way, and adding or removing
 * one target moves only the keys that land on it. A key goes to the first point at or after its hash,
 * wrapping past the top; if that point's target is unavailable the walk goes on clockwise to the next
 * available one, which is where the key would go if that target were removed.
 * With no target available (or none at all) lookup() returns undefined.
 */
import { hash } from 'node:crypto';
import type { BalancerTarget } from './balancer.ts';

const pointsPerWeight = 160;
const pointsPerDigest = 4;
// Points are sorted packed as `position * rankSpace + rank` in a Float64Array (exact below 2^53): a numeric
// sort with no comparator, ties between equal positions broken by id rank rather than by target order.
const rankSpace = 2 ** 20;

export interface HashRing<T extends BalancerTarget> {
  /** Number of points on the ring: 160 x the sum of the weights. */
  readonly size: number;
  /** `isAvailable` lets a peek (GET /explain) read availability without side effects. */
  lookup(key: string, isAvailable?: (target: T) => boolean): T | undefined;
}

/**
 * FNV-1a over UTF-16 code units (the same as over bytes for ASCII keys), then murmur3's fmix32 finalizer:
 * FNV alone leaves keys that differ only in their last characters close together on the ring.
 */
export function hashKey(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export function createHashRing<T extends BalancerTarget>(targets: readonly T[]): HashRing<T> {
  const byId = [...targets].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const packed = new Float64Array(byId.reduce((sum, target) => sum + target.weight * pointsPerWeight, 0));
  let filled = 0;
  byId.forEach((target, rank) => {
    for (let n = 0; n < (target.weight * pointsPerWeight) / pointsPerDigest; n++) {
      const digest = hash('md5', `${target.id}-${n}`, 'buffer');
      for (let k = 0; k < pointsPerDigest; k++) packed[filled++] = digest.readUInt32LE(k * 4) * rankSpace + rank;
    }
  });
  packed.sort();
  const positions = new Uint32Array(packed.length);
  const owners: T[] = [];
  packed.forEach((point, i) => {
    positions[i] = Math.floor(point / rankSpace);
    owners.push(byId[point % rankSpace] as T);
  });

  return {
    size: positions.length,
    lookup(key, isAvailable = (target: T) => target.available) {
      if (owners.length === 0) return undefined;
      const index = lowerBound(positions, hashKey(key));
      const home = owners[index % owners.length];
      if (home !== undefined && isAvailable(home)) return home;
      // Checking the pool first spares a whole-pool outage a lap of the ring (up to 160,000 points per target
      // at weight 1000) on every request; past this check the walk ends within one lap.
      if (!targets.some(isAvailable)) return undefined;
      for (let step = 1; step < owners.length; step++) {
        const owner = owners[(index + step) % owners.length];
        if (owner !== undefined && isAvailable(owner)) return owner;
      }
      return undefined;
    },
  };
}

/** Index of the first position >= value; positions.length when there is none (the caller wraps). */
function lowerBound(positions: Uint32Array, value: number): number {
  let low = 0;
  let high = positions.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((positions[mid] ?? 0) < value) low = mid + 1;
    else high = mid;
  }
  return low;
}
