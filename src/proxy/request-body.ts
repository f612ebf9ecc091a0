/**
 * A request body as the upstream attempts consume it. The first attempt streams the client's body as it
 * arrives (never buffered). While it streams, a copy is kept if the route asked for one (`keepLimit` > 0,
 * set by a retry policy) and the body stays within that limit; a later attempt can then replay the copy.
 * A body larger than the limit, or one whose first attempt did not send it whole, cannot be replayed — unless
 * no attempt read a byte of it (the connection failed first): then the next attempt takes the source itself.
 */
import type { Readable } from 'node:stream';

export class RequestBody {
  readonly #source: Readable | Buffer;
  readonly #keepLimit: number;
  #kept: Buffer[] | undefined;
  #keptBytes = 0;
  #complete = false;
  #taken = false;
  /** An attempt sent a byte of it, or all of it (an empty body). */
  #started = false;

  constructor(source: Readable | Buffer, keepLimit: number) {
    this.#source = source;
    this.#keepLimit = keepLimit;
    this.#kept = keepLimit > 0 && !Buffer.isBuffer(source) ? [] : undefined;
  }

  /**
   * The body for the next attempt: the source the first time (and again while no attempt has read from it),
   * the kept copy after that; undefined when it cannot be sent again (see `replayable`).
   */
  forAttempt(): Readable | Buffer | undefined {
    if (!this.#taken || this.#unread) {
      this.#taken = true;
      return this.#source;
    }
    if (Buffer.isBuffer(this.#source)) return this.#source;
    return this.replayable ? Buffer.concat(this.#kept!, this.#keptBytes) : undefined;
  }

  /** An attempt sent this chunk (undici's onBodySent). */
  sent(chunk: Buffer | string): void {
    this.#started = true;
    const kept = this.#kept;
    if (kept === undefined) return;
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.#keptBytes += bytes.length;
    if (this.#keptBytes > this.#keepLimit) this.#kept = undefined;
    else kept.push(bytes);
  }

  /** An attempt sent the whole body (undici's onRequestSent). */
  sentAll(): void {
    this.#started = true;
    this.#complete = true;
  }

  /** The client's upload broke off before it was complete: that is the client going away, not the target failing. */
  get broken(): boolean {
    const source = this.#source;
    if (Buffer.isBuffer(source) || !source.destroyed) return false;
    const complete = (source as { complete?: boolean }).complete;
    return complete === undefined ? !source.readableEnded : !complete;
  }

  /** A later attempt can send the same body again. */
  get replayable(): boolean {
    return Buffer.isBuffer(this.#source) || this.#unread || (this.#kept !== undefined && this.#complete);
  }

  /** The client's stream as it arrived: no attempt sent or read a byte of it, and it is still open. */
  get #unread(): boolean {
    const source = this.#source;
    return !this.#started && !Buffer.isBuffer(source) && !source.readableDidRead && !source.readableEnded && !source.destroyed;
  }
}
