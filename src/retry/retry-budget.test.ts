import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RetryBudget, SLOT_MS } from './retry-budget.ts';

const T0 = 1_000_000;

/** How many of `asked` retries at `now` the budget grants. */
function grants(budget: RetryBudget, now: number, asked: number, settings: { ratio: number; minPerSecond: number; window: number }): number {
  let granted = 0;
  for (let i = 0; i < asked; i++) if (budget.tryRetry(now, settings)) granted++;
  return granted;
}

describe('RetryBudget', () => {
  it('allows minPerSecond × window seconds with no requests at all', () => {
    const budget = new RetryBudget();
    assert.equal(grants(budget, T0, 100, { ratio: 0.2, minPerSecond: 2, window: 10_000 }), 20);
  });

  it('allows ratio × requests in the window on top of the floor', () => {
    const budget = new RetryBudget();
    for (let i = 0; i < 100; i++) budget.request(T0);
    assert.equal(grants(budget, T0 + 50, 100, { ratio: 0.2, minPerSecond: 0, window: 10_000 }), 20);
    assert.equal(grants(budget, T0 + 60, 100, { ratio: 0.2, minPerSecond: 1, window: 10_000 }), 10, 'the floor adds 10 more');
  });

  it('forgets requests and retries older than the window', () => {
    const budget = new RetryBudget();
    const settings = { ratio: 0.5, minPerSecond: 0, window: 1000 };
    for (let i = 0; i < 10; i++) budget.request(T0);
    assert.equal(grants(budget, T0, 10, settings), 5);
    assert.equal(grants(budget, T0 + 500, 10, settings), 0, 'still within the window');
    for (let i = 0; i < 10; i++) budget.request(T0 + 1000 + SLOT_MS);
    assert.equal(grants(budget, T0 + 1000 + SLOT_MS, 10, settings), 5, 'the old retries left with their requests');
  });

  it('lets each route read the same counts with its own window and ratio', () => {
    const budget = new RetryBudget();
    for (let i = 0; i < 10; i++) budget.request(T0);
    for (let i = 0; i < 10; i++) budget.request(T0 + 5000);
    assert.equal(grants(budget, T0 + 5000, 100, { ratio: 1, minPerSecond: 0, window: 1000 }), 10, 'a 1s window sees the last 10 requests');
    assert.equal(grants(budget, T0 + 5000, 100, { ratio: 1, minPerSecond: 0, window: 10_000 }), 10, 'a 10s window sees 20 requests, 10 retries already taken');
  });

  it('survives a jump longer than the ring and a time before its newest slot', () => {
    const budget = new RetryBudget();
    budget.request(T0);
    budget.request(T0 + 3_600_000);
    budget.request(T0 + 3_600_000 - 50);
    assert.equal(grants(budget, T0 + 3_600_000, 10, { ratio: 1, minPerSecond: 0, window: 60_000 }), 2);
  });
});
