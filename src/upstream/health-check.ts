/**
 * healthCheck: active checks of one upstream's targets, off unless set. Every `interval` each target gets a
 * GET of `path` (under the target URL's own path); an answer with a status in `expectStatus` within
 * `timeout` passes, anything else fails. A target counts as healthy until `unhealthyAfter` checks in a row
 * fail (so a restart does not blackhole traffic before the first check), and comes back after
 * `healthyAfter` passes in a row. The checks run once per gateway instance (health-monitor.ts), not in every
 * worker. This file holds the settings, the pass/fail counting and one check; it keeps no timers.
 */
import { z } from 'zod';
import type { Client } from 'undici';
import { duration } from '../fields/units.ts';

export const healthCheckSchema = z.strictObject({
  path: z.string().regex(/^\/[^\s?#]*(\?[^\s#]*)?$/, 'must be a path starting with "/"').default('/health')
    .describe('Path requested from each target (after the target URL\'s own path), e.g. /health.'),
  interval: duration().prefault('5s').describe('Time between the starts of two checks of one target.'),
  timeout: duration().prefault('1s').describe('A check with no complete answer by then fails.'),
  healthyAfter: z.number().int().min(1).default(2).describe('Consecutive passes that bring an unhealthy target back.'),
  unhealthyAfter: z.number().int().min(1).default(3).describe('Consecutive failures that take a healthy target out.'),
  expectStatus: z.array(z.number().int().min(100).max(599)).min(1).default([200]).describe('Statuses that pass.'),
}).superRefine((check, ctx) => {
  for (const key of ['interval', 'timeout'] as const) {
    if (check[key] < 1) ctx.addIssue({ code: 'custom', path: [key], message: 'must be at least 1ms' });
  }
}).describe('Active health checks, off unless set. A target counts as healthy until its first checks fail.');

export type HealthCheckConfig = z.output<typeof healthCheckSchema>;

/** Counts one target's check results; says when the target changes sides. */
export class HealthCount {
  readonly #config: HealthCheckConfig;
  healthy = true;
  #streak = 0;

  constructor(config: HealthCheckConfig) {
    this.#config = config;
  }

  /** One result; returns why the target changed sides, or undefined when it did not. */
  record(passed: boolean, detail: string): string | undefined {
    if (passed === this.healthy) {
      this.#streak = 0;
      return undefined;
    }
    const needed = this.healthy ? this.#config.unhealthyAfter : this.#config.healthyAfter;
    if (++this.#streak < needed) return undefined;
    this.healthy = passed;
    this.#streak = 0;
    const checks = needed === 1 ? 'check' : 'checks';
    return passed ? `after ${needed} passed ${checks}` : `after ${needed} failed ${checks} (${detail})`;
  }
}

export interface CheckResult {
  readonly passed: boolean;
  /** The status, or why there was none: "status 503", "ECONNREFUSED", "timeout after 1000ms". */
  readonly detail: string;
}

/** One check of the target behind `client`, at `path` (the target's base path included). Never rejects. */
export async function checkOnce(client: Client, path: string, config: HealthCheckConfig): Promise<CheckResult> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), config.timeout);
  try {
    const { statusCode, body } = await client.request({ method: 'GET', path, signal: controller.signal, headers: { 'user-agent': 'gatehouse-health-check' } });
    await body.dump({ limit: 64 * 1024, signal: controller.signal });
    if (controller.signal.aborted) return { passed: false, detail: `timeout after ${config.timeout}ms` };
    return { passed: config.expectStatus.includes(statusCode), detail: `status ${statusCode}` };
  } catch (error) {
    if (controller.signal.aborted) return { passed: false, detail: `timeout after ${config.timeout}ms` };
    const err = error as NodeJS.ErrnoException;
    return { passed: false, detail: err.code ?? err.message };
  } finally {
    clearTimeout(timer);
  }
}
