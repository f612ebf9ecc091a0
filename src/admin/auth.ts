/**
 * Who may call the admin API. With admin.token set:
 *   - the bearer header (`Authorization: Bearer TOKEN`) opens everything;
 *   - POST /session trades the bearer token for a session: an HttpOnly, SameSite=Strict cookie (what a page
 *     and EventSource can hold) and a CSRF token returned in the body. Reads accept the cookie; changes accept
 *     it only with the CSRF token echoed in X-CSRF-Token (double submit) and no cross-site signal
 *     (Sec-Fetch-Site other than same-origin/none, or an Origin whose host is not the Host).
 * Without a token (only allowed on loopback, see config/schema.ts): reads are open, changes get the same
 * cross-site check, and every non-public request must name a loopback Host, so a DNS-rebinding page in a
 * browser cannot reach the API under its own name.
 * Tokens compare in constant time (both sides hashed first, so lengths leak nothing either).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import { isLoopbackHost } from '../config/schema.ts';
import type { Reason } from '../observability/reasons.ts';

/**
 * public: no token (health probes, the API's own docs). read: the bearer token or the session cookie.
 * change: the bearer token, or the session cookie plus the CSRF check. session: the bearer token only.
 */
export type Access = 'public' | 'read' | 'change' | 'session';

export const SESSION_COOKIE = 'gatehouse_admin';
export const CSRF_HEADER = 'x-csrf-token';
const SESSION_TTL_MS = 8 * 60 * 60 * 1000;
/** Sessions kept at most; the oldest goes first, so a client minting sessions in a loop cannot grow memory. */
const MAX_SESSIONS = 256;

export function sameSecret(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}

export interface Session {
  readonly id: string;
  readonly csrfToken: string;
  readonly expiresAt: number;
}

export interface Sessions {
  open(): Session;
  find(id: string | undefined): Session | undefined;
  close(id: string | undefined): void;
  cookie(session: Session): string;
  clearCookie(): string;
}

export function createSessions(now: () => number = Date.now): Sessions {
  const byId = new Map<string, Session>();
  return {
    open() {
      if (byId.size >= MAX_SESSIONS) byId.delete(byId.keys().next().value!);
      const session = { id: randomBytes(32).toString('base64url'), csrfToken: randomBytes(32).toString('base64url'), expiresAt: now() + SESSION_TTL_MS };
      byId.set(session.id, session);
      return session;
    },
    find(id) {
      if (id === undefined) return undefined;
      // A Map lookup by the cookie value: the id is 256 random bits, so its timing tells an attacker nothing useful.
      const session = byId.get(id);
      if (session === undefined) return undefined;
      if (session.expiresAt <= now()) {
        byId.delete(id);
        return undefined;
      }
      return session;
    },
    close(id) {
      if (id !== undefined) byId.delete(id);
    },
    cookie: (s) => `${SESSION_COOKIE}=${s.id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${Math.floor(SESSION_TTL_MS / 1000)}`,
    clearCookie: () => `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`,
  };
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function bearerOf(req: http.IncomingMessage): string | undefined {
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header(req, 'authorization') ?? '');
  return m?.[1];
}

export function sessionIdOf(req: http.IncomingMessage): string | undefined {
  for (const part of (header(req, 'cookie') ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}

/** A browser's signal that the request comes from another site: Sec-Fetch-Site, else Origin against Host. */
function crossSite(req: http.IncomingMessage): boolean {
  const site = header(req, 'sec-fetch-site');
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return true;
  const origin = header(req, 'origin');
  if (origin === undefined) return false;
  try {
    return new URL(origin).host !== (header(req, 'host') ?? '').toLowerCase();
  } catch {
    return true; // "null" and other opaque origins
  }
}

function hostName(req: http.IncomingMessage): string {
  const host = header(req, 'host') ?? '';
  return host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d*$/, '');
}

/** undefined when the request may go on, else the reason it is refused. */
export function authorize(req: http.IncomingMessage, access: Access, token: string | undefined, sessions: Sessions): Reason | undefined {
  if (access === 'public') return undefined;
  if (token === undefined) {
    if (!isLoopbackHost(hostName(req))) return 'admin_host_not_allowed';
    return (access === 'change' || access === 'session') && crossSite(req) ? 'admin_csrf_failed' : undefined;
  }
  const bearer = bearerOf(req);
  if (bearer !== undefined) return sameSecret(bearer, token) ? undefined : 'admin_unauthorized';
  if (access === 'session') return 'admin_unauthorized';
  const session = sessions.find(sessionIdOf(req));
  if (session === undefined) return 'admin_unauthorized';
  if (access === 'read') return undefined;
  const csrf = header(req, CSRF_HEADER);
  return csrf !== undefined && sameSecret(csrf, session.csrfToken) && !crossSite(req) ? undefined : 'admin_csrf_failed';
}
