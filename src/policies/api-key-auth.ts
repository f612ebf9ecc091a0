/**
 * api-key-auth: admits requests carrying a known API key and names its consumer. Config holds only SHA-256
 * hashes of keys (`gatehouse hash-key` prints one), so a leaked config leaks no key. The presented key is
 * hashed and looked up by its digest; nothing else about it is ever compared. The lookup's timing therefore
 * depends only on the presented key's SHA-256 digest, and learning how a guess's digest relates to stored
 * digests does not help construct a key that hashes to one, so no constant-time comparison is needed. The key
 * is removed from what is forwarded (header and query parameter) unless forwardKey is set.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { lowerHeaderName } from '../fields/http-fields.ts';
import type { Identity } from '../pipeline/exchange.ts';
import { definePolicy } from '../pipeline/policy.ts';
import { reply } from '../pipeline/local-reply.ts';

const keyHash = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be "sha256:" followed by 64 lower-case hex digits (see `gatehouse hash-key`)');

export const schema = z.strictObject({
  header: lowerHeaderName().default('x-api-key').describe('Request header the key is read from.'),
  query: z.string().min(1).optional().describe('Query parameter the key may also be read from (removed from the forwarded URL). Header wins when both are present.'),
  consumers: z.array(z.strictObject({
    id: z.string().min(1).max(200).regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces').describe('Consumer ID, forwarded in the identity consumer header (X-Consumer-Id by default).'),
    keys: z.array(keyHash).min(1).describe('SHA-256 hashes of this consumer\'s keys ("sha256:<hex>"). Several allow rotation.'),
  })).min(1).describe('Who may call, and with which keys.'),
  forwardKey: z.boolean().default(false).describe('Forward the key to the upstream (it is removed by default).'),
}).superRefine((config, ctx) => {
  const seen = new Map<string, string>();
  config.consumers.forEach((consumer, i) => consumer.keys.forEach((key, j) => {
    const owner = seen.get(key);
    if (owner !== undefined) ctx.addIssue({ code: 'custom', path: ['consumers', i, 'keys', j], message: `key hash already belongs to consumer "${owner}"` });
    else seen.set(key, consumer.id);
  }));
});

export function hashKey(key: string): string {
  return `sha256:${createHash('sha256').update(key, 'utf8').digest('hex')}`;
}

export const apiKeyAuth = definePolicy({
  type: 'api-key-auth',
  priority: 1250,
  kind: 'auth',
  schema,
  doc: 'Admits requests with a known API key (header, or query parameter) and forwards the consumer\'s ID in the identity headers. Keys are stored as SHA-256 hashes. With several auth policies on a route, any one admits.',
  create(config) {
    // One frozen identity per consumer, shared by its requests (the identity headers are derived once per identity).
    const consumerByHash = new Map<string, Identity>();
    for (const consumer of config.consumers) {
      const identity: Identity = Object.freeze({ consumer: consumer.id });
      for (const key of consumer.keys) consumerByHash.set(key, identity);
    }
    const challenge = { 'www-authenticate': `ApiKey realm="gatehouse", header="${config.header}"` };
    const missing = reply('api_key_missing', challenge);
    const invalid = reply('api_key_invalid', challenge);
    return {
      onRequest(ctx) {
        let key = ctx.headers[config.header];
        // Only a header that is there needs removing: the removal list costs a pass over the forwarded headers.
        if (!config.forwardKey && key !== undefined) ctx.removeRequestHeader(config.header);
        if (config.query !== undefined) {
          const fromQuery = ctx.queryParam(config.query);
          if (key === undefined || key === '') key = fromQuery;
          if (!config.forwardKey && fromQuery !== undefined) ctx.removeQueryParam(config.query);
        }
        if (typeof key !== 'string' || key === '') return missing;
        const identity = consumerByHash.get(hashKey(key));
        if (identity === undefined) return invalid;
        ctx.identity = identity;
        return undefined;
      },
    };
  },
});
