import assert from 'node:assert/strict';
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { RequestBody } from './request-body.ts';

const stream = () => new Readable({ read() {} });

/** What an attempt does with the body: undici reports each chunk sent, then the end. */
function sendThrough(body: RequestBody, chunks: ReadonlyArray<Buffer | string>, complete = true): void {
  for (const chunk of chunks) body.sent(chunk);
  if (complete) body.sentAll();
}

describe('RequestBody for the first attempt', () => {
  it('hands the first attempt the client\'s stream itself, never a copy', () => {
    const source = stream();
    assert.equal(new RequestBody(source, 0).forAttempt(), source);
    assert.equal(new RequestBody(source, 1024).forAttempt(), source);
  });

  it('hands every attempt a body that is already bytes (a request the gateway makes itself)', () => {
    const bytes = Buffer.from('{"a":1}');
    const body = new RequestBody(bytes, 0);
    assert.equal(body.replayable, true);
    assert.equal(body.forAttempt(), bytes);
    assert.equal(body.forAttempt(), bytes);
    assert.equal(body.broken, false);
  });
});

describe('RequestBody replay', () => {
  it('replays a body kept whole within the limit, as the bytes that were sent, strings included', () => {
    const body = new RequestBody(stream(), 16);
    body.forAttempt();
    sendThrough(body, [Buffer.from('hello '), 'wörld']);
    assert.equal(body.replayable, true);
    const replay = body.forAttempt();
    assert.ok(Buffer.isBuffer(replay));
    assert.equal(replay.toString('utf8'), 'hello wörld');
    assert.equal(replay.length, 12);
    assert.deepEqual(body.forAttempt(), replay, 'a third attempt gets the same bytes again');
  });

  it('keeps a body of exactly the limit', () => {
    const body = new RequestBody(stream(), 10);
    body.forAttempt();
    sendThrough(body, ['12345', '67890']);
    assert.equal(body.replayable, true);
    assert.equal((body.forAttempt() as Buffer).toString(), '1234567890');
  });

  it('is not replayable once the body went over the limit, and has nothing for a later attempt', () => {
    const body = new RequestBody(stream(), 10);
    body.forAttempt();
    sendThrough(body, ['12345', '678901']);
    assert.equal(body.replayable, false);
    assert.equal(body.forAttempt(), undefined);
  });

  it('is not replayable while the first attempt has not sent it whole', () => {
    const body = new RequestBody(stream(), 1024);
    body.forAttempt();
    sendThrough(body, ['part'], false);
    assert.equal(body.replayable, false);
    assert.equal(body.forAttempt(), undefined);
  });

  it('hands the next attempt the client\'s stream itself when no attempt read a byte of it (the connect failed)', () => {
    const source = stream();
    source.push('unread');
    const body = new RequestBody(source, 0);
    assert.equal(body.forAttempt(), source);
    assert.equal(body.replayable, true, 'even with no copy kept');
    assert.equal(body.forAttempt(), source);
  });

  it('does not hand the stream on once an attempt sent a byte, or something read it, or it was destroyed', () => {
    const sentFrom = new RequestBody(stream(), 0);
    sentFrom.forAttempt();
    sentFrom.sent('a');
    const read = stream();
    read.push('x');
    read.read();
    const destroyed = stream();
    destroyed.destroy();
    for (const body of [sentFrom, new RequestBody(read, 0), new RequestBody(destroyed, 0)]) {
      body.forAttempt();
      assert.equal(body.replayable, false);
      assert.equal(body.forAttempt(), undefined);
    }
  });

  it('keeps nothing when the route keeps no body (limit 0)', () => {
    const body = new RequestBody(stream(), 0);
    body.forAttempt();
    sendThrough(body, ['x']);
    assert.equal(body.replayable, false);
    assert.equal(body.forAttempt(), undefined);
  });

  it('keeps an empty body whole: a later attempt sends zero bytes', () => {
    const body = new RequestBody(stream(), 10);
    body.forAttempt();
    sendThrough(body, []);
    assert.equal(body.replayable, true);
    assert.equal((body.forAttempt() as Buffer).length, 0);
  });
});

describe('RequestBody broken', () => {
  it('is not broken while the client\'s stream is open', () => {
    assert.equal(new RequestBody(stream(), 0).broken, false);
  });

  it('is broken when the client\'s stream was destroyed before it ended', () => {
    const source = stream();
    source.push('partial');
    source.destroy();
    assert.equal(new RequestBody(source, 0).broken, true);
  });

  it('is not broken when the stream ended before it was destroyed', async () => {
    const source = Readable.from(['whole']);
    source.resume();
    await new Promise((resolve) => source.once('end', resolve));
    source.destroy();
    assert.equal(new RequestBody(source, 0).broken, false);
  });

  it('reads an incoming request\'s own `complete` flag: destroyed after a complete body is not broken', () => {
    const cut = new IncomingMessage(new Socket());
    cut.destroy();
    assert.equal(new RequestBody(cut, 0).broken, true);
    const whole = new IncomingMessage(new Socket());
    whole.complete = true;
    whole.destroy();
    assert.equal(new RequestBody(whole, 0).broken, false);
  });
});
