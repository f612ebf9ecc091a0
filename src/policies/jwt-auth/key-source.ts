/**
 * Static verification keys of a jwt-auth issuer (a shared `secret`, a PEM `publicKey` or one `jwk`) and the
 * checks that keep keys and algorithms apart: HS* algorithms verify only with a secret, the others only with
 * a public key of the matching type (RSA for RS/PS, P-256 for ES256, P-384 for ES384, Ed25519 for EdDSA).
 * Mixing HS* and public-key algorithms in one issuer is refused, so an HS256 token "signed" with an RS256
 * public key never finds a secret to verify against (the classic algorithm confusion).
 */
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';

export const ALGORITHMS = [
  'HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA',
] as const;

export type Algorithm = (typeof ALGORITHMS)[number];

export function isSymmetric(alg: Algorithm): boolean {
  return alg.startsWith('HS');
}

/** RFC 7518 §3.2: an HMAC key at least as long as the hash output. */
export function minSecretBytes(algorithms: readonly Algorithm[]): number {
  return Math.max(32, ...algorithms.map((alg) => (isSymmetric(alg) ? Number(alg.slice(2)) / 8 : 0)));
}

/** Why `key` cannot verify `alg`, or undefined when it can. */
export function keyMismatch(key: KeyObject, alg: Algorithm): string | undefined {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails;
  if (alg.startsWith('RS') || alg.startsWith('PS')) {
    if (type !== 'rsa') return `${alg} needs an RSA key, got ${describeKey(key)}`;
    if ((details?.modulusLength ?? 0) < 2048) return `${alg} needs an RSA key of at least 2048 bits, got ${details?.modulusLength ?? '?'} bits`;
    return undefined;
  }
  if (alg === 'ES256' || alg === 'ES384') {
    const curve = alg === 'ES256' ? 'prime256v1' : 'secp384r1';
    return type === 'ec' && details?.namedCurve === curve ? undefined : `${alg} needs an EC ${alg === 'ES256' ? 'P-256' : 'P-384'} key, got ${describeKey(key)}`;
  }
  if (alg === 'EdDSA') return type === 'ed25519' ? undefined : `EdDSA needs an Ed25519 key, got ${describeKey(key)}`;
  return `${alg} verifies with a secret, not a public key`;
}

function describeKey(key: KeyObject): string {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  return `${key.asymmetricKeyType ?? key.type} key${curve ? ` (${curve})` : ''}`;
}

export type StaticKey = Uint8Array | KeyObject;

interface KeySettings {
  readonly secret?: string | undefined;
  readonly publicKey?: string | undefined;
  readonly jwk?: Readonly<Record<string, unknown>> | undefined;
}

/** Builds the public key from a PEM or a JWK; throws with a plain message when it is not a usable public key. */
export function importPublicKey(settings: KeySettings): KeyObject | undefined {
  if (settings.publicKey !== undefined) {
    if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(settings.publicKey)) throw new Error('publicKey holds a private key; give only the public key (-----BEGIN PUBLIC KEY-----)');
    try {
      return createPublicKey({ key: settings.publicKey, format: 'pem' });
    } catch {
      throw new Error('publicKey is not a PEM public key (-----BEGIN PUBLIC KEY----- ... or a certificate)');
    }
  }
  if (settings.jwk !== undefined) {
    const jwk = settings.jwk;
    if ('d' in jwk || 'p' in jwk || 'k' in jwk) throw new Error('jwk holds private or secret key material; give only the public key');
    try {
      return createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
    } catch {
      throw new Error('jwk is not a valid public JSON Web Key (RSA, EC P-256/P-384 or OKP Ed25519)');
    }
  }
  return undefined;
}

/** The key an issuer verifies with when it has no jwksUrl (settings already validated by the schema). */
export function staticKey(settings: KeySettings): StaticKey | undefined {
  if (settings.secret !== undefined) return new TextEncoder().encode(settings.secret);
  return importPublicKey(settings);
}
