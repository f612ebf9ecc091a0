/**
 * Captures a response body while it streams to the client, unchanged, keeping at most `maxBytes` of it.
 * At the body's end it hands over the whole body (or undefined when it was larger than `maxBytes`) and
 * holds the end back until `settle` is done, so a client that sees the last byte can count on the answer
 * having been stored: its repeat is replayed, never told "in progress". The end is never held longer than
 * the store's own bound (redis.commandTimeout); a store failure is the settle callback's to report.
 */
import { Transform, type TransformCallback } from 'node:stream';

export class CaptureBody extends Transform {
  readonly #maxBytes: number;
  readonly #settle: (body: Buffer | undefined) => Promise<void>;
  #chunks: Buffer[] | undefined = [];
  #size = 0;

  constructor(maxBytes: number, settle: (body: Buffer | undefined) => Promise<void>) {
    super();
    this.#maxBytes = maxBytes;
    this.#settle = settle;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.#chunks !== undefined) {
      this.#size += chunk.length;
      if (this.#size > this.#maxBytes) this.#chunks = undefined;
      else this.#chunks.push(chunk);
    }
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    const body = this.#chunks === undefined ? undefined : Buffer.concat(this.#chunks, this.#size);
    this.#chunks = undefined;
    this.#settle(body).then(() => done(), () => done());
  }
}
