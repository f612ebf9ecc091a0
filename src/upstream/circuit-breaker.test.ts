import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { z } from 'zod';
import { BreakerGroup, CircuitBreaker, circuitBreakerSchema, type BreakerState, type CircuitBreakerConfig } from './circuit-breaker.ts';

class TestClock {
  ms = 1_000_000;
  now(): number {
    return this.ms;
  }
}

function breaker(settings: Partial<z.input<typeof circuitBreakerSchema>> = {}, clock = new TestClock()) {
  const config: CircuitBreakerConfig = circuitBreakerSchema.parse(settings);
  const transitions: Array<[BreakerState, string]> = [];
  const b = new CircuitBreaker(config, clock, (state, why) => transitions.push([state, why]));
  // Alone, a breaker could never open under maxEjectedPercent 50: give it a closed peer.
  new BreakerGroup([b, new CircuitBreaker(config, clock)]);
  return { b, clock, transitions };
}

function fail(b: CircuitBreaker, times = 1): void {
  for (let i = 0; i < times; i++) b.record('connect_failure', undefined);
}

function succeed(b: CircuitBreaker, times = 1): void {
  for (let i = 0; i < times; i++) b.record('response', 200);
}

describe('circuit breaker', () => {
  it('has the documented defaults', () => {
    assert.deepEqual(circuitBreakerSchema.parse({}), {
      consecutiveFailures: 5, failureRatio: 0.5, minRequests: 20, window: 10_000, openFor: 30_000, halfOpenRequests: 3,
      failOn: ['connect-failure', 'timeout', 'reset'], maxEjectedPercent: 50,
    });
  });

  it('rejects out-of-range settings and unknown failOn values', () => {
    for (const bad of [{ failureRatio: 0 }, { failureRatio: 1.5 }, { consecutiveFailures: 0 }, { maxEjectedPercent: 101 }, { failOn: ['4xx'] }, { failOn: [] }, { extra: 1 }]) {
      assert.equal(circuitBreakerSchema.safeParse(bad).success, false, JSON.stringify(bad));
    }
  });

  it('opens after consecutiveFailures failures in a row, and says so once', () => {
    const { b, transitions } = breaker({ consecutiveFailures: 3 });
    fail(b, 2);
    succeed(b);
    fail(b, 2);
    assert.equal(b.state, 'closed', 'a success in between starts the count again');
    fail(b);
    assert.equal(b.state, 'open');
    assert.deepEqual(transitions, [['open', 'after 3 consecutive failures']]);
  });

  it('opens when failureRatio of at least minRequests fail within the window', () => {
    const { b, transitions } = breaker({ consecutiveFailures: 100, failureRatio: 0.5, minRequests: 10, window: '10s' });
    for (let i = 0; i < 4; i++) {
      succeed(b);
      fail(b);
    }
    assert.equal(b.state, 'closed', '8 requests are fewer than minRequests');
    succeed(b);
    fail(b);
    assert.equal(b.state, 'open');
    assert.deepEqual(transitions, [['open', 'after 5 of 10 requests failed within 10s']]);
  });

  it('forgets failures that fell out of the window', () => {
    const { b, clock } = breaker({ consecutiveFailures: 100, failureRatio: 0.5, minRequests: 10, window: '10s' });
    for (let i = 0; i < 4; i++) {
      succeed(b);
      fail(b);
    }
    clock.ms += 11_000;
    succeed(b);
    fail(b);
    assert.equal(b.state, 'closed', 'only 2 requests are within the window now');
    for (let i = 0; i < 4; i++) succeed(b, 2);
    assert.equal(b.state, 'closed');
  });

  it('counts only the outcomes failOn lists: 5xx only when listed, cancelled never', () => {
    const plain = breaker({ consecutiveFailures: 2 }).b;
    for (let i = 0; i < 5; i++) plain.record('response', 503);
    for (let i = 0; i < 5; i++) plain.record('cancelled', undefined);
    plain.record('bad_response', 200);
    plain.record('bad_response', 200);
    assert.equal(plain.state, 'closed');
    const strict = breaker({ consecutiveFailures: 2, failOn: ['5xx'] }).b;
    strict.record('response', 500);
    strict.record('connect_failure', undefined);
    assert.equal(strict.state, 'closed', 'a connect failure is not listed, so it breaks the run');
    strict.record('response', 502);
    strict.record('response', 504);
    assert.equal(strict.state, 'open');
    const timeouts = breaker({ consecutiveFailures: 3 }).b;
    for (const outcome of ['connect_timeout', 'response_timeout', 'body_timeout'] as const) timeouts.record(outcome, undefined);
    assert.equal(timeouts.state, 'open');
    const resets = breaker({ consecutiveFailures: 2 }).b;
    resets.record('reset', undefined);
    resets.record('body_error', 200);
    assert.equal(resets.state, 'open');
  });

  it('refuses every pick while open', () => {
    const { b, clock } = breaker({ consecutiveFailures: 1, openFor: '30s' });
    fail(b);
    for (let i = 0; i < 5; i++) assert.equal(b.admits(0), false);
    clock.ms += 29_999;
    assert.equal(b.admits(0), false);
    assert.equal(b.state, 'open');
  });

  it('becomes half-open on the first pick after openFor, not before a pick', () => {
    const { b, clock, transitions } = breaker({ consecutiveFailures: 1, openFor: '30s' });
    fail(b);
    clock.ms += 30_000;
    assert.equal(b.state, 'open', 'no pick reached it yet');
    assert.equal(b.wouldAdmit(0), true, 'a report may say it would be admitted...');
    assert.equal(b.state, 'open', '...without moving it');
    assert.equal(b.admits(0), true);
    assert.equal(b.state, 'half-open');
    assert.deepEqual(transitions.at(-1), ['half-open', 'after 30s open']);
  });

  it('lets at most halfOpenRequests probes through at once', () => {
    const { b, clock } = breaker({ consecutiveFailures: 1, openFor: '1s', halfOpenRequests: 2 });
    fail(b);
    clock.ms += 1000;
    assert.equal(b.admits(0), true);
    assert.equal(b.admits(1), true);
    assert.equal(b.admits(2), false, 'two probes in flight');
    assert.equal(b.admits(1), true, 'one finished');
  });

  it('closes once halfOpenRequests probes succeed', () => {
    const { b, clock, transitions } = breaker({ consecutiveFailures: 1, openFor: '1s', halfOpenRequests: 3 });
    fail(b);
    clock.ms += 1000;
    b.admits(0);
    succeed(b, 2);
    assert.equal(b.state, 'half-open');
    succeed(b);
    assert.equal(b.state, 'closed');
    assert.deepEqual(transitions.map(([state]) => state), ['open', 'half-open', 'closed']);
    assert.deepEqual(transitions.at(-1), ['closed', 'after 3 successful probes']);
    assert.equal(b.admits(100), true, 'closed admits whatever is in flight');
  });

  it('opens again on a failed probe, for another openFor', () => {
    const { b, clock, transitions } = breaker({ consecutiveFailures: 1, openFor: '1s', halfOpenRequests: 3 });
    fail(b);
    clock.ms += 1000;
    b.admits(0);
    succeed(b);
    fail(b);
    assert.equal(b.state, 'open');
    assert.deepEqual(transitions.at(-1), ['open', 'after a failed probe']);
    clock.ms += 999;
    assert.equal(b.admits(0), false);
    clock.ms += 1;
    assert.equal(b.admits(0), true);
  });

  it('ignores outcomes of attempts that started before it opened', () => {
    const { b, transitions } = breaker({ consecutiveFailures: 1 });
    fail(b);
    fail(b, 3);
    succeed(b, 3);
    assert.equal(b.state, 'open');
    assert.equal(transitions.length, 1);
  });

  it('starts counting afresh after closing', () => {
    const { b, clock } = breaker({ consecutiveFailures: 2, openFor: '1s', halfOpenRequests: 1 });
    fail(b, 2);
    clock.ms += 1000;
    b.admits(0);
    succeed(b);
    fail(b);
    assert.equal(b.state, 'closed');
  });
});

