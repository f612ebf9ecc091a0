import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configSchema, type Config } from '../config/schema.ts';
import { createLogger } from '../observability/logger.ts';
import { Gateway } from '../runtime/gateway.ts';
import type { TargetEvent } from './target-events.ts';

const A = 'http://127.0.0.1:1';
const B = 'http://127.0.0.1:2';

function config(upstream: Record<string, unknown>, targets = [A, B]): Config {
  return configSchema.parse({
    log: { access: { enabled: false } },
    upstreams: { u: { targets: targets.map((url) => ({ url })), ...upstream } },
    routes: [{ name: 'r', match: { path: '/' }, upstream: 'u' }],
  });
}

const BREAKER = { consecutiveFailures: 1, openFor: '1h' };
const CHECK = { interval: '1s' };

function gatewayWith(upstream: Record<string, unknown>): { gateway: Gateway; events: TargetEvent[] } {
  const gateway = new Gateway(config(upstream), createLogger('silent'));
  const events: TargetEvent[] = [];
  gateway.targetEvents.on((e) => events.push(e));
  return { gateway, events };
}

const stateOf = (gateway: Gateway, url: string) => gateway.runtime.upstreams.get('u')!.targets.find((t) => t.id === url)!.state;

function openBreakerOf(gateway: Gateway, url: string): void {
  stateOf(gateway, url).record('connect_failure', undefined, undefined, 0, 0);
  assert.equal(stateOf(gateway, url).breaker?.state, 'open');
}

describe('target health and breakers across reloads', () => {
  it('gives every target a closed breaker by default, and none with circuitBreaker: false', async () => {
    const { gateway } = gatewayWith({});
    assert.equal(stateOf(gateway, A).breaker?.state, 'closed');
    gateway.reload(config({ circuitBreaker: false }));
    assert.equal(stateOf(gateway, A).breaker, null);
    await gateway.close();
  });

  it('keeps an open breaker across a reload that keeps circuitBreaker, and regroups the targets', async () => {
    const { gateway, events } = gatewayWith({ circuitBreaker: BREAKER });
    openBreakerOf(gateway, A);
    const breaker = stateOf(gateway, A).breaker;
    gateway.reload(config({ circuitBreaker: BREAKER, timeouts: { connect: '1s' } }));
    assert.equal(stateOf(gateway, A).breaker, breaker, 'the same breaker');
    assert.equal(stateOf(gateway, A).available, false);
    assert.equal(gateway.snapshot().targets.find((t) => t.url === A)?.breaker, 'open');
    // Three targets now, one open: opening B would leave 1 of 3 closed (33% < 50%), so B stays closed.
    gateway.reload(config({ circuitBreaker: BREAKER }, [A, B, 'http://127.0.0.1:3']));
    stateOf(gateway, B).record('connect_failure', undefined, undefined, 0, 0);
    assert.equal(stateOf(gateway, B).breaker?.state, 'closed', 'the group counts the three current targets');
    assert.deepEqual(events.map((e) => [e.kind, e.state]), [['breaker', 'open']]);
    await gateway.close();
  });

  it('gives a fresh, closed breaker when circuitBreaker changes, and says so', async () => {
    const { gateway, events } = gatewayWith({ circuitBreaker: BREAKER });
    openBreakerOf(gateway, A);
    gateway.reload(config({ circuitBreaker: { ...BREAKER, openFor: '2h' } }));
    assert.equal(stateOf(gateway, A).breaker?.state, 'closed');
    assert.equal(stateOf(gateway, A).available, true);
    assert.deepEqual(events.map((e) => [e.state, e.why]), [['open', 'after a failure'], ['closed', 'after its circuitBreaker settings changed']]);
    await gateway.close();
  });

  it('does not touch the serving state while a prepared runtime is only prepared or discarded', async () => {
    const { gateway } = gatewayWith({ circuitBreaker: BREAKER });
    openBreakerOf(gateway, A);
    const prepared = gateway.prepare(config({ circuitBreaker: false }));
    assert.equal(stateOf(gateway, A).breaker?.state, 'open');
    gateway.discard(prepared);
    assert.equal(stateOf(gateway, A).breaker?.state, 'open');
    await gateway.close();
  });

  it('keeps a target down across a reload that keeps healthCheck', async () => {
    const { gateway } = gatewayWith({ healthCheck: CHECK });
    gateway.setTargetHealth('u', A, false, 'after 3 failed checks (test)');
    gateway.reload(config({ healthCheck: CHECK, keepAlive: '2s' }));
    assert.equal(stateOf(gateway, A).healthy, false);
    assert.equal(stateOf(gateway, A).available, false);
    assert.equal(gateway.snapshot().targets.find((t) => t.url === A)?.healthy, false);
    await gateway.close();
  });

  it('counts a target healthy again when healthCheck changes or goes', async () => {
    const { gateway, events } = gatewayWith({ healthCheck: CHECK });
    gateway.setTargetHealth('u', A, false, 'after 3 failed checks (test)');
    gateway.reload(config({ healthCheck: { ...CHECK, path: '/ready' } }));
    assert.equal(stateOf(gateway, A).healthy, true);
    gateway.setTargetHealth('u', A, false, 'after 3 failed checks (test)');
    gateway.reload(config({}));
    assert.equal(stateOf(gateway, A).healthy, true);
    assert.deepEqual(events.map((e) => [e.kind, e.state]), [['health', 'down'], ['health', 'up'], ['health', 'down'], ['health', 'up']]);
    await gateway.close();
  });

  it('skips a health change for a target it does not have', async () => {
    const { gateway, events } = gatewayWith({});
    assert.equal(gateway.setTargetHealth('u', 'http://127.0.0.1:9', false, 'test'), false);
    assert.equal(gateway.setTargetHealth('nope', A, false, 'test'), false);
    assert.deepEqual(events, []);
    await gateway.close();
  });
});
