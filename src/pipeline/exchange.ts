/**
 * The Exchange: one request's state, from arrival to finish, and the only name for it. The server stage
 * fills in the facts, routing names the route, policies read the facts and pull a few narrow levers (headers
 * removed, set or appended, query parameters removed, the body capped, the identity set), attempts record what the upstream
 * did, and finish reads the outcome for the access log and the finish hooks.
 *
 * It holds no socket: a request the gateway makes itself (a batch item, a composed call) is an Exchange
 * built from plain values, and goes through routing, policies and attempts like any other.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Reason } from '../observability/reasons.ts';
import { removeHeader } from './header-list.ts';
import type { TraceRecord } from './trace-record.ts';
import { monotonicNow } from '../observability/monotonic.ts';

/** The whole request body, or why it could not be read: over the bound, the client went away, or it went silent. */
export type BodyRead = Buffer | 'too_large' | 'aborted' | 'timeout';

/** Reads a request's body whole, ahead of the attempts (the responder, which holds the client's stream). */
export interface BodySource {
  readWhole(maxBytes: number): Promise<BodyRead>;
}

const EMPTY_BODY = Buffer.alloc(0);

/** Who the request is, as established by an auth policy. The gateway-wide identity headers derive from it. */
export interface Identity {
  /** The consumer (API-key owner, or a JWT claim configured as consumer). */
  readonly consumer?: string;
  /** The token's subject (`sub`). */
  readonly subject?: string;
  readonly scopes?: readonly string[];
  /** Verified claims, for identity.claimHeaders. */
  readonly claims?: Readonly<Record<string, unknown>>;
}

/** The facts an Exchange starts from; everything not given takes a plain default (see exchange-defaults below). */
export interface ExchangeInit {
  readonly requestId: string;
  readonly method: string;
  /** The normalised path (no query); '' until the server stage has checked it. */
  readonly path: string;
  /** The query as received, with its "?" (or ""). */
  readonly query: string;
  readonly headers: IncomingHttpHeaders;
  readonly clientIp: string;
  readonly rawHeaders?: readonly string[] | undefined;
  readonly start?: number | undefined;
  readonly route?: string | undefined;
  readonly traceId?: string | undefined;
  /** The traceparent the first attempt forwards (the server stage draws its span ID). */
  readonly traceparent?: string | undefined;
  readonly traceFlags?: string | undefined;
  readonly host?: string | undefined;
  readonly httpVersion?: string | undefined;
  readonly forwardedFor?: string | undefined;
  readonly forwardedProto?: string | undefined;
  readonly forwardedHost?: string | undefined;
  readonly isUpgrade?: boolean | undefined;
  readonly hasBody?: boolean | undefined;
}

export class Exchange {
  /** performance.now() at arrival (the log line's wall-clock time is derived from it). */
  readonly start: number;
  readonly requestId: string;
  readonly traceId: string;
  /** The trace flags to forward (the client's, or for a trace started here "01", or "00" when tracing did not sample it). */
  readonly traceFlags: string;
  /** The traceparent the first attempt forwards; later attempts forward one with a span ID of their own. */
  readonly traceparent: string;
  readonly method: string;
  readonly host: string | undefined;
  /** "1.0", "1.1" or "2.0". */
  readonly httpVersion: string;
  /** The client's headers (lower-case names), with client-sent identity headers already removed. */
  readonly headers: IncomingHttpHeaders;
  /** The same headers as [name, value, ...] in the order and spelling received (forwarded in that order). */
  readonly rawHeaders: readonly string[];
  /** The client IP: the socket peer, or the first untrusted X-Forwarded-For hop when the peer is a trusted proxy. */
  readonly clientIp: string;
  readonly forwardedFor: string;
  readonly forwardedProto: string;
  /** X-Forwarded-Host from a trusted proxy, else undefined (the client's Host is sent). */
  readonly forwardedHost: string | undefined;
  /** The request asks to switch protocols (WebSocket). */
  readonly isUpgrade: boolean;
  /** The request has a body (a declared length other than 0, chunked, or an open HTTP/2 stream). */
  readonly hasBody: boolean;
  /** The declared Content-Length, or undefined when none was declared. */
  readonly contentLength: number | undefined;
  /** The normalised path (no query), as matched. */
  path: string;
  /** The query string to forward, with its "?" (or ""); policies may remove parameters. */
  #query: string;
  /** The query as received: queryParam reads this one, so policies see the same values whatever ran first. */
  #received: string;
  #params: URLSearchParams | undefined = undefined;

