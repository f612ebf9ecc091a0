/**
 * What a policy sees of a request (Kong's PDK): read-only request facts plus a few narrow levers. Nothing
 * here touches the socket; the proxy applies the levers when it forwards (headers removed, identity
 * headers added, query parameters removed, body capped) and when it answers (extra response headers).
 */
import type { IncomingHttpHeaders } from 'node:http';

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

/** What a policy may see and do: a narrow view of the PolicyContext the proxy reads back. */
export type RequestContext = Pick<PolicyContext,
  'requestId' | 'route' | 'method' | 'path' | 'clientIp' | 'headers' | 'contentLength' | 'hasBody' | 'isUpgrade' | 'identity'
  | 'queryParam' | 'removeQueryParam' | 'removeRequestHeader' | 'limitBody' | 'addResponseHeader'>;

export class PolicyContext {
  readonly requestId: string;
  readonly route: string;
  readonly method: string;
  /** The normalised path (no query). */
  readonly path: string;
  /** The client IP after trusted-proxy resolution. */
  readonly clientIp: string;
  /** The client's headers (lower-case names), with client-sent identity headers already removed. */
  readonly headers: IncomingHttpHeaders;
  /** The declared Content-Length, or undefined when none was declared. */
  readonly contentLength: number | undefined;
  /** The request has a body (a declared length other than 0, chunked, or an open HTTP/2 stream). */
  readonly hasBody: boolean;
  /** The request asks to switch protocols (WebSocket). */
  readonly isUpgrade: boolean;
  /** Who the request is, set by the auth policy that admitted it. */
  identity: Identity | undefined = undefined;
  /** The query string to forward, with its "?" (or ""). */
  query: string;
  /** The query as received: queryParam reads this one, so policies see the same values whatever ran first. */
  readonly #received: string;
  removedHeaders: Set<string> | undefined = undefined;
  bodyLimit = Infinity;
  /** Flat [name, value, ...] list added to the response. */
  responseHeaders: string[] | undefined = undefined;
  #params: URLSearchParams | undefined;

  constructor(init: {
    requestId: string; route: string; method: string; path: string; query: string; clientIp: string;
    headers: IncomingHttpHeaders; isUpgrade: boolean; hasBody?: boolean;
  }) {
    this.requestId = init.requestId;
    this.route = init.route;
    this.method = init.method;
    this.path = init.path;
    this.query = init.query;
    this.#received = init.query;
    this.clientIp = init.clientIp;
    this.headers = init.headers;
    this.isUpgrade = init.isUpgrade;
    const declared = init.headers['content-length'];
    this.contentLength = declared === undefined ? undefined : Number(declared);
    this.hasBody = init.hasBody ?? declaresBody(init.headers);
  }

  /** First value of a query parameter (decoded) in the query as received, or undefined. */
  queryParam(name: string): string | undefined {
    if (this.#received === '') return undefined;
    this.#params ??= new URLSearchParams(this.#received.slice(1));
    return this.#params.get(name) ?? undefined;
  }

  /** Leaves a query parameter out of the forwarded URL. */
  removeQueryParam(name: string): void {
    if (this.query === '') return;
    // Rebuilt from the raw pairs so the parameters that stay keep their exact encoding.
    const kept = this.query.slice(1).split('&').filter((pair) => {
      const eq = pair.indexOf('=');
      return decodeQueryName(eq === -1 ? pair : pair.slice(0, eq)) !== name;
    });
    this.query = kept.length ? `?${kept.join('&')}` : '';
  }

  /** Leaves a request header (lower-case name) out of what is forwarded. */
  removeRequestHeader(name: string): void {
    (this.removedHeaders ??= new Set()).add(name);
  }

  /** Caps the request body: crossing `maxBytes` while it streams aborts the upstream attempt with 413. */
  limitBody(maxBytes: number): void {
    if (maxBytes < this.bodyLimit) this.bodyLimit = maxBytes;
  }

  /** Adds a header to whatever response this request gets, forwarded or made by the gateway. */
  addResponseHeader(name: string, value: string): void {
    (this.responseHeaders ??= []).push(name, value);
  }
}

/** The headers announce a body: a Content-Length other than 0, or a Transfer-Encoding. */
export function declaresBody(headers: IncomingHttpHeaders): boolean {
  const length = headers['content-length'];
  return (length !== undefined && length !== '0') || headers['transfer-encoding'] !== undefined;
}

function decodeQueryName(raw: string): string {
  try {
    return decodeURIComponent(raw.replaceAll('+', ' '));
  } catch {
    return raw;
  }
}
