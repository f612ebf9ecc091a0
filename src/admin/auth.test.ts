import assert from 'node:assert/strict';
import type http from 'node:http';
import { describe, it } from 'node:test';
import { authorize, bearerOf, createSessions, sameSecret, sessionIdOf } from './auth.ts';

const req = (headers: Record<string, string>) => ({ headers }) as unknown as http.IncomingMessage;
const TOKEN = 'a-token-of-twenty-chars';

describe('admin auth', () => {
  it('compares secrets of any length without throwing', () => {
    assert.equal(sameSecret(TOKEN, TOKEN), true);
    assert.equal(sameSecret(TOKEN, `${TOKEN}x`), false);
    assert.equal(sameSecret('', TOKEN), false);
  });

  it('reads the bearer token and the session cookie, and nothing that only resembles them', () => {
    assert.equal(bearerOf(req({ authorization: `Bearer ${TOKEN}` })), TOKEN);
    assert.equal(bearerOf(req({ authorization: `bearer  ${TOKEN} ` })), TOKEN);
    assert.equal(bearerOf(req({ authorization: `Basic ${TOKEN}` })), undefined);
    assert.equal(bearerOf(req({ authorization: `Bearer a b` })), undefined);
    assert.equal(sessionIdOf(req({ cookie: 'a=1; gatehouse_admin=abc; b=2' })), 'abc');
    assert.equal(sessionIdOf(req({ cookie: 'xgatehouse_admin=abc' })), undefined);
    assert.equal(sessionIdOf(req({ cookie: 'gatehouse_admin=' })), undefined);
  });

  it('ends a session when its 8 hours are up', () => {
    let now = 1_000_000;
    const sessions = createSessions(() => now);
    const s = sessions.open();
    now += 8 * 3600 * 1000 - 1;
    assert.equal(sessions.find(s.id), s);
    now += 1;
    assert.equal(sessions.find(s.id), undefined);
  });

  it('keeps at most 256 sessions, dropping the oldest first', () => {
    const sessions = createSessions();
    const first = sessions.open();
    const second = sessions.open();
    for (let i = 0; i < 254; i++) sessions.open();
    assert.ok(sessions.find(first.id));
    sessions.open();
    assert.equal(sessions.find(first.id), undefined);
    assert.ok(sessions.find(second.id));
  });

  it('applies the access rules with a token', () => {
    const sessions = createSessions();
    const s = sessions.open();
    const cookie = `gatehouse_admin=${s.id}`;
    assert.equal(authorize(req({}), 'public', TOKEN, sessions), undefined);
    assert.equal(authorize(req({}), 'read', TOKEN, sessions), 'admin_unauthorized');
    assert.equal(authorize(req({ cookie }), 'read', TOKEN, sessions), undefined);
    assert.equal(authorize(req({ cookie }), 'session', TOKEN, sessions), 'admin_unauthorized', 'a session cannot mint sessions');
    assert.equal(authorize(req({ cookie }), 'change', TOKEN, sessions), 'admin_csrf_failed');
    assert.equal(authorize(req({ cookie, 'x-csrf-token': s.csrfToken }), 'change', TOKEN, sessions), undefined);
    assert.equal(authorize(req({ cookie, 'x-csrf-token': s.csrfToken, origin: 'null', host: '127.0.0.1:9901' }), 'change', TOKEN, sessions), 'admin_csrf_failed');
    assert.equal(authorize(req({ authorization: `Bearer ${TOKEN}`, origin: 'https://evil.example' }), 'change', TOKEN, sessions), undefined, 'browsers never attach the bearer header themselves');
    assert.equal(authorize(req({ authorization: 'Bearer wrong', cookie }), 'read', TOKEN, sessions), 'admin_unauthorized', 'a wrong bearer is not rescued by a cookie');
  });
});
