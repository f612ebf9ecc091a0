import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { until } from '../../test/helpers/fake-upstream.ts';
import { tempDir, testConfig } from '../../test/helpers/start-gateway.ts';
import type { Config } from '../config/schema.ts';
import { createLogger } from '../observability/logger.ts';
import type { GatewaySnapshot } from '../runtime/snapshot.ts';
import type { FromWorker, ToWorker } from './channel.ts';
import { workerSide } from './worker.ts';

// Targets are never contacted: these tests look at what the worker serves through its snapshots.
const A = 'http://127.0.0.1:1';
const B = 'http://127.0.0.1:2';

function config(targets: string[], extra: Record<string, unknown> = {}): Config {
  return testConfig({
    log: { level: 'silent', access: { enabled: false } },
    upstreams: { u: { targets: targets.map((url) => ({ url })) }, ...extra },
    routes: [{ name: 'a', match: { path: '/a' }, upstream: 'u' }],
  });
}

/** A config that validates (the CA path exists) but cannot be built: the CA "file" is a directory. */
function unbuildable(): Config {
  return config([A], { v: { targets: [{ url: 'https://127.0.0.1:3' }], tls: { ca: tempDir() } } });
}

interface Primary {
  /** Sends to the worker, as a structured clone like the IPC channel. */
  send(message: ToWorker): void;
  /** The first message from the worker (after `from`) that `match` accepts, waiting for it (bounded). */
  next<T extends FromWorker>(match: (m: FromWorker) => m is T, from?: number): Promise<T>;
  readonly received: FromWorker[];
  exitCode(): number | undefined;
}

let drain: (() => Promise<void>) | undefined;
afterEach(async () => {
  await drain?.();
  drain = undefined;
});

/** A worker driven by an in-memory primary, started with `first`. */
async function startWorker(first: Config, snapshotIntervalMs = 60_000): Promise<Primary> {
  const received: FromWorker[] = [];
  let code: number | undefined;
  const handle = workerSide({ send: (m) => void received.push(structuredClone(m)), log: createLogger('silent'), exit: (c) => { code = c; }, snapshotIntervalMs });
  const primary: Primary = {
    send: (message) => handle(structuredClone(message)),
    async next<T extends FromWorker>(match: (m: FromWorker) => m is T, from = 0) {
      let found: T | undefined;
      await until(() => (found = received.slice(from).find(match)) !== undefined, 5000, 'a message from the worker');
      return found!;
    },
    received,
    exitCode: () => code,
  };
  drain = async () => {
    if (code !== undefined) return;
    primary.send({ type: 'drain' });
    await until(() => code !== undefined, 10_000, 'the drain');
  };
  primary.send({ type: 'config', config: first });
  await primary.next((m): m is Extract<FromWorker, { type: 'listening' }> => m.type === 'listening');
  return primary;
}

let lastId = 1000;

/** Asks for a snapshot and returns the answer. */
async function report(primary: Primary): Promise<GatewaySnapshot> {
  const id = ++lastId;
  primary.send({ type: 'report', id });
  return (await primary.next((m): m is Extract<FromWorker, { type: 'snapshot' }> => m.type === 'snapshot' && m.id === id)).snapshot;
}

async function request<T extends 'prepared' | 'done'>(primary: Primary, message: ToWorker & { id: number }, answer: T): Promise<Extract<FromWorker, { type: T }>> {
  const from = primary.received.length;
  primary.send(message);
  return primary.next((m): m is Extract<FromWorker, { type: T }> => m.type === answer && 'id' in m && m.id === message.id, from);
}

const urls = (s: GatewaySnapshot) => s.targets.map((t) => t.url);

