/**
 * ip-filter: admits or refuses by client IP. The client IP is the one the server stage resolved: the socket
 * peer, or — when that peer is in server.trustedProxies — the first untrusted hop of X-Forwarded-For read
 * from the right. Deny wins over allow; with an allow list, everything not on it is refused.
 */
import { z } from 'zod';
import { cidr, ipSet } from '../net/ip-set.ts';
import { definePolicy } from '../pipeline/policy.ts';
import { reply } from '../pipeline/local-reply.ts';

export const schema = z.strictObject({
  allow: z.array(cidr).optional().describe('Client IPs or CIDR blocks admitted; when set, every other client gets 403 ip_denied.'),
  deny: z.array(cidr).optional().describe('Client IPs or CIDR blocks refused with 403 ip_denied, even when also allowed.'),
}).refine((c) => (c.allow?.length ?? 0) + (c.deny?.length ?? 0) > 0, 'set allow, deny or both');

export const ipFilter = definePolicy({
  type: 'ip-filter',
  priority: 2000,
  kind: 'filter',
  schema,
  doc: 'Admits or refuses requests by client IP with allow and deny lists of addresses or CIDR blocks (IPv4 and IPv6). Runs first: the cheapest refusal. The client IP honours server.trustedProxies.',
  create(config) {
    const allow = config.allow ? ipSet(config.allow) : undefined;
    const deny = ipSet(config.deny ?? []);
    const denied = reply('ip_denied');
    return {
      onRequest(ctx) {
        if (deny.has(ctx.clientIp)) return denied;
        if (allow && !allow.has(ctx.clientIp)) return denied;
        return undefined;
      },
    };
  },
});
