/**
 * An upstream's config: its targets, balancer, timeouts, connection limits and TLS options. The schema's
 * descriptions are the user docs (docs/configuration.md); config/schema.ts composes it into the whole config.
 */
import { existsSync } from 'node:fs';
import { z } from 'zod';
import { TOKEN } from '../fields/http-fields.ts';
import { duration } from '../fields/units.ts';
import { circuitBreakerField } from './circuit-breaker.ts';
import { healthCheckSchema } from './health-check.ts';

const targetUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });

export const targetSchema = z.strictObject({
  url: targetUrl.describe('Base URL of one instance, e.g. http://10.0.0.5:7001. A path here is prefixed to forwarded paths.'),
  weight: z.number().int().min(1).max(1000).default(1).describe('Relative share of traffic (weighted-round-robin, consistent-hash).'),
  maxConnections: z.number().int().min(1).optional().describe('Most concurrent connections to this target; defaults to the upstream\'s maxConnections.'),
});

export const balancerNames = ['round-robin', 'weighted-round-robin', 'least-connections', 'consistent-hash'] as const;

/** consistent-hash's key, parsed here once: the balancer and the identity-header check read this form. */
export type HashOn = { readonly from: 'header' | 'cookie'; readonly name: string } | { readonly from: 'ip' | 'path' };

const COOKIE_NAME = /^[^\s;=]+$/;

// Header names are stored lower-case, the spelling Node keys request headers by.
const hashOn = z.string().transform((spec, ctx): HashOn => {
  if (spec === 'ip' || spec === 'path') return { from: spec };
  const name = spec.slice(spec.indexOf(':') + 1);
  if (spec.startsWith('header:') && TOKEN.test(name)) return { from: 'header', name: name.toLowerCase() };
  if (spec.startsWith('cookie:') && COOKIE_NAME.test(name)) return { from: 'cookie', name };
  ctx.addIssue({ code: 'custom', message: 'must be header:NAME, cookie:NAME, ip or path' });
  return z.NEVER;
});

export const upstreamSchema = z.strictObject({
  balancer: z.enum(balancerNames).default('round-robin').describe('How a target is picked for each request.'),
  hashOn: hashOn.optional().describe('consistent-hash only: the request property hashed to pick a target (header:NAME | cookie:NAME | ip | path).'),
  targets: z.array(targetSchema).min(1).describe('The instances behind this upstream.'),
  timeouts: z.strictObject({
    connect: duration().prefault('2s').describe('Time to establish a connection; slower gets 504 upstream_connect_timeout.'),
    response: duration().prefault('10s').describe('Time from sending the request to the response headers; slower gets 504 upstream_response_timeout.'),
    bodyIdle: duration().prefault('60s').describe('Longest silence while a body streams either way; a route\'s idleTimeout overrides it.'),
  }).prefault({}).describe('Upstream timeouts. Sub-second values are honoured.'),
  keepAlive: duration().prefault('4s').describe('Idle upstream connections are closed after this; keep it below the upstream\'s own keep-alive timeout (Node\'s is 5s).'),
  maxConnections: z.number().int().min(1).default(128).describe('Most concurrent connections to each target.'),
  tls: z.strictObject({
    ca: z.string().refine((path) => existsSync(path), 'file not found (relative paths resolve from the working directory)').optional()
      .describe('Path of a PEM file with CA certificates to trust for https:// targets (in addition to the system CAs).'),
    servername: z.string().optional().describe('SNI name to send; defaults to the target\'s host name.'),
    rejectUnauthorized: z.boolean().default(true).describe('Verify the target\'s certificate. Turn off only for local development.'),
  }).optional().describe('TLS options for https:// targets.'),
  healthCheck: healthCheckSchema.optional(),
  circuitBreaker: circuitBreakerField,
}).superRefine((up, ctx) => {
  if (up.hashOn && up.balancer !== 'consistent-hash') {
    ctx.addIssue({ code: 'custom', path: ['hashOn'], message: 'hashOn is only used by the consistent-hash balancer' });
  }
}).describe('A named group of interchangeable targets.');

export type UpstreamConfig = z.output<typeof upstreamSchema>;
export type TargetConfig = UpstreamConfig['targets'][number];
export type BalancerName = (typeof balancerNames)[number];
