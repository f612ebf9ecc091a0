import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DeadlineTicker, type DeadlineWatcher } from './deadline-ticker.ts';

function watcherDueIn(ms: number): DeadlineWatcher & { firedAt?: number; due: number } {
  const w: DeadlineWatcher & { firedAt?: number; due: number } = {
    due: performance.now() + ms,
    checkDeadline(now) {
      if (w.firedAt === undefined && now >= w.due) w.firedAt = now;
    },
  };
  return w;
}

describe('deadline ticker', () => {
  it('checks every watcher on each tick until it is unwatched', async () => {
    const ticker = new DeadlineTicker(5);
    const early = watcherDueIn(30);
    const late = watcherDueIn(5_000);
    ticker.watch(early);
    ticker.watch(late);
    const deadline = Date.now() + 2000;
    while (early.firedAt === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.ok(early.firedAt! >= early.due, 'never before its deadline');
    assert.equal(late.firedAt, undefined);
    ticker.unwatch(early);
    ticker.unwatch(late);
    assert.equal(ticker.size, 0);
    ticker.close();
  });

  it('stops its interval when nothing is watched and starts it again on demand', async () => {
    const ticker = new DeadlineTicker(5);
    let checks = 0;
    const w: DeadlineWatcher = { checkDeadline: () => { checks++; } };
    ticker.watch(w);
    await new Promise((r) => setTimeout(r, 40));
    assert.ok(checks > 0);
    ticker.unwatch(w);
    await new Promise((r) => setTimeout(r, 20));
    const after = checks;
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(checks, after, 'no checks while nothing is watched');
    ticker.watch(w);
    await new Promise((r) => setTimeout(r, 40));
    assert.ok(checks > after);
    ticker.close();
  });
});
