/**
 * GET /config's copy of the running config, with secrets replaced by "[redacted]". The secrets, found in
 * the schemas (redact.test.ts walks the generated JSON schema so a new secret-looking key cannot slip by):
 *   - admin.token, jwt-auth issuers[].secret, any `password`;
 *   - api-key-auth consumers[].keys (hashes, but a leaked hash list helps nobody but an attacker);
 *   - the private members of a jwk (k, d, p, q, dp, dq, qi, oth): a public JWK stays readable;
 *   - user:password@ in any URL (redis.url, target URLs, jwksUrl);
 *   - header values set or appended for credential headers (authorization, cookie, x-api-key, ...).
 */
export const REDACTED = '[redacted]';

/** Keys whose value is a secret wherever they appear. */
export const SECRET_KEYS: ReadonlySet<string> = new Set(['token', 'secret', 'password', 'keys']);
const JWK_PRIVATE: ReadonlySet<string> = new Set(['k', 'd', 'p', 'q', 'dp', 'dq', 'qi', 'oth']);
const CREDENTIAL_HEADERS = /^(authorization|proxy-authorization|cookie|set-cookie|x-api-key|api-key|x-auth-token)$/i;

function redactUrl(text: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^/]*@/i.test(text)) return text;
  try {
    const url = new URL(text);
    if (url.password === '' && url.username === '') return text;
    if (url.password !== '') url.password = REDACTED;
    else url.username = REDACTED;
    return url.href.replace(encodeURIComponent(REDACTED), REDACTED);
  } catch {
    return text;
  }
}

function redactValue(value: unknown, key: string | undefined, parentKey: string | undefined): unknown {
  if (key !== undefined && SECRET_KEYS.has(key) && value !== undefined) return REDACTED;
  if (parentKey === 'jwk' && key !== undefined && JWK_PRIVATE.has(key)) return REDACTED;
  if ((parentKey === 'set' || parentKey === 'append') && key !== undefined && CREDENTIAL_HEADERS.test(key)) return REDACTED;
  if (typeof value === 'string') return redactUrl(value);
  if (Array.isArray(value)) return value.map((item) => redactValue(item, undefined, key));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactValue(v, k, key)]));
  }
  return value;
}

/** A redacted deep copy (the running config is frozen and stays untouched). */
export function redactConfig<T>(config: T): unknown {
  return redactValue(config, undefined, undefined);
}
