import assert from 'node:assert/strict';
import cluster, { type Worker } from 'node:cluster';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { memoryWorker } from '../../test/helpers/memory-worker.ts';
import { ask, clusterLink, dispatch, nextId, serialization, type FromWorker, type ToWorker } from './channel.ts';
import type { GatewaySnapshot } from '../runtime/snapshot.ts';
import type { Config } from '../config/schema.ts';

const snapshot: GatewaySnapshot = { workers: 1, requests: 3, inFlight: 0, statusClasses: { '2xx': 3 }, reasons: {}, targets: [] };
const config = { marker: 'test' } as unknown as Config;

describe('ask', () => {
  it('resolves with the answer that carries the request\'s id, passing over other answers and unasked snapshots', async () => {
    const id = nextId();
    const worker = memoryWorker('worker 1', (message, w) => {
      w.reply({ type: 'snapshot', snapshot: { ...snapshot, requests: 1 } });
      w.reply({ type: 'done', id, ok: true });
      w.reply({ type: 'snapshot', id: id + 1000, snapshot: { ...snapshot, requests: 2 } });
      if (message.type === 'report') w.reply({ type: 'snapshot', id: message.id, snapshot });
    });
    const answer = await ask(worker, { type: 'report', id }, 1000);
    assert.deepEqual(answer, { type: 'snapshot', id, snapshot });
    assert.equal(worker.handlers(), 0, 'nothing left listening');
  });

  it('matches an answer without an id to a request without one (config -> listening)', async () => {
    const worker = memoryWorker('worker 1', (_, w) => w.reply({ type: 'listening', port: 8080, listeners: [] }));
    assert.deepEqual(await ask(worker, { type: 'config', config }, 1000), { type: 'listening', port: 8080, listeners: [] });
    assert.deepEqual(worker.received, [{ type: 'config', config }]);
  });

  it('types the answer by the request: prepare gets prepared, with ok and error', async () => {
    const worker = memoryWorker('worker 1', (m, w) => { if (m.type === 'prepare') w.reply({ type: 'prepared', id: m.id, ok: false, error: 'bad' }); });
    const answer = await ask(worker, { type: 'prepare', id: nextId(), config }, 1000);
    assert.equal(answer.type, 'prepared');
    assert.equal(answer.ok, false);
    assert.equal(answer.error, 'bad');
  });

  it('rejects, naming the worker and the request, when no answer comes in time', async () => {
    const worker = memoryWorker('worker 7');
    await assert.rejects(ask(worker, { type: 'commit', id: nextId() }, 30), { message: 'worker 7 did not answer "commit" in 30 ms' });
    assert.equal(worker.handlers(), 0);
  });

  it('rejects as soon as the worker exits, without waiting for the timeout', async () => {
    const worker = memoryWorker('worker 7', (_, w) => w.exit());
    const started = performance.now();
    await assert.rejects(ask(worker, { type: 'report', id: nextId() }, 10_000), { message: 'worker 7 exited (code 1) before answering "report"' });
    assert.ok(performance.now() - started < 5000);
    assert.equal(worker.handlers(), 0);
  });

  it('rejects a request to a worker that has already exited', async () => {
    const worker = memoryWorker('worker 7');
    worker.exit();
    await new Promise((resolve) => setImmediate(resolve));
    await assert.rejects(ask(worker, { type: 'report', id: nextId() }, 10_000), /worker 7 exited before answering "report"/);
  });

  it('hands out a fresh id each time', () => {
    const ids = Array.from({ length: 100 }, nextId);
    assert.equal(new Set(ids).size, 100);
  });
});

describe('dispatch', () => {
  it('calls the handler of each message\'s type with the message', () => {
    const seen: string[] = [];
    const handle = dispatch<FromWorker>({
      listening: (m) => seen.push(`listening ${m.port}`),
      prepared: (m) => seen.push(`prepared ${m.id} ${m.ok}`),
      done: (m) => seen.push(`done ${m.id}`),
      snapshot: (m) => seen.push(`snapshot ${m.snapshot.requests}`),
    });
    handle({ type: 'listening', port: 1, listeners: [] });
    handle({ type: 'prepared', id: 2, ok: true });
    handle({ type: 'snapshot', snapshot });
    assert.deepEqual(seen, ['listening 1', 'prepared 2 true', 'snapshot 3']);
  });

  it('ignores messages of no known type, inherited property names included', () => {
    let calls = 0;
    const handle = dispatch<FromWorker>({ listening: () => calls++, prepared: () => calls++, done: () => calls++, snapshot: () => calls++ });
    handle({ type: 'toString' } as unknown as FromWorker);
    handle({ type: 'surprise' } as unknown as FromWorker);
    assert.equal(calls, 0);
  });
});

describe('clusterLink over a real cluster worker', () => {
  let worker: Worker | undefined;
  after(() => {
    if (worker && !worker.isDead()) worker.process.kill('SIGKILL');
  });

  it('carries requests and answers, keeps Buffers binary, and reports the exit', async () => {
    cluster.setupPrimary({ exec: fileURLToPath(new URL('../../test/helpers/echo-worker.ts', import.meta.url)), serialization, silent: true });
    worker = cluster.fork();
    await once(worker, 'online');
    const link = clusterLink(worker);
    assert.equal(link.name, `worker ${worker.process.pid}`);

    const id = nextId();
    assert.deepEqual(await ask(link, { type: 'report', id }, 5000), { type: 'snapshot', id, snapshot: { ...snapshot, requests: 0, statusClasses: {} } });

    // JSON serialization would turn the Buffer into { type: 'Buffer', data: [...] }.
    const echoed = once(worker, 'message');
    worker.send({ type: 'binary', bytes: Buffer.from([0, 1, 254, 255]) });
    const [message] = await echoed as [{ bytes: Uint8Array }];
    assert.ok(message.bytes instanceof Uint8Array, 'a Buffer arrives as bytes');
    assert.deepEqual([...message.bytes], [0, 1, 254, 255]);

    const pending = ask(link, { type: 'commit', id: nextId() } satisfies ToWorker, 10_000);
    worker.process.kill('SIGKILL');
    await assert.rejects(pending, new RegExp(`worker ${worker.process.pid} exited \\(signal SIGKILL\\) before answering "commit"`));
  });
});
