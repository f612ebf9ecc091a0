/**
 * Field types several config schemas share (the gateway's, the TLS listener's, the policies'), so a rule
 * such as "what is a header name" is written once.
 */
import { z } from 'zod';

/** RFC 9110 token: the characters a header (or cookie) name may have. */
export const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export const headerName = () => z.string().regex(TOKEN, 'must be a valid header name');

/** A header name, compared case-insensitively: stored lower-case. */
export const lowerHeaderName = () => headerName().transform((s) => s.toLowerCase());

/** What Node accepts in a header value (RFC 9110 field-value): no line breaks or other control characters but tab. */
export const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

export const headerValue = () => z.string().regex(FIELD_VALUE, 'must be a valid header value (no line breaks or control characters)');

/** The request methods a route may be limited to; a route without `methods` is registered for all of them. */
export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT'] as const;

export const port = () => z.number().int().min(0).max(65535);

export const host = () => z.string().min(1);