describe('a worker on the channel', () => {
  it('answers its first config with the port it listens on, then reports a snapshot unasked', async () => {
    const primary = await startWorker(config([A]));
    const listening = primary.received[0] as Extract<FromWorker, { type: 'listening' }>;
    assert.ok(listening.port > 0);
    const first = await primary.next((m): m is Extract<FromWorker, { type: 'snapshot' }> => m.type === 'snapshot');
    assert.equal(first.id, undefined, 'sent on its own, not as an answer');
    assert.deepEqual(urls(first.snapshot), [A]);
    assert.equal(first.snapshot.workers, 1);
  });

  it('keeps reporting on its interval', async () => {
    const primary = await startWorker(config([A]), 20);
    await until(() => primary.received.filter((m) => m.type === 'snapshot').length >= 4, 5000, 'four snapshots');
  });

  it('sends its metrics with a snapshot when asked and metrics are on, and none when off', async () => {
    const on = await startWorker(config([A]));
    const id = ++lastId;
    on.send({ type: 'report', id, metrics: true });
    const answer = await on.next((m): m is Extract<FromWorker, { type: 'snapshot' }> => m.type === 'snapshot' && m.id === id);
    const names = (answer.metrics ?? []).map((m) => m.name);
    assert.ok(names.includes('gatehouse_requests_total') && names.includes('gatehouse_target_available'), names.join(', '));
    await drain?.();
    const off = await startWorker({ ...config([A]), metrics: { enabled: false } });
    const first = await off.next((m): m is Extract<FromWorker, { type: 'snapshot' }> => m.type === 'snapshot');
    assert.equal(first.metrics, undefined, 'unasked');
    const offId = ++lastId;
    off.send({ type: 'report', id: offId, metrics: true });
    const offAnswer = await off.next((m): m is Extract<FromWorker, { type: 'snapshot' }> => m.type === 'snapshot' && m.id === offId);
    assert.equal(offAnswer.metrics, undefined, 'metrics off');
  });

  it('answers a report with the request\'s id', async () => {
    const primary = await startWorker(config([A]));
    assert.deepEqual(urls(await report(primary)), [A]);
  });

  it('prepares without serving, and serves what it prepared on commit', async () => {
    const primary = await startWorker(config([A]));
    assert.deepEqual(await request(primary, { type: 'prepare', id: 1, config: config([A, B]) }, 'prepared'), { type: 'prepared', id: 1, ok: true });
    assert.deepEqual(urls(await report(primary)), [A], 'prepared is not serving');
    assert.deepEqual(await request(primary, { type: 'commit', id: 1 }, 'done'), { type: 'done', id: 1, ok: true });
    assert.deepEqual(urls(await report(primary)), [A, B]);
  });

  it('releases a prepared runtime on discard: the old config serves on and a later commit of it fails', async () => {
    const primary = await startWorker(config([A]));
    await request(primary, { type: 'prepare', id: 2, config: config([A, B]) }, 'prepared');
    assert.deepEqual(await request(primary, { type: 'discard', id: 2 }, 'done'), { type: 'done', id: 2, ok: true });
    assert.deepEqual(urls(await report(primary)), [A]);
    const commit = await request(primary, { type: 'commit', id: 2 }, 'done');
    assert.equal(commit.ok, false);
    assert.match(commit.error ?? '', /nothing was prepared as 2/);
  });

  it('acknowledges the discard of something it never prepared', async () => {
    const primary = await startWorker(config([A]));
    assert.deepEqual(await request(primary, { type: 'discard', id: 3 }, 'done'), { type: 'done', id: 3, ok: true });
  });

  it('answers prepare with the build error when a config cannot be built, and keeps serving the old one', async () => {
    const primary = await startWorker(config([A]));
    const prepared = await request(primary, { type: 'prepare', id: 4, config: unbuildable() }, 'prepared');
    assert.equal(prepared.ok, false);
    assert.match(prepared.error ?? '', /EISDIR/);
    assert.deepEqual(urls(await report(primary)), [A]);
  });

  it('marks a target unavailable and available again on command, by upstream and URL', async () => {
    const primary = await startWorker(config([A, B]));
    const off = await request(primary, { type: 'command', id: 5, command: { type: 'set-target-available', upstream: 'u', url: B, available: false } }, 'done');
    assert.deepEqual(off, { type: 'done', id: 5, ok: true });
    assert.deepEqual((await report(primary)).targets.map((t) => [t.url, t.available]), [[A, true], [B, false]]);
    await request(primary, { type: 'command', id: 6, command: { type: 'set-target-available', upstream: 'u', url: B, available: true } }, 'done');
    assert.deepEqual((await report(primary)).targets.map((t) => t.available), [true, true]);
  });

  it('keeps a target unavailable across a reload that keeps it', async () => {
    const primary = await startWorker(config([A]));
    await request(primary, { type: 'command', id: 7, command: { type: 'set-target-available', upstream: 'u', url: A, available: false } }, 'done');
    await request(primary, { type: 'prepare', id: 8, config: config([A, B]) }, 'prepared');
    await request(primary, { type: 'commit', id: 8 }, 'done');
    assert.deepEqual((await report(primary)).targets.map((t) => [t.url, t.available]), [[A, false], [B, true]]);
  });

  it('answers a command naming an unknown upstream or target with ok false and the reason', async () => {
    const primary = await startWorker(config([A]));
    const upstream = await request(primary, { type: 'command', id: 9, command: { type: 'set-target-available', upstream: 'nope', url: A, available: false } }, 'done');
    assert.deepEqual(upstream, { type: 'done', id: 9, ok: false, error: 'Error: no upstream "nope"' });
    const target = await request(primary, { type: 'command', id: 10, command: { type: 'set-target-available', upstream: 'u', url: B, available: false } }, 'done');
    assert.deepEqual(target, { type: 'done', id: 10, ok: false, error: `Error: upstream "u" has no target ${B}` });
  });

  it('acknowledges reopen-logs and purge', async () => {
    const primary = await startWorker(config([A]));
    assert.deepEqual(await request(primary, { type: 'command', id: 11, command: { type: 'reopen-logs' } }, 'done'), { type: 'done', id: 11, ok: true });
    assert.deepEqual(await request(primary, { type: 'command', id: 12, command: { type: 'purge' } }, 'done'), { type: 'done', id: 12, ok: true });
  });

  it('drains on order: exits 0 and stops reporting', async () => {
    const primary = await startWorker(config([A]), 20);
    await request(primary, { type: 'prepare', id: 13, config: config([A, B]) }, 'prepared');
    primary.send({ type: 'drain' });
    await until(() => primary.exitCode() !== undefined, 10_000, 'the drain');
    assert.equal(primary.exitCode(), 0);
    const reports = primary.received.length;
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(primary.received.length, reports, 'no snapshot after the drain');
  });

  it('exits 1 when its first config cannot be served, telling the primary why', async () => {
    const received: FromWorker[] = [];
    let code: number | undefined;
    const handle = workerSide({ send: (m) => void received.push(m), log: createLogger('silent'), exit: (c) => { code = c; } });
    handle({ type: 'config', config: unbuildable() });
    await until(() => code !== undefined, 5000, 'the exit');
    assert.equal(code, 1);
    assert.deepEqual(received.map((m) => m.type), ['listening']);
    const [answer] = received as Array<Extract<FromWorker, { type: 'listening' }>>;
    assert.equal(answer!.listeners.length, 0);
    assert.ok(answer!.failure?.message, 'the reason travels to the primary');
  });
});
