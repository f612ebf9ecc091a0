import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { duration, MAX_TIMER_MS, parseDuration, parseSize, size } from './units.ts';

describe('parseDuration', () => {
  it('accepts each unit', () => {
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('5m'), 300_000);
    assert.equal(parseDuration('1h'), 3_600_000);
  });

  it('accepts fractions and rounds to whole milliseconds', () => {
    assert.equal(parseDuration('1.5s'), 1500);
    assert.equal(parseDuration('0.25m'), 15_000);
    assert.equal(parseDuration('1.4ms'), 1);
  });

  it('accepts zero, surrounding spaces and a space before the unit', () => {
    assert.equal(parseDuration('0s'), 0);
    assert.equal(parseDuration(' 10 s '), 10_000);
  });

  it('takes a number as milliseconds', () => {
    assert.equal(parseDuration(1500), 1500);
    assert.equal(parseDuration(0), 0);
    assert.equal(parseDuration(2.6), 3);
  });

  it('rejects a string without a unit', () => {
    assert.equal(parseDuration('30'), undefined);
  });

  it('rejects unknown units, upper case and words', () => {
    for (const input of ['30 seconds', '1d', '2w', '10S', '1H', 'soon', '', 's', '1h30m', '.5s', '1.s']) {
      assert.equal(parseDuration(input), undefined, input);
    }
  });

  it('rejects negative and non-finite numbers', () => {
    for (const input of [-1, Number.NaN, Number.POSITIVE_INFINITY]) assert.equal(parseDuration(input), undefined, String(input));
    assert.equal(parseDuration('-1s'), undefined);
  });

  it('accepts days only when asked to, and the other units then too', () => {
    assert.equal(parseDuration('180d', true), 180 * 86_400_000);
    assert.equal(parseDuration(' 1.5 d ', true), 129_600_000);
    assert.equal(parseDuration('12h', true), 43_200_000);
    for (const input of ['1D', '1w', 'd', '1d2h']) assert.equal(parseDuration(input, true), undefined, input);
  });
});

describe('parseSize', () => {
  it('accepts binary units as powers of 1024', () => {
    assert.equal(parseSize('1KiB'), 1024);
    assert.equal(parseSize('1MiB'), 1_048_576);
    assert.equal(parseSize('2GiB'), 2 * 1024 ** 3);
  });

  it('accepts decimal units as powers of 1000', () => {
    assert.equal(parseSize('1KB'), 1000);
    assert.equal(parseSize('1MB'), 1_000_000);
    assert.equal(parseSize('1GB'), 1_000_000_000);
  });

  it('accepts bytes, fractions and any letter case', () => {
    assert.equal(parseSize('512b'), 512);
    assert.equal(parseSize('512B'), 512);
    assert.equal(parseSize('1.5KiB'), 1536);
    assert.equal(parseSize('16kib'), 16_384);
    assert.equal(parseSize(' 8 KiB '), 8192);
  });

  it('takes a whole number as bytes', () => {
    assert.equal(parseSize(1_048_576), 1_048_576);
    assert.equal(parseSize(0), 0);
  });

  it('rejects a string without a unit', () => {
    assert.equal(parseSize('1024'), undefined);
  });

  it('rejects unknown units and words', () => {
    for (const input of ['1TB', '1K', '1M', '1 kilobyte', 'big', '', 'KiB', '-1KiB']) {
      assert.equal(parseSize(input), undefined, input);
    }
  });

  it('rejects fractional, negative and unsafe numbers', () => {
    for (const input of [1.5, -1, Number.NaN, 2 ** 53]) assert.equal(parseSize(input), undefined, String(input));
  });
});

describe('duration() and size() schema fields', () => {
  it('parse to milliseconds and bytes', () => {
    assert.equal(duration().parse('2s'), 2000);
    assert.equal(size().parse('1MiB'), 1_048_576);
  });

  it('reject bad input with a message that shows the accepted forms', () => {
    const d = duration().safeParse('2 secs');
    assert.equal(d.success, false);
    assert.equal(d.error?.issues[0]?.message, 'invalid duration "2 secs": use e.g. "250ms", "30s", "5m", "1h"');
    const s = size().safeParse('lots');
    assert.equal(s.error?.issues[0]?.message, 'invalid size "lots": use e.g. "16KiB", "1MiB", "1MB" or a number of bytes');
  });

  it('reject a value of another type', () => {
    assert.equal(duration().safeParse(true).success, false);
    assert.equal(size().safeParse(null).success, false);
  });

  it('accepts the longest duration a Node timer can wait and refuses one beyond it', () => {
    assert.equal(duration().parse(MAX_TIMER_MS), MAX_TIMER_MS);
    assert.equal(duration().parse('596h'), 596 * 3_600_000);
    const tooLong = duration().safeParse('597h');
    assert.equal(tooLong.success, false);
    assert.match(tooLong.error?.issues[0]?.message ?? '', /^duration "597h" is too long: at most 2147483647ms/);
  });
});

describe('duration({ days: true }), for periods that are never timers', () => {
  const long = duration({ days: true });

  it('takes days and has no timer cap', () => {
    assert.equal(long.parse('365d'), 365 * 86_400_000);
    assert.equal(long.parse('0s'), 0);
    assert.equal(long.parse(MAX_TIMER_MS + 1), MAX_TIMER_MS + 1);
  });

  it('refuses what is no duration, or more days than a number holds exactly, with examples in days', () => {
    for (const input of ['a year', '1e3d', `${2 ** 53}d`]) {
      const parsed = long.safeParse(input);
      assert.equal(parsed.error?.issues[0]?.message, `invalid duration ${JSON.stringify(input)}: use e.g. "365d", "180d", "12h" or "0s"`, input);
    }
  });

  it('leaves plain duration() without days', () => {
    assert.equal(duration().safeParse('1d').error?.issues[0]?.message, 'invalid duration "1d": use e.g. "250ms", "30s", "5m", "1h"');
  });
});
