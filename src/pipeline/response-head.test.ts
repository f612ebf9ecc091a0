import assert from 'node:assert/strict';
import { Transform } from 'node:stream';
import { describe, it } from 'node:test';
import { ResponseHead } from './response-head.ts';

const upper = () => new Transform({ transform: (chunk: Buffer, _enc, done) => done(null, chunk.toString().toUpperCase()) });
const head = (...headers: string[]) => new ResponseHead(200, headers);

describe('ResponseHead reading', () => {
  it('gets the first value of a header, or undefined when absent', () => {
    const h = head('vary', 'Origin', 'content-type', 'text/plain', 'vary', 'Accept');
    assert.equal(h.get('vary'), 'Origin');
    assert.equal(h.get('content-type'), 'text/plain');
    assert.equal(h.get('etag'), undefined);
  });

  it('gets every value of a repeated header in order, and none for an absent one', () => {
    const h = head('set-cookie', 'a=1', 'x-request-id', 'r', 'set-cookie', 'b=2');
    assert.deepEqual(h.getAll('set-cookie'), ['a=1', 'b=2']);
    assert.deepEqual(h.getAll('etag'), []);
  });

  it('reads names as given: the list holds lower-case names, so a mixed-case lookup finds nothing', () => {
    assert.equal(head('content-type', 'text/plain').get('Content-Type'), undefined);
  });

  it('keeps the status and edits the very list it was given', () => {
    const list = ['a', '1'];
    const h = new ResponseHead(404, list);
    h.append('b', '2');
    assert.equal(h.status, 404);
    assert.equal(h.headers, list);
    assert.deepEqual(list, ['a', '1', 'b', '2']);
  });
});

describe('ResponseHead editing', () => {
  it('sets a header: every earlier value goes, one value is added at the end', () => {
    const h = head('vary', 'Origin', 'x-a', '1', 'vary', 'Accept');
    h.set('vary', 'Cookie');
    assert.deepEqual(h.headers, ['x-a', '1', 'vary', 'Cookie']);
  });

  it('sets a header that was absent', () => {
    const h = head('x-a', '1');
    h.set('cache-control', 'no-store');
    assert.deepEqual(h.headers, ['x-a', '1', 'cache-control', 'no-store']);
  });

  it('appends one more value after the others', () => {
    const h = head('vary', 'Origin');
    h.append('vary', 'Accept');
    h.append('x-new', 'y');
    assert.deepEqual(h.headers, ['vary', 'Origin', 'vary', 'Accept', 'x-new', 'y']);
  });

  it('removes every value of a header and keeps the others in order', () => {
    const h = head('server', 'a', 'x-1', '1', 'server', 'b', 'x-2', '2', 'server', 'c');
    h.remove('server');
    assert.deepEqual(h.headers, ['x-1', '1', 'x-2', '2']);
    h.remove('absent');
    assert.deepEqual(h.headers, ['x-1', '1', 'x-2', '2']);
  });

  it('removes down to an empty list', () => {
    const h = head('a', '1', 'a', '2');
    h.remove('a');
    assert.deepEqual(h.headers, []);
  });
});

describe('ResponseHead body transforms', () => {
  it('has no transforms until one is asked for', () => {
    assert.equal(head('content-length', '5').transforms, undefined);
  });

  it('drops Content-Length when a transform is asked for, since the length changes', () => {
    const h = head('content-type', 'text/plain', 'content-length', '5', 'etag', '"x"');
    h.transformBody(upper);
    assert.equal(h.get('content-length'), undefined);
    assert.deepEqual(h.headers, ['content-type', 'text/plain', 'etag', '"x"']);
  });

  it('keeps Content-Length for a transform that passes the same bytes (sameBytes), until one that changes them', () => {
    const h = head('content-length', '5');
    h.transformBody(upper, true);
    assert.equal(h.get('content-length'), '5');
    assert.deepEqual(h.transforms, [upper]);
    h.transformBody(upper);
    assert.equal(h.get('content-length'), undefined);
  });

  it('keeps the transforms in the order they were asked for, as factories (one stream per response)', () => {
    const h = head();
    const second = () => new Transform({ transform: (c: Buffer, _e, done) => done(null, c) });
    h.transformBody(upper);
    h.transformBody(second);
    assert.deepEqual(h.transforms, [upper, second]);
  });
});
