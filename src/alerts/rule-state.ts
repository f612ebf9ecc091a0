/**
 * The state machine of one alert rule, driven by the evaluator once a second with what the window said and
 * the time (so tests drive it with any clock):
 *
 *   inactive --holds--> pending --holds for `for`--> firing --clear for `keepFiringFor`--> inactive (resolved)
 *      ^                  |                            |
 *      +------clear-------+                            +--no data in the whole window--> inactive (resolved)
 *
 * With `for: 0` a rule fires at the first evaluation its condition holds. `insufficient` (fewer than
 * minRequests in the window) changes nothing, timers included: the rule keeps its state until the window
 * has enough requests to say, or none at all. `nodata` (no request in the whole window) resolves a firing
 * rule and drops a pending one.
 */

export type RuleStateName = 'inactive' | 'pending' | 'firing';
/** What one evaluation saw: the condition holds, does not, too few requests, or none at all. */
export type Observation = 'holds' | 'clear' | 'insufficient' | 'nodata';
/** A change of state: `resolved` is firing -> inactive, `cleared` is pending -> inactive (never notified). */
export type Transition = 'pending' | 'firing' | 'resolved' | 'cleared';

export interface RuleTiming {
  /** ms the condition must hold before firing. */
  readonly for: number;
  /** ms a firing rule stays firing after the condition stops holding. */
  readonly keepFiringFor: number;
}

export class RuleState {
  state: RuleStateName = 'inactive';
  /** When the current state began (wall-clock ms); 0 while inactive. */
  since = 0;
  /** When the condition started to hold (pending and firing). */
  activeAt = 0;
  /** The last evaluation at which the condition held (firing). */
  lastHeld = 0;

  /** Applies one evaluation at `now`; returns the transition it made, if any. */
  observe(seen: Observation, now: number, timing: RuleTiming): Transition | undefined {
    if (seen === 'insufficient') return undefined;
    if (seen === 'holds') return this.#holds(now, timing);
    if (this.state === 'pending') return this.#to('inactive', now, 'cleared');
    if (this.state !== 'firing') return undefined;
    if (seen === 'nodata' || now - this.lastHeld >= timing.keepFiringFor) return this.#to('inactive', now, 'resolved');
    return undefined;
  }

  #holds(now: number, timing: RuleTiming): Transition | undefined {
    if (this.state === 'firing') {
      this.lastHeld = now;
      return undefined;
    }
    if (this.state === 'inactive') {
      this.activeAt = now;
      if (timing.for > 0) return this.#to('pending', now, 'pending');
    }
    if (now - this.activeAt < timing.for) return undefined;
    this.lastHeld = now;
    return this.#to('firing', now, 'firing');
  }

  #to(state: RuleStateName, now: number, transition: Transition): Transition {
    this.state = state;
    this.since = state === 'inactive' ? 0 : now;
    if (state === 'inactive') this.activeAt = 0;
    return transition;
  }
}
