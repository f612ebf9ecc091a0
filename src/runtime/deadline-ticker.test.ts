import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { DeadlineTicker, type DeadlineWatcher } from './deadline-ticker.ts';

type TestWatcher = DeadlineWatcher & { firedAt?: number; firedAtReal?: number; due: number; checks: number };

function watcherDueIn(ms: number): TestWatcher {
  const w: TestWatcher = {
    due: performance.now() + ms,
    checks: 0,
    deadlineSlot: -1,
    checkDeadline(now) {
      w.checks++;
      if (w.firedAt === undefined && now >= w.due) {
        w.firedAt = now;
        // `now` comes from the ticker: only the clock read here shows whether the deadline had really passed.
        w.firedAtReal = performance.now();
      }
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
    assert.ok(early.firedAtReal! >= early.due, `fired ${early.due - early.firedAtReal!} ms before its deadline by the real clock`);
    assert.ok(early.firedAt! <= early.firedAtReal!, 'the tick\'s time is never ahead of the real clock');
    assert.equal(late.firedAt, undefined);
    ticker.unwatch(early);
    ticker.unwatch(late);
    assert.equal(ticker.size, 0);
    assert.equal(early.deadlineSlot, -1);
    ticker.close();
  });

  // Spies on the (mocked) interval functions: with real timers an unwatched watcher is never checked whether
  // or not the interval keeps running, so only the calls themselves show that it stopped.
  it('stops its interval when nothing is watched and starts it again on demand', (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const started = t.mock.method(globalThis, 'setInterval');
    const cleared = t.mock.method(globalThis, 'clearInterval');
    const ticker = new DeadlineTicker(5);
    const w = watcherDueIn(60_000);
    ticker.watch(w);
    assert.equal(started.mock.callCount(), 1);
    t.mock.timers.tick(5);
    assert.equal(w.checks, 1);
    ticker.unwatch(w);
    t.mock.timers.tick(5);
    assert.equal(cleared.mock.callCount(), 1, 'the first tick with nothing watched clears the interval');
    assert.equal(cleared.mock.calls[0]!.arguments[0], started.mock.calls[0]!.result);
    const after = w.checks;
    t.mock.timers.tick(50);
    assert.equal(w.checks, after, 'no checks while nothing is watched');
    ticker.watch(w);
    assert.equal(started.mock.callCount(), 2, 'watching again starts a new interval');
    t.mock.timers.tick(5);
    assert.ok(w.checks > after);
    ticker.close();
  });

  it('tells the time of the last tick while it runs, and reads the clock while it does not', (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const ticker = new DeadlineTicker(5);
    const busy = (ms: number) => {
      const until = performance.now() + ms;
      while (performance.now() < until);
    };
    const w = watcherDueIn(60_000);
    ticker.watch(w);
    const started = ticker.now();
    busy(2);
    assert.equal(ticker.now(), started, 'no clock read between ticks');
    t.mock.timers.tick(5);
    const ticked = ticker.now();
    assert.ok(ticked >= started + 2, 'the tick moved it');
    ticker.unwatch(w);
    t.mock.timers.tick(5);
    const idle = ticker.now();
    busy(2);
    assert.ok(ticker.now() >= idle + 2, 'idle, it is the clock');
    ticker.close();
  });

  it('keeps every other watcher when one in the middle leaves, and ignores repeated watch and unwatch', async () => {
    const ticker = new DeadlineTicker(5);
    const all = Array.from({ length: 6 }, () => watcherDueIn(60_000));
    for (const w of all) ticker.watch(w);
    ticker.watch(all[0]!);
    assert.equal(ticker.size, 6, 'watching twice does not add twice');
    ticker.unwatch(all[2]!);
    ticker.unwatch(all[2]!);
    ticker.unwatch(all[0]!);
    assert.equal(ticker.size, 4);
    await new Promise((r) => setTimeout(r, 40));
    for (const i of [1, 3, 4, 5]) assert.ok(all[i]!.checks > 0, `watcher ${i} still checked`);
    const removedChecks = [all[0]!.checks, all[2]!.checks];
    await new Promise((r) => setTimeout(r, 30));
    assert.deepEqual([all[0]!.checks, all[2]!.checks], removedChecks, 'removed watchers are not checked');
    ticker.close();
  });

  it('survives watchers that leave during a tick, their own and others', async () => {
    const ticker = new DeadlineTicker(5);
    const others = Array.from({ length: 4 }, () => watcherDueIn(60_000));
    let removerChecks = 0;
    const remover: DeadlineWatcher = {
      deadlineSlot: -1,
      checkDeadline() {
        removerChecks++;
        ticker.unwatch(others[0]!);
        ticker.unwatch(remover);
      },
    };
    ticker.watch(others[0]!);
    ticker.watch(remover);
    for (const w of others.slice(1)) ticker.watch(w);
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(removerChecks, 1);
    assert.equal(ticker.size, 3);
    for (const w of others.slice(1)) assert.ok(w.checks > 0);
    ticker.close();
  });

  // Slots are as they stand when each check runs. The last watcher, checked first, removes two earlier ones
  // and itself, which leaves the array shorter than the next index; a middle one swaps an already checked
  // watcher into its slot; one removes itself and every watcher after it.
  it('checks every remaining watcher exactly once in one tick while watchers leave during it', (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const ticker = new DeadlineTicker(5);
    const all = Array.from({ length: 9 }, () => watcherDueIn(60_000));
    const leaving = (w: TestWatcher, leave: () => void) => {
      w.checkDeadline = () => {
        w.checks++;
        leave();
      };
    };
    leaving(all[8]!, () => {
      ticker.unwatch(all[0]!);
      ticker.unwatch(all[1]!);
      ticker.unwatch(all[8]!);
    });
    leaving(all[4]!, () => ticker.unwatch(all[4]!));
    leaving(all[3]!, () => {
      for (const w of all) if (w.deadlineSlot > all[3]!.deadlineSlot) ticker.unwatch(w);
      ticker.unwatch(all[3]!);
    });
    for (const w of all) ticker.watch(w);
    t.mock.timers.tick(5);
    const remaining = all.filter((w) => w.deadlineSlot !== -1);
    assert.deepEqual(remaining.map((w) => all.indexOf(w)).sort((a, b) => a - b), [2, 6, 7]);
    assert.equal(ticker.size, 3);
    for (const [i, w] of all.entries()) {
      if (w.deadlineSlot !== -1 || [3, 4, 8].includes(i)) assert.equal(w.checks, 1, `watcher ${i} checked once`);
      else assert.ok(w.checks <= 1, `watcher ${i} checked at most once before it was removed`);
    }
    const before = all.map((w) => w.checks);
    t.mock.timers.tick(5);
    assert.deepEqual(all.map((w) => w.checks), before.map((n, i) => (remaining.includes(all[i]!) ? n + 1 : n)), 'the next tick checks only those left');
    ticker.close();
  });

  // A Set with one add and one delete per request rehashes every few dozen requests, and V8 links each
  // obsolete table to its successor. Once an obsolete table was in the old generation, that link kept every
  // later table and every request in it alive through young-generation collections (docs/performance.md).
  it('leaves nothing in the old generation that keeps unwatched watchers alive through young collections', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as (options?: { type: 'minor' | 'major' }) => void;
    const oldSpace = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space')!.space_used_size;
    const ticker = new DeadlineTicker(60_000);
    const inFlight: DeadlineWatcher[] = [];
    const churn = (requests: number) => {
      for (let i = 0; i < requests; i++) {
        const w = { deadlineSlot: -1, checkDeadline() {}, payload: new Array<number>(64).fill(i) };
        ticker.watch(w);
        inFlight.push(w);
        if (inFlight.length > 32) ticker.unwatch(inFlight.shift()!);
      }
    };
    churn(2000);
    gc(); // a full collection moves the ticker's live structures to the old generation, as in a long-running gateway
    churn(2000);
    for (const w of inFlight) ticker.unwatch(w);
    inFlight.length = 0;
    await nextTurn();
    const before = oldSpace();
    gc({ type: 'minor' });
    gc({ type: 'minor' });
    gc({ type: 'minor' });
    const promoted = oldSpace() - before;
    ticker.close();
    // 2000 dead watchers carry ~1.1 MB; a structure that kept them reachable promotes all of it.
    assert.ok(promoted < 300_000, `young collections promoted ${promoted} bytes of unwatched watchers`);
  });
});
