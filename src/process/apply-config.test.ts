import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { memoryWorker, type MemoryWorker } from '../../test/helpers/memory-worker.ts';
import type { Config } from '../config/schema.ts';
import { applyConfig } from './apply-config.ts';
import type { ToWorker } from './channel.ts';

const oldConfig = { version: 'old' } as unknown as Config;
const newConfig = { version: 'new' } as unknown as Config;
const versionOf = (config: Config) => (config as unknown as { version: string }).version;

interface ModelWorker extends MemoryWorker {
  /** The config this worker serves. */
  live(): string;
  /** Prepared and neither committed nor discarded. */
  pending(): number;
}

/**
 * A worker that follows the protocol as src/process/worker.ts does: prepare keeps the config under its id,
 * commit serves it, discard drops it. `prepareError` makes its prepare fail; `silentOn` makes it never answer
 * that message type.
 */
function modelWorker(name: string, options: { prepareError?: string; silentOn?: ToWorker['type'] } = {}): ModelWorker {
  let live = oldConfig;
  const prepared = new Map<number, Config>();
  const worker = memoryWorker(name, (m, w) => {
    if (m.type === options.silentOn) return;
    if (m.type === 'prepare') {
      if (options.prepareError) return w.reply({ type: 'prepared', id: m.id, ok: false, error: options.prepareError });
      prepared.set(m.id, m.config);
      w.reply({ type: 'prepared', id: m.id, ok: true });
    } else if (m.type === 'commit') {
      const config = prepared.get(m.id);
      prepared.delete(m.id);
      if (config) live = config;
      w.reply({ type: 'done', id: m.id, ok: config !== undefined });
    } else if (m.type === 'discard') {
      prepared.delete(m.id);
      w.reply({ type: 'done', id: m.id, ok: true });
    }
  });
  return Object.assign(worker, { live: () => versionOf(live), pending: () => prepared.size });
}

const types = (w: MemoryWorker) => w.received.map((m) => m.type);

describe('applyConfig (prepare everywhere, then commit everywhere or discard everywhere)', () => {
  it('commits in every worker when every worker prepared', async () => {
    const workers = [modelWorker('worker 1'), modelWorker('worker 2'), modelWorker('worker 3')];
    assert.deepEqual(await applyConfig(workers, newConfig, 1000), { unconfirmed: [] });
    for (const w of workers) {
      assert.equal(w.live(), 'new', w.name);
      assert.equal(w.pending(), 0);
      assert.deepEqual(types(w), ['prepare', 'commit']);
      assert.equal(w.handlers(), 0, 'nothing left listening');
    }
  });

  it('sends no commit before every worker has prepared', async () => {
    const order: string[] = [];
    const slow = modelWorker('worker 2');
    const workers = [modelWorker('worker 1'), slow];
    for (const w of workers) {
      const send = w.send.bind(w);
      w.send = (m) => { order.push(`${m.type} ${w.name}`); send(m); };
    }
    const listen = slow.listen.bind(slow);
    // The slow worker's prepared answer reaches the primary 20 ms late.
    slow.listen = (handler) => listen((m) => void setTimeout(() => { order.push(`${m.type} from ${slow.name}`); handler(m); }, 20));
    await applyConfig(workers, newConfig, 1000);
    assert.ok(order.indexOf('prepared from worker 2') < order.indexOf('commit worker 1'), order.join(', '));
  });

  it('discards in every worker, commits in none and fails with the error when one worker cannot prepare', async () => {
    const workers = [modelWorker('worker 1'), modelWorker('worker 2', { prepareError: 'GatewayError: no such file: /etc/keys/a.pem' }), modelWorker('worker 3')];
    await assert.rejects(applyConfig(workers, newConfig, 1000), { message: 'worker 2: GatewayError: no such file: /etc/keys/a.pem' });
    for (const w of workers) {
      assert.equal(w.live(), 'old', `${w.name} still serves the old config`);
      assert.equal(w.pending(), 0, `${w.name} released what it prepared`);
      assert.deepEqual(types(w), ['prepare', 'discard'], w.name);
    }
    const [prepare, discard] = workers[0]!.received as [Extract<ToWorker, { type: 'prepare' }>, Extract<ToWorker, { type: 'discard' }>];
    assert.equal(discard.id, prepare.id, 'the discard names what was prepared');
  });

  it('fails with the first worker\'s error, in worker order, when several cannot prepare', async () => {
    const workers = [modelWorker('worker 1'), modelWorker('worker 2', { prepareError: 'second' }), modelWorker('worker 3', { prepareError: 'third' })];
    await assert.rejects(applyConfig(workers, newConfig, 1000), { message: 'worker 2: second' });
  });

  it('counts a worker that does not answer prepare in time as a failure, and discards everywhere', async () => {
    const silent = modelWorker('worker 2', { silentOn: 'prepare' });
    const workers = [modelWorker('worker 1'), silent];
    await assert.rejects(applyConfig(workers, newConfig, 50), { message: 'worker 2 did not answer "prepare" in 50 ms' });
    assert.equal(workers[0]!.live(), 'old');
    assert.equal(workers[0]!.pending(), 0);
    assert.deepEqual(types(silent), ['prepare', 'discard'], 'the silent worker is told to discard too');
  });

  it('counts a worker that exits during prepare as a failure', async () => {
    const dying = memoryWorker('worker 2', (m, w) => { if (m.type === 'prepare') w.exit(); });
    const survivor = modelWorker('worker 1');
    await assert.rejects(applyConfig([survivor, dying], newConfig, 5000), { message: 'worker 2 exited (code 1) before answering "prepare"' });
    assert.equal(survivor.live(), 'old');
    assert.equal(survivor.pending(), 0);
  });

  it('reports a commit a worker did not confirm (it exited) without undoing the others', async () => {
    const dying = modelWorker('worker 2');
    const send = dying.send.bind(dying);
    dying.send = (m) => { send(m); if (m.type === 'commit') dying.exit(); };
    const survivor = modelWorker('worker 1');
    const applied = await applyConfig([survivor, dying], newConfig, 5000);
    assert.deepEqual(applied.unconfirmed, ['worker 2 exited (code 1) before answering "commit"']);
    assert.equal(survivor.live(), 'new');
  });

  it('uses one id for a config\'s prepare and commit, and a new one for the next config', async () => {
    const w = modelWorker('worker 1');
    await applyConfig([w], newConfig, 1000);
    await applyConfig([w], oldConfig, 1000);
    const ids = w.received.map((m) => ('id' in m ? m.id : undefined));
    assert.equal(ids[0], ids[1]);
    assert.equal(ids[2], ids[3]);
    assert.notEqual(ids[0], ids[2]);
    assert.equal(w.live(), 'old');
  });

  it('applies to no workers without waiting', async () => {
    assert.deepEqual(await applyConfig([], newConfig, 1000), { unconfirmed: [] });
  });
});
