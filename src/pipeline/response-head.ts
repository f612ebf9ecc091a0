/**
 * The response head as the response phase sees it, before it is written to the client: the status and a
 * flat [name, value, ...] header list (lower-case names) that response policies set, append to or remove
 * from, and an optional chain of streaming body transforms (compression will add one). The same head is
 * used for an upstream's answer and for the gateway's own local replies.
 */
import type { Transform } from 'node:stream';
import { removeHeader } from './header-list.ts';

export class ResponseHead {
  readonly status: number;
  /** [name, value, ...], lower-case names; repeated names are repeated entries. */
  readonly headers: string[];
  #transforms: Array<() => Transform> | undefined = undefined;

  constructor(status: number, headers: string[]) {
    this.status = status;
    this.headers = headers;
  }

  /** The first value of a header, or undefined. */
  get(name: string): string | undefined {
    const headers = this.headers;
    for (let i = 0; i < headers.length; i += 2) if (headers[i] === name) return headers[i + 1];
    return undefined;
  }

  /** Every value of a header, in order. */
  getAll(name: string): string[] {
    const out: string[] = [];
    const headers = this.headers;
    for (let i = 0; i < headers.length; i += 2) if (headers[i] === name) out.push(headers[i + 1]!);
    return out;
  }

  /** Replaces every value of a header with one (the header is added if absent). */
  set(name: string, value: string): void {
    this.remove(name);
    this.headers.push(name, value);
  }

  /** Adds one more value of a header. */
  append(name: string, value: string): void {
    this.headers.push(name, value);
  }

  remove(name: string): void {
    removeHeader(this.headers, name);
  }

  /**
   * Streams the body through a transform made per response. The body's length may then change, so
   * Content-Length is removed (the response is sent chunked, or framed by the connection close in HTTP/1.0),
   * unless `sameBytes`: a transform that passes every byte through unchanged (one that only watches, like
   * idempotency capturing the answer) keeps the framing the response had.
   */
  transformBody(make: () => Transform, sameBytes = false): void {
    (this.#transforms ??= []).push(make);
    if (!sameBytes) this.remove('content-length');
  }

  /** The transforms asked for, in order (undefined: the body passes as it is). */
  get transforms(): ReadonlyArray<() => Transform> | undefined {
    return this.#transforms;
  }
}
