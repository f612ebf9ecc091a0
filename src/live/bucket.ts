/**
 * One bucket of live statistics: the requests of one route in one second (or, folded, one minute), counted
 * by status class and by reason, with a latency sketch. Buckets add up exactly: a window is the sum of its
 * buckets, and the primary adds the workers' buckets to its own (`encode` / `addEncoded`).
 *
 * Reasons are counted in an array indexed by the reason catalogue, so recording one is an index and an
 * increment, and a bucket's size does not depend on traffic.
 */
import { reasons, type Reason } from '../observability/reasons.ts';
import { LatencySketch, type EncodedSketch } from './latency-sketch.ts';

export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;
export const REASON_NAMES = Object.keys(reasons) as Reason[];
const REASON_INDEX = new Map<string, number>(REASON_NAMES.map((name, i) => [name, i]));

/** A bucket as it travels from a worker to the primary (structured clone keeps the typed arrays). */
export interface EncodedBucket {
  readonly second: number;
  readonly requests: number;
  readonly classes: Float64Array;
  /** [reason, count] for the reasons seen. */
  readonly reasons: ReadonlyArray<readonly [string, number]>;
  readonly sketch: EncodedSketch;
}

export class Bucket {
  /** The wall-clock second (or minute) this bucket counts; -1 while unused. */
  time = -1;
  requests = 0;
  readonly classes = new Float64Array(5);
  readonly reasons = new Float64Array(REASON_NAMES.length);
  readonly latency = new LatencySketch();

  /** One finished request: the per-request path (index, increments and one sketch insert; no allocation). */
  record(status: number, reason: Reason | undefined, latencyMs: number): void {
    this.requests++;
    const cls = ((status / 100) | 0) - 1;
    if (cls >= 0 && cls < 5) this.classes[cls]!++;
    if (reason !== undefined) {
      const index = REASON_INDEX.get(reason);
      if (index !== undefined) this.reasons[index]!++;
    }
    if (latencyMs >= 0) this.latency.add(latencyMs);
  }

  /** Starts counting `time` from zero. */
  reset(time: number): void {
    this.time = time;
    if (this.requests === 0) return;
    this.requests = 0;
    this.classes.fill(0);
    this.reasons.fill(0);
    this.latency.clear();
  }

  add(other: Bucket): void {
    if (other.requests === 0) return;
    this.requests += other.requests;
    for (let i = 0; i < 5; i++) this.classes[i]! += other.classes[i]!;
    for (let i = 0; i < this.reasons.length; i++) this.reasons[i]! += other.reasons[i]!;
    this.latency.merge(other.latency);
  }

  encode(): EncodedBucket {
    const seen: Array<[string, number]> = [];
    this.reasons.forEach((count, i) => {
      if (count > 0) seen.push([REASON_NAMES[i]!, count]);
    });
    return { second: this.time, requests: this.requests, classes: this.classes.slice(), reasons: seen, sketch: this.latency.encode() };
  }

  addEncoded(encoded: EncodedBucket): void {
    this.requests += encoded.requests;
    for (let i = 0; i < 5; i++) this.classes[i]! += encoded.classes[i] ?? 0;
    for (const [name, count] of encoded.reasons) {
      const index = REASON_INDEX.get(name);
      if (index !== undefined) this.reasons[index]! += count;
    }
    this.latency.mergeEncoded(encoded.sketch);
  }

  /** Requests counted with `reason`. */
  reasonCount(reason: string): number {
    const index = REASON_INDEX.get(reason);
    return index === undefined ? 0 : this.reasons[index]!;
  }
}
