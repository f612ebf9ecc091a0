import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { testExchange } from '../../test/helpers/policy-harness.ts';
import type { Exchange } from './exchange.ts';
import { FinishHooks } from './finish-hooks.ts';

/** A real pino logger whose lines land in `lines`, parsed; and a clock the test moves. */
function setup() {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'info' }, { write: (line: string) => { lines.push(JSON.parse(line) as Record<string, unknown>); } });
  const clock = { now: 1_000 };
  return { hooks: new FinishHooks(log, () => clock.now), lines, clock };
}

describe('finish hooks', () => {
  it('runs every hook once per finished request, in the order they were added', () => {
    const { hooks } = setup();
    const calls: string[] = [];
    hooks.add('a', (ex) => calls.push(`a:${ex.requestId}`));
    hooks.add('b', (ex) => calls.push(`b:${ex.requestId}`));
    hooks.add('c', (ex) => calls.push(`c:${ex.requestId}`));
    assert.equal(hooks.size, 3);
    hooks.run(testExchange({ requestId: 'r-1' }));
    hooks.run(testExchange({ requestId: 'r-2' }));
    assert.deepEqual(calls, ['a:r-1', 'b:r-1', 'c:r-1', 'a:r-2', 'b:r-2', 'c:r-2']);
  });

  it('hands each hook the exchange itself', () => {
    const { hooks } = setup();
    const seen: Exchange[] = [];
    hooks.add('seen', (ex) => seen.push(ex));
    const ex = testExchange();
    hooks.run(ex);
    assert.equal(seen[0], ex);
  });

  it('stops running a hook once it is removed, and removing twice is harmless', () => {
    const { hooks } = setup();
    const calls: string[] = [];
    const removeA = hooks.add('a', () => calls.push('a'));
    hooks.add('b', () => calls.push('b'));
    removeA();
    removeA();
    assert.equal(hooks.size, 1);
    hooks.run(testExchange());
    assert.deepEqual(calls, ['b']);
  });

  it('keeps two hooks added under the same name apart: removing one leaves the other', () => {
    const { hooks } = setup();
    const calls: number[] = [];
    const removeFirst = hooks.add('same', () => calls.push(1));
    hooks.add('same', () => calls.push(2));
    removeFirst();
    hooks.run(testExchange());
    assert.deepEqual(calls, [2]);
  });

  it('applies a hook added or removed while the hooks run from the next request on', () => {
    const { hooks } = setup();
    const calls: string[] = [];
    let removeB: () => void = () => {};
    hooks.add('a', () => {
      calls.push('a');
      removeB();
      hooks.add('late', () => calls.push('late'));
    });
    removeB = hooks.add('b', () => calls.push('b'));
    hooks.run(testExchange());
    assert.deepEqual(calls, ['a', 'b'], 'this request still sees the list it started with');
    calls.length = 0;
    hooks.run(testExchange());
    assert.deepEqual(calls, ['a', 'late'], 'b is gone and late runs');
  });

  it('runs the other hooks when one throws, and logs the throw with the hook\'s name and the request ID', () => {
    const { hooks, lines } = setup();
    const calls: string[] = [];
    hooks.add('before', () => calls.push('before'));
    hooks.add('broken', () => {
      throw new Error('boom');
    });
    hooks.add('after', () => calls.push('after'));
    hooks.run(testExchange({ requestId: 'r-7' }));
    assert.deepEqual(calls, ['before', 'after']);
    assert.equal(lines.length, 1);
    const line = lines[0]!;
    assert.equal(line.level, 50);
    assert.equal(line.hook, 'broken');
    assert.equal(line.requestId, 'r-7');
    assert.equal((line.err as { message: string }).message, 'boom');
    assert.match(String(line.msg), /a finish hook threw/);
  });

  it('logs a hook that keeps throwing at most once a minute, and each broken hook on its own', () => {
    const { hooks, lines, clock } = setup();
    hooks.add('one', () => {
      throw new Error('one');
    });
    hooks.add('two', () => {
      throw new Error('two');
    });
    for (let i = 0; i < 50; i++) hooks.run(testExchange({ requestId: `a-${i}` }));
    assert.deepEqual(lines.map((l) => [l.hook, l.requestId]), [['one', 'a-0'], ['two', 'a-0']]);
    clock.now += 59_999;
    hooks.run(testExchange({ requestId: 'b' }));
    assert.equal(lines.length, 2, 'still within the minute');
    clock.now += 1;
    hooks.run(testExchange({ requestId: 'c' }));
    assert.deepEqual(lines.slice(2).map((l) => [l.hook, l.requestId]), [['one', 'c'], ['two', 'c']]);
  });

  it('runs nothing and logs nothing with no hooks', () => {
    const { hooks, lines } = setup();
    assert.equal(hooks.size, 0);
    hooks.run(testExchange());
    assert.deepEqual(lines, []);
  });

  it('runs the request\'s own callbacks (Exchange.atFinish) after the hooks, and one that throws does not stop the rest', () => {
    const { hooks, lines } = setup();
    const calls: string[] = [];
    hooks.add('hook', () => calls.push('hook'));
    const ex = testExchange({ requestId: 'r-own' });
    ex.atFinish(() => { throw new Error('boom'); });
    ex.atFinish((e) => calls.push(`own:${e.requestId}`));
    hooks.run(ex);
    hooks.run(testExchange({ requestId: 'r-none' }));
    assert.deepEqual(calls, ['hook', 'own:r-own', 'hook']);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.requestId, 'r-own');
  });
});
