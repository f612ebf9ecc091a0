/**
 * Writes docs/policies.md from the policy registry (src/policies/policy-registry.ts): each policy's summary,
 * priority and settings (type, default, description from its schema). `--check` exits 1 when the file
 * differs from what would be generated.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { z } from 'zod';
import { policyDefinitions } from '../src/policies/policy-registry.ts';
import { rowsOf } from './gen-config-docs.ts';
import { tableCell as cell, writeOrCheck } from './generated-doc.ts';

export const policiesDocPath = fileURLToPath(new URL('../docs/policies.md', import.meta.url));

function section(definition: (typeof policyDefinitions)[number]): string {
  const [, ...rows] = rowsOf(definition.schema as z.ZodType, '');
  const table = rows.map((r) => `| \`${r.path.slice(1)}\` | ${cell(r.type)} | ${cell(r.default)} | ${cell(r.description)} |`);
  return `## \`${definition.type}\`

${definition.doc}

Priority ${definition.priority}${definition.kind === 'auth' ? ', authentication (any one auth policy on a route admits)' : ''}.

| setting | type | default | description |
|---|---|---|---|
${table.join('\n')}
`;
}

export function renderPoliciesDocs(): string {
  const ordered = [...policyDefinitions].sort((a, b) => b.priority - a.priority);
  return `# Policies

A policy is one unit of request handling — authentication, filtering, limits — attached to routes. Policies
are listed under \`policies:\` at the top level (they apply to every route) or on a route (for that route
only). A route's policy replaces a top-level one of the same type; \`inheritPolicies: false\` on a route
drops the top-level ones for it.

\`\`\`yaml
policies:                       # every route
  - type: cors
    origins: [https://app.example.com]
routes:
  - name: orders
    match: { path: /api/orders }
    upstream: orders
    policies:                   # this route only
      - type: jwt-auth
        issuers: [{ issuer: https://auth.example.com/, algorithms: [RS256], jwksUrl: https://auth.example.com/jwks.json }]
        scopes: [orders:read]
      - type: request-size-limit
        maxBytes: 1MiB
\`\`\`

Policies run in priority order, highest first; the first refusal answers, with a status, a \`reason\`
(see [reasons.md](reasons.md)) and the request ID, and the upstream is never contacted. Authentication
policies on one route are alternatives: **any one admits**. When all refuse, the answer comes from a policy
whose credential was presented (a bad token says more than a missing API key), else from the first.
CORS preflights are answered before authentication. Everything that must hold for every request — request
ID, client IP, path safety, identity-header stripping — happens before routing in the server stage (see
[security.md](security.md)), not in a policy.

This file is generated from the policies' schemas by \`node scripts/gen-policies-docs.ts\`; a test fails
when they differ.

${ordered.map(section).join('\n')}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { check: { type: 'boolean' } } });
  const doc = { file: policiesDocPath, shownAs: 'docs/policies.md', script: 'scripts/gen-policies-docs.ts' };
  process.exitCode = writeOrCheck(doc, renderPoliciesDocs(), values.check === true);
}
