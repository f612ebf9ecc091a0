import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TargetState, type AttemptOutcome, type OutcomeReport } from './target-state.ts';
import { BreakerGroup, CircuitBreaker, circuitBreakerSchema } from './circuit-breaker.ts';

const report = (outcome: AttemptOutcome, headersMs?: number, status?: number): OutcomeReport =>
  ({ outcome, status, headersMs, bytesSent: 0, bytesReceived: 0 });

describe('TargetState outcomes', () => {
  it('starts available, idle and without history', () => {
    const state = new TargetState('api', 'http://127.0.0.1:1');
    assert.equal(state.upstream, 'api');
    assert.equal(state.url, 'http://127.0.0.1:1');
    assert.equal(state.available, true);
    assert.equal(state.inFlight, 0);
    assert.equal(state.attempts, 0);
    assert.equal(state.failures, 0);
    assert.equal(state.latencyEwmaMs, undefined);
    assert.deepEqual(state.recentOutcomes(), []);
  });

  it('counts every attempt, and as failures only what says something against the target', () => {
    const state = new TargetState('api', 'u');
    const outcomes: AttemptOutcome[] = ['response', 'cancelled', 'connect_failure', 'connect_timeout', 'response_timeout', 'reset', 'bad_response', 'body_error', 'body_timeout'];
    for (const outcome of outcomes) state.report(report(outcome));
    assert.equal(state.attempts, 9);
    assert.equal(state.failures, 7, 'a response (any status) and a cancelled attempt are not failures');
  });

  it('does not count a 5xx response as a failure: the outcome is the attempt\'s, the status the caller\'s to judge', () => {
    const state = new TargetState('api', 'u');
    state.report(report('response', 5, 503));
    assert.equal(state.failures, 0);
  });

  it('starts the latency EWMA at the first sample and moves a fifth of the way toward each next one', () => {
    const state = new TargetState('api', 'u');
    state.report(report('response', 100));
    assert.equal(state.latencyEwmaMs, 100);
    state.report(report('response', 200));
    assert.equal(state.latencyEwmaMs, 120);
    state.report(report('response', 20));
    assert.equal(state.latencyEwmaMs, 100);
  });

  it('leaves the EWMA alone for attempts that got no response head', () => {
    const state = new TargetState('api', 'u');
    state.report(report('connect_failure'));
    assert.equal(state.latencyEwmaMs, undefined);
    state.report(report('response', 50));
    state.report(report('response_timeout'));
    assert.equal(state.latencyEwmaMs, 50);
  });

  it('keeps the last 32 outcomes, oldest first, once the ring has wrapped', () => {
    const state = new TargetState('api', 'u');
    state.report(report('reset'));
    state.report(report('response'));
    assert.deepEqual(state.recentOutcomes(), ['reset', 'response']);
    for (let i = 0; i < 31; i++) state.report(report(i % 2 === 0 ? 'connect_failure' : 'response'));
    const recent = state.recentOutcomes();
    assert.equal(recent.length, 32);
    assert.equal(recent[0], 'response', 'the oldest ("reset") fell out');
    assert.equal(recent[31], 'connect_failure', 'the newest is last');
    for (let i = 0; i < 45; i++) state.report(report('body_timeout'));
    state.report(report('cancelled'));
    assert.deepEqual(state.recentOutcomes(), [...Array<AttemptOutcome>(31).fill('body_timeout'), 'cancelled']);
  });

  it('returns a copy of the recent outcomes', () => {
    const state = new TargetState('api', 'u');
    state.report(report('reset'));
    state.recentOutcomes().push('response');
    assert.deepEqual(state.recentOutcomes(), ['reset']);
  });
});

describe('TargetState listeners', () => {
  it('tells every listener each report, with the state, after the counts are updated', () => {
    const state = new TargetState('api', 'u');
    const seen: Array<[string, AttemptOutcome, number]> = [];
    state.onOutcome((r, s) => seen.push(['a', r.outcome, s.attempts]));
    state.onOutcome((r, s) => seen.push(['b', r.outcome, s.failures]));
    state.report(report('reset'));
    assert.deepEqual(seen, [['a', 'reset', 1], ['b', 'reset', 1]]);
  });

  it('stops telling a listener once it is removed', () => {
    const state = new TargetState('api', 'u');
    const seen: string[] = [];
    const stop = state.onOutcome((r) => seen.push(r.outcome));
    state.report(report('response'));
    stop();
    state.report(report('reset'));
    assert.deepEqual(seen, ['response']);
  });

  it('lets a listener flip availability (what health checks and breakers will do)', () => {
    const state = new TargetState('api', 'u');
    state.onOutcome((_r, s) => {
      const lastTwo = s.recentOutcomes().slice(-2);
      if (lastTwo.length === 2 && lastTwo.every((o) => o === 'connect_failure')) s.available = false;
    });
    state.report(report('connect_failure'));
    assert.equal(state.available, true);
    state.report(report('connect_failure'));
    assert.equal(state.available, false);
  });
});