  // Routing and the upstream attempts.
  route: string | undefined;
  /** The path to send upstream (before the target's base path, without the query): set by routing. */
  forwardPath = '';
  upstream: string | undefined = undefined;
  /** The target of the last attempt; undefined when no attempt was made. */
  target: string | undefined = undefined;
  /** Attempts made (0 for a request answered by the gateway). */
  attempts = 0;
  /** After a retry: each attempt's "target outcome" so far (finish adds the last); undefined for one attempt. */
  tries: string[] | undefined = undefined;
  /**
   * An attempt got as far as a connection to its target, so the upstream may have seen the request. False
   * when every attempt failed to connect (or none was made): the upstream provably did nothing.
   */
  upstreamReached = false;
  /** The longest the gateway waits for this request's answer once it is sent, ms: set by routing. */
  answerWithin = 0;

  // Levers the request policies pull.
  /** Who the request is, set by the auth policy that admitted it. */
  identity: Identity | undefined = undefined;
  /** Client request headers (lower-case names) left out of what is forwarded. */
  removedHeaders: string[] | undefined = undefined;
  /** Request headers policies add, as [name, value, ...] (lower-case names): forwarded after the client's. */
  addedHeaders: string[] | undefined = undefined;
  bodyLimit = Infinity;
  /** Where readBody reads from: set by the responder; undefined where no body can be read ahead (upgrades). */
  bodySource: BodySource | undefined = undefined;
  /** The whole request body once a policy read it (readBody): the attempts send these bytes instead of the stream. */
  bufferedBody: Buffer | undefined = undefined;
  /** What the request records for its spans: set when tracing is on and the trace is sampled, else undefined. */
  trace: TraceRecord<Exchange> | undefined = undefined;
  /** Per-request finish callbacks a policy registered (atFinish); undefined for almost every request. */
  finishers: Array<(ex: Exchange) => void> | undefined = undefined;
  /**
   * What the rate-limit policy decided, for its RateLimit headers in the response phase: the index of the
   * limit it reports (-1: none), that limit's tokens left and seconds until its bucket is full. Plain
   * numbers so an admitted request allocates nothing for them.
   */
  rateLimitIndex = -1;
  rateLimitRemaining = 0;
  rateLimitReset = 0;

  // The outcome, read by finish.
  status = 0;
  reason: Reason | undefined = undefined;
  /** What answered a content reply (e.g. "cache", "batch"); undefined for upstream answers and error replies. */
  source: string | undefined = undefined;
  bytesIn = 0;
  bytesOut = 0;
  /** Time from the last attempt's dispatch to its response headers, ms. */
  upstreamMs: number | undefined = undefined;
  /**
   * Time from arrival to the upstream response head (a 101 for an upgrade), ms: the latency the live
   * statistics count. Undefined when no upstream head arrived (the gateway answered, or the client left).
   */
  headMs: number | undefined = undefined;
  /** The upstream failure's error code, for the log only (never sent to the client). */
  upstreamError: string | undefined = undefined;
  /** Set by finish; a second finish does nothing. */
  finished = false;
  /** performance.now() when finish ran (0 before): the log line and the finish hooks share this one read. */
  end = 0;

  constructor(init: ExchangeInit) {
    this.start = init.start ?? monotonicNow();
    this.requestId = init.requestId;
    this.traceId = init.traceId ?? '';
    this.traceFlags = init.traceFlags ?? '01';
    this.traceparent = init.traceparent ?? '';
    this.method = init.method;
    this.host = init.host;
    this.httpVersion = init.httpVersion ?? '1.1';
    this.headers = init.headers;
    this.rawHeaders = init.rawHeaders ?? flatHeaders(init.headers);
    this.clientIp = init.clientIp;
    this.forwardedFor = init.forwardedFor ?? init.clientIp;
    this.forwardedProto = init.forwardedProto ?? 'http';
    this.forwardedHost = init.forwardedHost;
    this.isUpgrade = init.isUpgrade ?? false;
    this.hasBody = init.hasBody ?? declaresBody(init.headers);
    const declared = init.headers['content-length'];
    this.contentLength = declared === undefined ? undefined : Number(declared);
    this.path = init.path;
    this.#query = init.query;
    this.#received = init.query;
    this.route = init.route;
  }

  /** The query string to forward, with its "?" (or ""); policies may remove parameters. */
  get query(): string {
    return this.#query;
  }

