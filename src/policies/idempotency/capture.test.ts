import assert from 'node:assert/strict';
import { once } from 'node:events';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, it } from 'node:test';
import { CaptureBody } from './capture.ts';

async function run(chunks: string[], maxBytes: number, settle: (body: Buffer | undefined) => Promise<void>): Promise<string> {
  const out = new PassThrough();
  let sent = '';
  out.on('data', (c: Buffer) => { sent += c.toString(); });
  await pipeline(Readable.from(chunks.map((c) => Buffer.from(c))), new CaptureBody(maxBytes, settle), out);
  return sent;
}

describe('CaptureBody', () => {
  it('passes every byte through unchanged and hands over the whole body at the end', async () => {
    let got: Buffer | undefined;
    const sent = await run(['ab', 'cd', 'e'], 5, async (body) => { got = body; });
    assert.equal(sent, 'abcde');
    assert.equal(got?.toString(), 'abcde');
  });

  it('hands over undefined for a body one byte over the bound, and still passes it all', async () => {
    let got: Buffer | undefined | null = null;
    const sent = await run(['abc', 'def'], 5, async (body) => { got = body; });
    assert.equal(sent, 'abcdef');
    assert.equal(got, undefined);
  });

  it('hands over an empty body for a response without one', async () => {
    let got: Buffer | undefined;
    await run([], 5, async (body) => { got = body; });
    assert.equal(got?.length, 0);
  });

  it('holds the end back until settling is done', async () => {
    let settleDone: () => void = () => {};
    const capture = new CaptureBody(100, () => new Promise<void>((resolve) => { settleDone = resolve; }));
    let ended = false;
    capture.on('data', () => {});
    capture.on('end', () => { ended = true; });
    capture.end('x');
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    assert.equal(ended, false);
    settleDone();
    await once(capture, 'end');
    assert.equal(ended, true);
  });

  it('ends the body even when settling fails', async () => {
    const sent = await run(['ok'], 5, () => Promise.reject(new Error('store down')));
    assert.equal(sent, 'ok');
  });
});