describe('TargetState timers and disposal', () => {
  it('counts the timers it owns and forgets a timeout once it has fired', async () => {
    const state = new TargetState('api', 'u');
    let fired = false;
    const { promise, resolve } = Promise.withResolvers<void>();
    state.setTimer(() => {
      fired = true;
      resolve();
    }, 1);
    state.setInterval(() => {}, 60_000);
    assert.equal(state.timers, 2);
    await promise;
    assert.equal(fired, true);
    assert.equal(state.timers, 1);
    state.dispose();
  });

  it('clears a timer it was asked to clear', () => {
    const state = new TargetState('api', 'u');
    let fired = false;
    const timer = state.setTimer(() => { fired = true; }, 1);
    const interval = state.setInterval(() => {}, 1);
    state.clearTimer(timer);
    state.clearTimer(interval);
    assert.equal(state.timers, 0);
    assert.equal(fired, false);
  });

  it('never keeps the process alive with its timers', () => {
    const state = new TargetState('api', 'u');
    assert.equal(state.setTimer(() => {}, 60_000).hasRef(), false);
    assert.equal(state.setInterval(() => {}, 60_000).hasRef(), false);
    state.dispose();
  });

  it('stops every timer and forgets every listener when disposed of', async () => {
    const state = new TargetState('api', 'u');
    let ticks = 0;
    const heard: string[] = [];
    state.setTimer(() => ticks++, 1);
    state.setInterval(() => ticks++, 1);
    state.onOutcome((r) => heard.push(r.outcome));
    assert.equal(state.disposed, false);
    state.dispose();
    assert.equal(state.disposed, true);
    assert.equal(state.timers, 0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(ticks, 0, 'no timer fired after dispose');
    state.report(report('reset'));
    assert.deepEqual(heard, [], 'no listener is told after dispose');
  });
});

describe('TargetState availability', () => {
  function withBreaker(settings: Record<string, unknown>) {
    const clock = { ms: 0, now() { return this.ms; } };
    const state = new TargetState('api', 'u');
    state.breaker = new CircuitBreaker(circuitBreakerSchema.parse(settings), clock);
    new BreakerGroup([state.breaker, new CircuitBreaker(circuitBreakerSchema.parse(settings), clock)]);
    return { state, clock };
  }

  it('is available only when enabled, healthy and admitted by its breaker', () => {
    const { state } = withBreaker({ consecutiveFailures: 2 });
    assert.equal(state.available, true);
    state.healthy = false;
    assert.equal(state.available, false);
    state.healthy = true;
    state.available = false;
    assert.equal(state.enabled, false, 'setting available is the operator\'s switch');
    assert.equal(state.available, false);
    state.enabled = true;
    state.report(report('connect_failure'));
    state.report(report('connect_failure'));
    assert.equal(state.breaker?.state, 'open', 'record() feeds the breaker');
    assert.equal(state.available, false);
    assert.equal(state.peekAvailable(), false);
  });

  it('feeds the breaker the status, so 5xx counts when failOn lists it', () => {
    const { state } = withBreaker({ consecutiveFailures: 2, failOn: ['5xx'] });
    state.record('response', 503, 1, 0, 0);
    state.record('response', 500, 1, 0, 0);
    assert.equal(state.breaker?.state, 'open');
  });

  it('admits half-open probes while fewer than halfOpenRequests are in flight; peeking moves nothing', () => {
    const { state, clock } = withBreaker({ consecutiveFailures: 1, openFor: '1s', halfOpenRequests: 2 });
    state.report(report('reset'));
    clock.ms += 1000;
    assert.equal(state.peekAvailable(), true);
    assert.equal(state.breaker?.state, 'open');
    assert.equal(state.available, true);
    assert.equal(state.breaker?.state, 'half-open');
    state.inFlight = 2;
    assert.equal(state.available, false);
  });
});