  /** Sets the query as received (the server stage, once it has checked the request target). */
  set query(received: string) {
    this.#query = received;
    this.#received = received;
    this.#params = undefined;
  }

  /** First value of a query parameter (decoded) in the query as received, or undefined. */
  queryParam(name: string): string | undefined {
    if (this.#received === '') return undefined;
    this.#params ??= new URLSearchParams(this.#received.slice(1));
    return this.#params.get(name) ?? undefined;
  }

  /** Leaves a query parameter out of the forwarded URL. */
  removeQueryParam(name: string): void {
    if (this.#query === '') return;
    // Rebuilt from the raw pairs so the parameters that stay keep their exact encoding.
    const kept = this.#query.slice(1).split('&').filter((pair) => {
      const eq = pair.indexOf('=');
      return decodeQueryName(eq === -1 ? pair : pair.slice(0, eq)) !== name;
    });
    this.#query = kept.length ? `?${kept.join('&')}` : '';
  }

  /**
   * Leaves a request header (lower-case name) out of what is forwarded: the client's copies, and any value
   * an earlier policy set or appended.
   */
  removeRequestHeader(name: string): void {
    // A list, not a Set: it holds one or two names (jwt-auth drops Authorization on every request), and a Set
    // per request costs more to make than a scan of two names.
    const removed = (this.removedHeaders ??= []);
    if (!removed.includes(name)) removed.push(name);
    if (this.addedHeaders !== undefined) removeHeader(this.addedHeaders, name);
  }

  /**
   * Forwards a request header (lower-case name) with this one value, replacing the client's copies and any
   * value set before. Names Gatehouse owns (hop-by-hop, X-Forwarded-*, identity headers) are its own to set:
   * the config refuses them for the policies that pull this lever.
   */
  setRequestHeader(name: string, value: string): void {
    this.removeRequestHeader(name);
    (this.addedHeaders ??= []).push(name, value);
  }

  /** Forwards one more value of a request header (lower-case name), after the client's copies. */
  appendRequestHeader(name: string, value: string): void {
    (this.addedHeaders ??= []).push(name, value);
  }

  /** Caps the request body: crossing `maxBytes` while it streams aborts the upstream attempt with 413. */
  limitBody(maxBytes: number): void {
    if (maxBytes < this.bodyLimit) this.bodyLimit = maxBytes;
  }

  /**
   * Reads the whole request body, up to `maxBytes`, before any attempt: for a policy that must see it
   * (idempotency hashes it). A declared length over the bound is refused without reading a byte. Once read,
   * the attempts send the buffered bytes. This buffers by design, so every caller must bound it.
   */
  async readBody(maxBytes: number): Promise<BodyRead> {
    const buffered = this.bufferedBody;
    if (buffered !== undefined) return buffered.length > maxBytes ? 'too_large' : buffered;
    if (!this.hasBody) return EMPTY_BODY;
    if (this.contentLength !== undefined && this.contentLength > maxBytes) return 'too_large';
    if (this.bodySource === undefined) return 'aborted';
    const read = await this.bodySource.readWhole(maxBytes);
    if (Buffer.isBuffer(read)) this.bufferedBody = read;
    return read;
  }

  /** Runs `fn` once when the request finishes, however it ended (after the access log line and the finish hooks). */
  atFinish(fn: (ex: Exchange) => void): void {
    (this.finishers ??= []).push(fn);
  }

  /** Who the request is after authentication, for the log: the consumer, else the token subject. */
  get consumer(): string | undefined {
    const identity = this.identity;
    return identity === undefined ? undefined : identity.consumer ?? identity.subject;
  }
}

/** The headers announce a body: a Content-Length other than 0, or a Transfer-Encoding. */
export function declaresBody(headers: IncomingHttpHeaders): boolean {
  const length = headers['content-length'];
  return (length !== undefined && length !== '0') || headers['transfer-encoding'] !== undefined;
}

/** A parsed header record as a flat [name, value, ...] list (requests the gateway makes itself). */
function flatHeaders(headers: IncomingHttpHeaders): string[] {
  const out: string[] = [];
  for (const name in headers) {
    const value = headers[name];
    if (typeof value === 'string') out.push(name, value);
    else if (value) for (const v of value) out.push(name, v);
  }
  return out;
}

function decodeQueryName(raw: string): string {
  try {
    return decodeURIComponent(raw.replaceAll('+', ' '));
  } catch {
    return raw;
  }
}
