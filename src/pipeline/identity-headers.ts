/**
 * The trusted identity headers: one gateway-wide list of names (config `identity`). Client-sent copies of
 * every name are removed from every request — underscore spellings too, since CGI/WSGI servers read
 * X_User_Id as X-User-Id — and after authentication Gatehouse sets them from the identity it verified.
 */
import type { Identity } from './exchange.ts';

export interface IdentityHeaders {
  /** Lower-case, dash-spelled names removed from every request. */
  readonly names: ReadonlySet<string>;
  /** The headers to send upstream for a verified identity, as a flat [name, value, ...] list. */
  headersFor(identity: Identity): readonly string[];
}

/** The spelling header names are compared in: lower-case, `_` read as `-` (as CGI/WSGI servers read it). */
export function canonicalHeaderName(lowerName: string): string {
  return lowerName.includes('_') ? lowerName.replaceAll('_', '-') : lowerName;
}

/** True when `lowerName` (already lower-case) is an identity header in any spelling. */
export function isIdentityHeader(names: ReadonlySet<string>, lowerName: string): boolean {
  return names.has(canonicalHeaderName(lowerName));
}

const SAFE_VALUE = /^[\t\x20-\x7e]*$/;

/** A claim as a header value: arrays space-joined, objects as JSON, anything outside printable ASCII percent-encoded. */
export function headerValue(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  let text: string;
  if (typeof value === 'string') text = value;
  else if (Array.isArray(value)) text = value.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(' ');
  else if (typeof value === 'object') text = JSON.stringify(value);
  else text = String(value);
  return SAFE_VALUE.test(text) ? text : encodeURIComponent(text);
}

function add(out: string[], name: string, value: unknown): void {
  const text = headerValue(value);
  if (text !== undefined && text !== '') out.push(name, text);
}

/** The config's `identity` section, as identityHeaders reads it. */
export interface IdentityHeaderConfig {
  readonly consumerHeader: string;
  readonly subjectHeader: string;
  readonly scopesHeader: string;
  readonly claimHeaders: Readonly<Record<string, string>>;
  readonly stripHeaders: readonly string[];
}

export function identityHeaders(config: IdentityHeaderConfig): IdentityHeaders {
  const claimHeaders = Object.entries(config.claimHeaders);
  // Stored canonical so one lookup of a client header's canonical name covers every spelling of every name,
  // whichever spelling the config used.
  const configured = [config.consumerHeader, config.subjectHeader, config.scopesHeader, ...claimHeaders.map(([h]) => h), ...config.stripHeaders];
  const names = new Set(configured.map(canonicalHeaderName));
  // Identities are immutable and shared (one per verified token, one per API consumer): their headers are
  // derived once (a scopes join and a value check per header) rather than on every request.
  const derived = new WeakMap<Identity, readonly string[]>();
  return {
    names,
    headersFor(identity) {
      const known = derived.get(identity);
      if (known !== undefined) return known;
      const out: string[] = [];
      add(out, config.consumerHeader, identity.consumer);
      add(out, config.subjectHeader, identity.subject);
      if (identity.scopes?.length) add(out, config.scopesHeader, identity.scopes);
      if (identity.claims) for (const [header, claim] of claimHeaders) add(out, header, identity.claims[claim]);
      derived.set(identity, out);
      return out;
    },
  };
}
