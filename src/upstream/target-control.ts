/**
 * Gives the targets of a runtime being committed their health and breaker settings, by the lifecycle rule:
 * state that outlives reloads changes only when its own settings do. A target whose upstream's healthCheck
 * changed (or went) counts as healthy again; one whose circuitBreaker changed gets a fresh breaker (none for
 * `false`); otherwise both carry over. Each upstream's breakers are grouped anew, since its targets may have
 * changed (maxEjectedPercent counts the current ones).
 *
 * Runs on commit, not while building: a prepared runtime that is discarded must not have touched the state
 * the serving one shares.
 */
import { BreakerGroup, CircuitBreaker, type BreakerState, type Clock } from './circuit-breaker.ts';
import type { TargetEvent } from './target-events.ts';
import type { TargetState } from './target-state.ts';
import type { Upstream } from './upstream.ts';

export interface TargetControl {
  readonly clock: Clock;
  /** A transition: published (and, for breakers, logged) by the gateway. */
  readonly publish: (event: TargetEvent) => void;
}

export function applyTargetControl(upstreams: Iterable<Upstream>, control: TargetControl): void {
  for (const upstream of upstreams) {
    const healthKey = JSON.stringify(upstream.config.healthCheck ?? null);
    const breakerKey = JSON.stringify(upstream.config.circuitBreaker);
    const breakers: CircuitBreaker[] = [];
    for (const { state } of upstream.targets) {
      if (state.healthCheckKey !== healthKey) resetHealth(state, healthKey, control);
      if (state.breakerKey !== breakerKey) setBreaker(state, breakerKey, upstream, control);
      if (state.breaker) breakers.push(state.breaker);
    }
    new BreakerGroup(breakers);
  }
}

function resetHealth(state: TargetState, key: string, control: TargetControl): void {
  const first = state.healthCheckKey === undefined;
  state.healthCheckKey = key;
  if (state.healthy || first) return;
  state.healthy = true;
  control.publish({ kind: 'health', upstream: state.upstream, url: state.url, state: 'up', time: Date.now(), why: 'after its health check changed or ended' });
}

function setBreaker(state: TargetState, key: string, upstream: Upstream, control: TargetControl): void {
  state.breakerKey = key;
  const config = upstream.config.circuitBreaker;
  const wasEjected = state.breaker?.ejected === true;
  state.breaker = config === false ? null : new CircuitBreaker(config, control.clock, (to: BreakerState, why: string) => {
    control.publish({ kind: 'breaker', upstream: state.upstream, url: state.url, state: to, time: Date.now(), why });
  });
  if (wasEjected) control.publish({ kind: 'breaker', upstream: state.upstream, url: state.url, state: 'closed', time: Date.now(), why: 'after its circuitBreaker settings changed' });
}
