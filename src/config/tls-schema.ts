/**
 * The `listen.tls` section: the HTTPS listener's certificates (a default one plus any number chosen by SNI),
 * protocol floor, HTTP/2, HSTS and the optional plain-HTTP redirect listener. File paths must exist when the
 * config is loaded; their contents are read (and checked) when the listener starts, and again whenever the
 * files change on disk.
 */
import { existsSync } from 'node:fs';
import { z } from 'zod';
import { host, port } from '../fields/http-fields.ts';
import { duration } from '../fields/units.ts';

const pemFile = z.string().min(1).refine((path) => existsSync(path), 'file not found (relative paths resolve from the working directory)');

const sniName = z.string().max(253).regex(/^(\*\.)?[a-z0-9_-]+(\.[a-z0-9_-]+)*$/i, 'must be a host name, optionally starting with "*."');

/** What browsers require for the HSTS preload list (hstspreload.org): at least one year. */
const PRELOAD_MIN_MS = 365 * 86_400_000;

const tlsCertificateSchema = z.strictObject({
  hosts: z.array(sniName).min(1).describe('Server names (SNI) this certificate is served for: exact names, or "*.example.com" for any one-label subdomain (not example.com itself, not a.b.example.com). Case-insensitive; an exact name wins over a wildcard.'),
  cert: pemFile.describe('Path of the PEM certificate chain, leaf first.'),
  key: pemFile.describe('Path of the PEM private key of `cert`.'),
}).describe('A certificate chosen by the server name the client asks for (SNI).');

const hstsSchema = z.strictObject({
  maxAge: duration({ days: true }).prefault('180d').describe('How long browsers remember to use HTTPS only, e.g. "180d", "365d" (the "d" unit is allowed here). "0s" tells browsers to forget.'),
  includeSubDomains: z.boolean().default(false).describe('Apply the policy to every subdomain too. Turn on only when all of them serve HTTPS.'),
  preload: z.boolean().default(false).describe('Add the `preload` directive (asks to be on browsers\' built-in HTTPS list; needs maxAge of at least 365d and includeSubDomains). Hard to undo.'),
}).superRefine((hsts, ctx) => {
  if (!hsts.preload) return;
  if (hsts.maxAge < PRELOAD_MIN_MS) ctx.addIssue({ code: 'custom', path: ['maxAge'], message: 'preload needs maxAge of at least 365d' });
  if (!hsts.includeSubDomains) ctx.addIssue({ code: 'custom', path: ['includeSubDomains'], message: 'preload needs includeSubDomains: true' });
}).describe('Send Strict-Transport-Security on every response of the HTTPS listener (an upstream\'s own header is passed on instead).');

const redirectHttpSchema = z.strictObject({
  host: host().default('0.0.0.0').describe('Address of the plain-HTTP redirect listener.'),
  port: port().default(80).describe('Port of the plain-HTTP redirect listener (0 picks a free port).'),
  httpsPort: port().min(1).optional()
    .describe('Port written into the redirect\'s Location; defaults to the HTTPS listener\'s port. Set it when clients reach HTTPS through another port (e.g. 443 forwarded to 8443).'),
}).describe('A plain-HTTP listener that answers every request with 308 to the same host, path and query on HTTPS.');

export const listenTlsSchema = z.strictObject({
  cert: pemFile.describe('Path of the default PEM certificate chain (leaf first): served when no `certificates` entry matches the client\'s server name, or the client sends none. Reloaded when the file changes.'),
  key: pemFile.describe('Path of the default certificate\'s PEM private key. Reloaded when the file changes.'),
  certificates: z.array(tlsCertificateSchema).default([]).describe('More certificates, chosen by SNI. Reloaded when their files change.'),
  minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2').describe('Oldest TLS version accepted; older clients fail the handshake. TLS 1.0 and 1.1 are never accepted.'),
  http2: z.boolean().default(true).describe('Offer HTTP/2 by ALPN (h2) alongside HTTP/1.1 on the same port; false serves HTTP/1.1 only.'),
  hsts: hstsSchema.optional(),
  redirectHttp: redirectHttpSchema.optional(),
}).superRefine((tls, ctx) => {
  const seen = new Map<string, number>();
  tls.certificates.forEach((entry, i) => entry.hosts.forEach((name, j) => {
    const host = name.toLowerCase();
    const first = seen.get(host);
    if (first === undefined) seen.set(host, i);
    else ctx.addIssue({ code: 'custom', path: ['certificates', i, 'hosts', j], message: `"${host}" is already served by certificates[${first}]` });
  }));
}).describe('Serve HTTPS on the listener: certificates, TLS versions, HTTP/2, HSTS and an optional HTTP-to-HTTPS redirect listener. Changing these settings takes effect on restart; changing the certificate files does not need one.');

export type ListenTlsConfig = z.output<typeof listenTlsSchema>;
