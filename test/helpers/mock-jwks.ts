/**
 * JWKS endpoints for tests, both answering as their `mode` says. startJwksServer is a real one on 127.0.0.1.
 * mockJwksEndpoint is for the tests that let time pass: setTimeout is mocked (node:test mock timers, so the
 * JWKS cache's refresh, retry and fetch-timeout timers move only when the test ticks) and fetch is answered in
 * memory. A fetch starts synchronously when its timer fires, so `hits` is exact right after a tick.
 *
 * Real sockets do not mix with mock timers: undici arms its connection timers with the global setTimeout, and
 * a mock timer armed during one test and cleared during another test's mock timers removes whatever timer
 * holds its place in that other test's queue (node:test does not check which queue a timer belongs to).
 * So a file runs its tests that mock time before any test that starts a real server; mockJwksEndpoint refuses
 * to run after one.
 */
import type { TestContext } from 'node:test';
import type { JWK } from 'jose';
import { startUpstream, upstreamsStarted } from './fake-upstream.ts';

export type JwksMode = 'up' | 'down' | 'not-json' | 'empty' | 'huge' | 'hang';

export interface JwksEndpoint {
  readonly url: string;
  mode: JwksMode;
  keys: JWK[];
  /** Arrival times (Date.now) of every request. */
  readonly hits: number[];
}

/** What a JWKS endpoint answers in its mode; undefined when it never answers. */
function jwksAnswer(endpoint: Pick<JwksEndpoint, 'mode' | 'keys'>): { status: number; body: string } | undefined {
  switch (endpoint.mode) {
    case 'down': return { status: 503, body: '{}' };
    case 'not-json': return { status: 200, body: '<html>' };
    case 'empty': return { status: 200, body: '{"keys":[]}' };
    case 'huge': return { status: 200, body: JSON.stringify({ keys: endpoint.keys, pad: 'x'.repeat(1024 * 1024 + 1) }) };
    case 'hang': return undefined;
    default: return { status: 200, body: JSON.stringify({ keys: endpoint.keys }) };
  }
}

export interface JwksServer extends JwksEndpoint {
  /** Closes the listener and its connections; the test's end does it too. */
  close(): Promise<void>;
}

/** A real JWKS endpoint on 127.0.0.1, closed when the test ends (even one an assertion ended early). */
export async function startJwksServer(t: TestContext, keys: JWK[], mode: JwksMode = 'up'): Promise<JwksServer> {
  const hits: number[] = [];
  const state = { mode, keys };
  const upstream = await startUpstream((_req, res) => {
    hits.push(Date.now());
    const answer = jwksAnswer(state);
    if (answer === undefined) return;
    res.writeHead(answer.status, { 'content-type': 'application/json' });
    res.end(answer.body);
  });
  t.after(() => upstream.close());
  return Object.assign(state, { url: `${upstream.url}/.well-known/jwks.json`, hits, close: () => upstream.close() });
}

/** Mocks setTimeout and fetch for this test (both restored when it ends); fetch answers as `mode` says. */
export function mockJwksEndpoint(t: TestContext, keys: JWK[], mode: JwksMode = 'up'): JwksEndpoint {
  if (upstreamsStarted() > 0) {
    throw new Error('mockJwksEndpoint after a real server in this process: put the tests that mock time before any test that opens a socket');
  }
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const endpoint: JwksEndpoint = { url: 'https://auth.test/.well-known/jwks.json', mode, keys, hits: [] };
  t.mock.method(globalThis, 'fetch', (_url: unknown, init?: RequestInit) => {
    endpoint.hits.push(Date.now());
    const answer = jwksAnswer(endpoint);
    if (answer !== undefined) {
      return Promise.resolve(new Response(answer.body, { status: answer.status, headers: { 'content-type': 'application/json' } }));
    }
    // Hangs until the caller aborts, like a server that never answers.
    return new Promise<Response>((_resolve, reject) => {
      const signal = init?.signal;
      signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
  });
  // After hooks run before the mocks are restored: fetches already answered finish here, under this test's
  // timers, even when an assertion ended the test early. Left for later, they would reach the next test's.
  t.after(() => new Promise((resolve) => setImmediate(resolve)));
  return endpoint;
}
