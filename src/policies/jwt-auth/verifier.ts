/**
 * Verifies a token against the configured issuers with jose: signature (algorithm from the issuer's
 * allow-list only), then iss, aud, exp and nbf (with leeway) and required claims. With several issuers the
 * unverified `iss` only picks which issuer's keys and rules apply; nothing is trusted before the signature
 * checks out. Every failure becomes a verdict naming the reason and the check that failed (for the debug
 * log); library error texts never reach the client.
 *
 * For JWKS issuers: keys never loaded -> auth_keys_unavailable (the token may be fine); a kid not in the set
 * asks the cache for one (rate-limited, shared) refetch and tries again once.
 */
import { decodeJwt, errors, jwtVerify, type JWTPayload, type JWTVerifyOptions } from 'jose';
import type { JwksCache, KeySet } from './jwks-cache.ts';
import type { StaticKey } from './key-source.ts';

export type Verdict =
  | { readonly ok: true; readonly payload: JWTPayload }
  | { readonly ok: false; readonly reason: 'token_invalid' | 'token_expired' | 'auth_keys_unavailable'; readonly check: string };

export interface IssuerRules {
  readonly issuer: string;
  readonly audience?: string | string[] | undefined;
  readonly algorithms: readonly string[];
  readonly requiredClaims: readonly string[];
  /** Seconds. */
  readonly leeway: number;
}

export type Verify = (token: string, now: number) => Promise<Verdict>;

const UNAVAILABLE: Verdict = { ok: false, reason: 'auth_keys_unavailable', check: 'jwks never loaded' };

function invalid(check: string): Verdict {
  return { ok: false, reason: 'token_invalid', check };
}

function options(rules: IssuerRules, now: number): JWTVerifyOptions {
  const out: JWTVerifyOptions = {
    algorithms: rules.algorithms as string[],
    issuer: rules.issuer,
    requiredClaims: rules.requiredClaims as string[],
    clockTolerance: rules.leeway,
    currentDate: new Date(now),
  };
  if (rules.audience !== undefined) out.audience = rules.audience;
  return out;
}

/** A verifier for an issuer with a fixed secret or public key. */
export function staticVerifier(rules: IssuerRules, key: StaticKey): Verify {
  return async (token, now) => {
    try {
      return { ok: true, payload: (await jwtVerify(token, key, options(rules, now))).payload };
    } catch (error) {
      return refusal(error);
    }
  };
}

/** A verifier for an issuer whose keys come from a JWKS URL. */
export function jwksVerifier(rules: IssuerRules, cache: JwksCache): Verify {
  return async (token, now) => {
    const keys = cache.keys ?? await cache.refetch();
    if (!keys) return UNAVAILABLE;
    const opts = options(rules, now);
    try {
      return { ok: true, payload: await verifyWithSet(token, keys, opts) };
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) return refusal(error);
    }
    const fresh = await cache.refetch();
    if (!fresh || fresh === keys) return invalid('kid not in the JWKS');
    try {
      return { ok: true, payload: await verifyWithSet(token, fresh, opts) };
    } catch (error) {
      return error instanceof errors.JWKSNoMatchingKey ? invalid('kid not in the JWKS') : refusal(error);
    }
  };
}

/** Picks the issuer by the token's (unverified) `iss`; one issuer needs no pick. */
export function issuerVerifier(byIssuer: ReadonlyMap<string, Verify>): Verify {
  if (byIssuer.size === 1) return byIssuer.values().next().value!;
  return async (token, now) => {
    let iss: unknown;
    try {
      iss = decodeJwt(token).iss;
    } catch {
      return invalid('malformed');
    }
    const verify = typeof iss === 'string' ? byIssuer.get(iss) : undefined;
    return verify ? verify(token, now) : invalid('iss not a configured issuer');
  };
}

/** A token without kid may match several keys of a set; each is tried in turn. */
async function verifyWithSet(token: string, keys: KeySet, opts: JWTVerifyOptions): Promise<JWTPayload> {
  try {
    return (await jwtVerify(token, keys, opts)).payload;
  } catch (error) {
    if (!(error instanceof errors.JWKSMultipleMatchingKeys)) throw error;
    for await (const key of error) {
      try {
        return (await jwtVerify(token, key, opts)).payload;
      } catch (next) {
        if (!(next instanceof errors.JWSSignatureVerificationFailed)) throw next;
      }
    }
    throw new errors.JWSSignatureVerificationFailed();
  }
}

function refusal(error: unknown): Verdict {
  if (error instanceof errors.JWTExpired) return { ok: false, reason: 'token_expired', check: 'exp' };
  if (error instanceof errors.JWTClaimValidationFailed) return invalid(`${error.claim} ${error.reason}`);
  if (error instanceof errors.JOSEError) return invalid(error.code);
  // jose reports keys unfit for the token (wrong type, alg or use) as TypeError: the token is refused.
  return invalid(error instanceof TypeError ? 'key not usable for this token' : 'verification error');
}
