// The admin token and the stream. The token is asked for once and kept in sessionStorage (this tab only),
// so a reload re-creates the session silently; POST /session trades it for an HttpOnly cookie, which
// EventSource sends by itself (it cannot send an Authorization header).

const TOKEN_KEY = 'gatehouse.adminToken';

export const storedToken = {
  get: () => sessionStorage.getItem(TOKEN_KEY) ?? undefined,
  set: (token) => sessionStorage.setItem(TOKEN_KEY, token),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/**
 * POST /session, with the bearer token when there is one (a gateway without admin.token, on loopback,
 * opens a session without it). Resolves to { ok: true } or { ok: false, status, message }.
 */
export async function openSession(token) {
  const headers = token === undefined ? {} : { authorization: `Bearer ${token}` };
  let res;
  try {
    res = await fetch('/session', { method: 'POST', headers, credentials: 'same-origin', cache: 'no-store' });
  } catch {
    return { ok: false, status: 0, message: 'The gateway cannot be reached. Is it running?' };
  }
  if (res.ok) return { ok: true };
  let reason = '';
  try {
    reason = (await res.json()).error?.reason ?? '';
  } catch {
    // Not our JSON error body: the status says enough.
  }
  if (res.status === 401) {
    const message = token === undefined ? 'This gateway needs its admin token.' : 'That token was not accepted (401 admin_unauthorized). Check admin.token in the gateway\'s config.';
    return { ok: false, status: 401, message };
  }
  return { ok: false, status: res.status, message: `The gateway refused the session (${res.status}${reason ? ` ${reason}` : ''}).` };
}

/** What a closed stream means: 'auth' (the session is gone: the gateway restarted), 'off' (no /events), or 'down'. */
export async function whyClosed() {
  try {
    const res = await fetch('/events', { method: 'HEAD', credentials: 'same-origin', cache: 'no-store' });
    if (res.status === 401) return 'auth';
    if (res.status === 404) return 'off';
    return 'down';
  } catch {
    return 'down';
  }
}

/**
 * Opens GET /events and keeps it open: EventSource reconnects by itself after a network error (the gateway
 * says how soon with `retry:`); when it gives up (an HTTP error such as 401 after a gateway restart), this
 * asks why, re-creates the session when it can, and opens a new stream, with a bounded backoff.
 * handlers: stats(data), alert(data), state('live' | 'reconnecting' | 'off'), authLost().
 */
export function stream(handlers) {
  let source;
  let closed = false;
  let delay = 1000;
  let timer;

  const open = () => {
    source = new EventSource('/events', { withCredentials: true });
    source.addEventListener('open', () => {
      delay = 1000;
      handlers.state('live');
    });
    source.addEventListener('stats', (e) => handlers.stats(JSON.parse(e.data)));
    source.addEventListener('alert', (e) => handlers.alert(JSON.parse(e.data)));
    source.addEventListener('error', () => {
      if (closed) return;
      handlers.state('reconnecting');
      if (source.readyState === EventSource.CLOSED) void recover();
    });
  };

  const recover = async () => {
    const why = await whyClosed();
    if (closed) return;
    if (why === 'off') return handlers.state('off');
    if (why === 'auth') {
      const session = await openSession(storedToken.get());
      if (!session.ok && session.status === 401) return handlers.authLost(session.message);
    }
    timer = setTimeout(open, delay);
    delay = Math.min(delay * 2, 15_000);
  };

  open();
  return () => {
    closed = true;
    clearTimeout(timer);
    source?.close();
  };
}