describe('breaker group (maxEjectedPercent)', () => {
  function group(size: number, maxEjectedPercent: number) {
    const clock = new TestClock();
    const config = circuitBreakerSchema.parse({ consecutiveFailures: 1, maxEjectedPercent });
    const members = Array.from({ length: size }, () => new CircuitBreaker(config, clock));
    new BreakerGroup(members);
    return { members, clock };
  }

  it('keeps the breakers that would open last closed once maxEjectedPercent are open', () => {
    const { members } = group(4, 50);
    for (const m of members) fail(m);
    assert.deepEqual(members.map((m) => m.state), ['open', 'open', 'closed', 'closed']);
  });

  it('never ejects the only target at the default 50%, and may at 100%', () => {
    const alone = group(1, 50).members[0]!;
    fail(alone, 10);
    assert.equal(alone.state, 'closed');
    const allowed = group(1, 100).members[0]!;
    fail(allowed);
    assert.equal(allowed.state, 'open');
  });

  it('counts half-open breakers as ejected, and lets another open once one closes', () => {
    const { members, clock } = group(2, 50);
    fail(members[0]!);
    clock.ms += 30_000;
    members[0]!.admits(0);
    fail(members[1]!);
    assert.equal(members[1]!.state, 'closed', 'the half-open one still counts');
    succeed(members[0]!, 3);
    assert.equal(members[0]!.state, 'closed');
    fail(members[1]!);
    assert.equal(members[1]!.state, 'open');
  });

  it('ejects nothing at 0%', () => {
    const { members } = group(3, 0);
    for (const m of members) fail(m, 5);
    assert.deepEqual(members.map((m) => m.state), ['closed', 'closed', 'closed']);
  });
});
