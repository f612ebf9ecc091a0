/**
 * content-type-filter: refuses request bodies whose media type is not on the allow list (415). Requests
 * without a body pass; a body without a Content-Type is refused. Parameters (charset, boundary) are
 * ignored and matching is case-insensitive; "type/*" allows a whole type.
 */
import { z } from 'zod';
import { definePolicy } from '../pipeline/policy.ts';
import { reply } from '../pipeline/local-reply.ts';

const mediaRange = z.string().regex(/^[a-z0-9!#$&^_.+-]+\/(\*|[a-z0-9!#$&^_.+-]+)$/i, 'must be a media type such as application/json or image/*');

export const schema = z.strictObject({
  allow: z.array(mediaRange).min(1).describe('Accepted media types of request bodies, e.g. [application/json, "multipart/form-data", "image/*"].'),
});

export function mediaTypeOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const semi = header.indexOf(';');
  const type = (semi === -1 ? header : header.slice(0, semi)).trim().toLowerCase();
  return type === '' ? undefined : type;
}

export const contentTypeFilter = definePolicy({
  type: 'content-type-filter',
  priority: 940,
  kind: 'filter',
  schema,
  doc: 'Refuses request bodies whose Content-Type is not on the allow list with 415 unsupported_media_type. Requests without a body pass.',
  create(config) {
    const exact = new Set(config.allow.filter((t) => !t.endsWith('/*')).map((t) => t.toLowerCase()));
    const wholeTypes = config.allow.filter((t) => t.endsWith('/*')).map((t) => t.slice(0, -1).toLowerCase());
    const refused = reply('unsupported_media_type');
    // A loop rather than wholeTypes.some(...): no closure per request.
    const allowed = (type: string): boolean => {
      if (exact.has(type)) return true;
      for (const prefix of wholeTypes) if (type.startsWith(prefix)) return true;
      return false;
    };
    return {
      onRequest(ctx) {
        if (!ctx.hasBody) return undefined;
        const type = mediaTypeOf(ctx.headers['content-type']);
        return type !== undefined && allowed(type) ? undefined : refused;
      },
    };
  },
});
