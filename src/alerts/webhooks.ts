/**
 * Webhook deliveries of alert transitions, off the data plane: each webhook has its own bounded queue and
 * sends one delivery at a time (a POST of JSON), each attempt bounded by the webhook's `timeout`, retried
 * RETRIES times with doubling backoff, then dropped. A receiver that accepts connections and never answers
 * costs one socket and a timer per webhook, never a request's time: nothing on the request path waits here.
 * Delivered and dropped deliveries are logged (one line each) and counted.
 */
import type { WebhookConfig } from '../config/alerts-schema.ts';
import type { Logger } from '../observability/logger.ts';

const RETRIES = 3;
/** Deliveries waiting per webhook; beyond it the oldest waiting one is dropped (a receiver down for long). */
const QUEUE_LIMIT = 100;

export interface WebhookCounts {
  delivered: number;
  failedAttempts: number;
  dropped: number;
}

export interface WebhookOptions {
  /** Backoff before the first retry, ms (then doubled each retry). */
  readonly backoffMs?: number;
}

interface Delivery {
  readonly body: string;
  readonly rule: string;
  readonly state: string;
}

class WebhookQueue {
  readonly waiting: Delivery[] = [];
  sending = false;
  config: WebhookConfig;
  constructor(config: WebhookConfig) {
    this.config = config;
  }
}

export class WebhookSender {
  readonly #log: Logger;
  readonly #backoffMs: number;
  #queues = new Map<string, WebhookQueue>();
  #closed = false;
  readonly #inFlight = new Set<AbortController>();
  readonly counts = new Map<string, WebhookCounts>();

  constructor(log: Logger, options: WebhookOptions = {}) {
    this.#log = log;
    this.#backoffMs = options.backoffMs ?? 1000;
  }

  /** The webhooks of the current config; a queue of a webhook that stays is kept. */
  configure(webhooks: readonly WebhookConfig[]): void {
    const next = new Map<string, WebhookQueue>();
    for (const config of webhooks) {
      const queue = this.#queues.get(config.name) ?? new WebhookQueue(config);
      queue.config = config;
      next.set(config.name, queue);
      if (!this.counts.has(config.name)) this.counts.set(config.name, { delivered: 0, failedAttempts: 0, dropped: 0 });
    }
    this.#queues = next;
  }

  get names(): string[] {
    return [...this.#queues.keys()];
  }

  /** Queues `payload` for the named webhooks; returns at once. */
  send(names: readonly string[], payload: { rule: string; state: string }): void {
    const body = JSON.stringify(payload);
    for (const name of names) {
      const queue = this.#queues.get(name);
      if (queue === undefined || this.#closed) continue;
      if (queue.waiting.length >= QUEUE_LIMIT) this.#dropped(queue, queue.waiting.shift()!, 'queue full');
      queue.waiting.push({ body, rule: payload.rule, state: payload.state });
      if (!queue.sending) void this.#drain(queue);
    }
  }

  async #drain(queue: WebhookQueue): Promise<void> {
    queue.sending = true;
    try {
      for (let next = queue.waiting.shift(); next !== undefined && !this.#closed; next = queue.waiting.shift()) await this.#deliver(queue, next);
    } finally {
      queue.sending = false;
    }
  }

  async #deliver(queue: WebhookQueue, delivery: Delivery): Promise<void> {
    const counts = this.counts.get(queue.config.name)!;
    let why = '';
    for (let attempt = 0; attempt <= RETRIES && !this.#closed; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, this.#backoffMs * 2 ** (attempt - 1)).unref());
      why = await this.#post(queue.config, delivery.body);
      if (why === '') {
        counts.delivered++;
        this.#log.info({ webhook: queue.config.name, rule: delivery.rule, state: delivery.state, attempts: attempt + 1 }, 'alert webhook delivered');
        return;
      }
      counts.failedAttempts++;
    }
    this.#dropped(queue, delivery, why);
  }

  /** One POST; '' when the receiver answered 2xx, else why not. */
  async #post(config: WebhookConfig, body: string): Promise<string> {
    const controller = new AbortController();
    this.#inFlight.add(controller);
    const timer = setTimeout(() => controller.abort(), config.timeout).unref();
    try {
      const res = await fetch(config.url, { method: 'POST', body, headers: { 'content-type': 'application/json' }, signal: controller.signal });
      await res.arrayBuffer().catch(() => undefined);
      return res.ok ? '' : `status ${res.status}`;
    } catch (error) {
      return controller.signal.aborted ? `no answer within ${config.timeout}ms` : String((error as Error).cause ?? error);
    } finally {
      clearTimeout(timer);
      this.#inFlight.delete(controller);
    }
  }

  #dropped(queue: WebhookQueue, delivery: Delivery, why: string): void {
    this.counts.get(queue.config.name)!.dropped++;
    this.#log.warn({ webhook: queue.config.name, rule: delivery.rule, state: delivery.state, why }, 'alert webhook delivery dropped');
  }

  /** Stops: deliveries in flight are aborted, waiting ones forgotten. */
  close(): void {
    this.#closed = true;
    for (const controller of this.#inFlight) controller.abort();
    for (const queue of this.#queues.values()) queue.waiting.length = 0;
  }
}
