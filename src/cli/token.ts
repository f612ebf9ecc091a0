/**
 * `gatehouse token`: mints a development JWT that the config's own jwt-auth policy accepts. It signs with the
 * first jwt-auth issuer that has a `secret` (HS256/384/512), with that issuer's iss and aud. With --route it
 * uses the policy that applies to that route (the route's own, else the inherited gateway-wide one).
 * Public-key issuers are skipped: their private keys are not in the config. Exit 2 when no issuer fits.
 */
import { decodeJwt, SignJWT } from 'jose';
import { formatProblem, loadConfigFile, type LoadResult } from '../config/load.ts';
import type { PolicyEntry } from '../config/policies-schema.ts';
import type { Config } from '../config/schema.ts';
import { parseDuration } from '../fields/units.ts';
import type { JwtAuthConfig } from '../policies/jwt-auth.ts';
import { isSymmetric } from '../policies/jwt-auth/key-source.ts';
import { policyEntriesFor } from '../runtime/route-policies.ts';
import { GatewayError } from '../errors.ts';
import { parseCommand, type CommandSpec } from './args.ts';
import { demoConfigFile } from './demo-config.ts';

export const tokenSpec = {
  name: 'token',
  summary: 'Mint a development JWT that the config\'s own jwt-auth policy accepts.',
  usage: `gatehouse token [[-c] FILE] [--sub ID] [--scope "a b"] [--ttl 1h] [--route NAME]
  Prints a development JWT signed with the first jwt-auth issuer in FILE (default examples/demo.yaml)
  that has a secret. --route NAME: the jwt-auth policy that applies to that route.
  -c, --config FILE   the config file (YAML); "-c" may be left out`,
  options: {
    config: { type: 'string', short: 'c' },
    sub: { type: 'string', default: 'demo-user' },
    scope: { type: 'string' },
    ttl: { type: 'string', default: '1h' },
    route: { type: 'string' },
  },
  positional: 'file',
} as const satisfies CommandSpec;

export interface TokenIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly load: (file: string) => Promise<LoadResult>;
}

/** What the token is signed for, found in a loaded config. */
export interface SigningIssuer {
  readonly issuer: string;
  readonly audience: string | undefined;
  readonly algorithm: string;
  readonly secret: string;
  /** Scopes and claims the policy requires, to warn about a token that would be refused. */
  readonly scopes: readonly string[];
  readonly requiredClaims: readonly string[];
}

function jwtPolicy(entries: readonly PolicyEntry[]): JwtAuthConfig | undefined {
  return entries.find((p) => p.type === 'jwt-auth') as JwtAuthConfig | undefined;
}

function signingIssuer(policy: JwtAuthConfig | undefined): SigningIssuer | undefined {
  for (const issuer of policy?.issuers ?? []) {
    const algorithm = issuer.algorithms.find(isSymmetric);
    if (issuer.secret === undefined || !algorithm) continue;
    const audience = typeof issuer.audience === 'string' ? issuer.audience : issuer.audience?.[0];
    return { issuer: issuer.issuer, audience, algorithm, secret: issuer.secret, scopes: policy!.scopes, requiredClaims: policy!.requiredClaims };
  }
  return undefined;
}

/** The issuer to sign with, or a message saying why there is none. */
export function findSigningIssuer(config: Pick<Config, 'policies' | 'routes'>, route?: string): SigningIssuer | string {
  if (route !== undefined) {
    const found = config.routes.find((r) => r.name === route);
    if (!found) return `no route named "${route}"`;
    const policy = jwtPolicy(policyEntriesFor(config, found));
    if (!policy) return `route "${route}" has no jwt-auth policy`;
    return signingIssuer(policy) ?? `the jwt-auth policy of route "${route}" has no issuer with a secret (HS256/384/512)`;
  }
  for (const policies of [config.policies, ...config.routes.map((r) => r.policies)]) {
    const found = signingIssuer(jwtPolicy(policies));
    if (found) return found;
  }
  return 'no jwt-auth issuer with a secret (HS256/384/512): add one, or mint tokens with your identity provider';
}

/** Signs a development token for `found` (the demo prints one in its banner). */
export async function mintToken(found: SigningIssuer, sub: string, scopes: readonly string[], ttlMs: number): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ ...(scopes.length ? { scope: scopes.join(' ') } : {}) })
    .setProtectedHeader({ alg: found.algorithm, typ: 'JWT' })
    .setIssuer(found.issuer)
    .setSubject(sub)
    .setIssuedAt(now)
    .setExpirationTime(now + Math.ceil(ttlMs / 1000));
  if (found.audience !== undefined) jwt.setAudience(found.audience);
  return jwt.sign(new TextEncoder().encode(found.secret));
}

const defaultIo: TokenIo = { stdout: process.stdout, stderr: process.stderr, load: (file) => loadConfigFile(file) };

export async function tokenCommand(argv: string[], io: Partial<TokenIo> = {}): Promise<number> {
  const { stdout, stderr, load } = { ...defaultIo, ...io };
  const { values, file = demoConfigFile } = parseCommand(tokenSpec, argv);
  const ttl = parseDuration(values.ttl);
  if (ttl === undefined || ttl < 1000) throw new GatewayError('GW_ERR_USAGE', `--ttl must be a duration of at least 1s such as "15m" or "1h", got "${values.ttl}"`);
  if (values.sub === '') throw new GatewayError('GW_ERR_USAGE', '--sub must not be empty');

  const result = await load(file);
  if (!result.ok) {
    for (const problem of result.problems) stderr.write(`${formatProblem(problem)}\n`);
    return 2;
  }
  const found = findSigningIssuer(result.config, values.route);
  if (typeof found === 'string') {
    stderr.write(`gatehouse token: ${file}: ${found}\n`);
    return 2;
  }

  const scopes = (values.scope ?? '').split(' ').filter(Boolean);
  const token = await mintToken(found, values.sub, scopes, ttl);
  stdout.write(`${token}\n`);

  const missingScopes = found.scopes.filter((s) => !scopes.includes(s));
  if (missingScopes.length) stderr.write(`note: the policy requires scopes ${missingScopes.join(' ')}; add --scope "${found.scopes.join(' ')}"\n`);
  const claims = decodeJwt(token);
  const missingClaims = found.requiredClaims.filter((c) => !(c in claims));
  if (missingClaims.length) stderr.write(`note: the policy requires claims this token lacks: ${missingClaims.join(', ')}\n`);
  return 0;
}
