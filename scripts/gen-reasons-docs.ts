/**
 * Writes docs/reasons.md from the reason catalogue (src/observability/reasons.ts).
 * `--check` exits 1 when the committed file differs, so the docs never drift from the code.
 */
import { fileURLToPath } from 'node:url';
import { reasons } from '../src/observability/reasons.ts';
import { tableCell, writeOrCheck } from './generated-doc.ts';

export const reasonsDocPath = fileURLToPath(new URL('../docs/reasons.md', import.meta.url));

export function renderReasonsDoc(): string {
  const rows = Object.entries(reasons)
    .sort(([a, x], [b, y]) => x.status - y.status || a.localeCompare(b))
    .map(([reason, info]) => `| \`${reason}\` | ${info.status} | ${tableCell(info.doc)} |`);
  return `# Reasons

Every response Gatehouse makes itself (rather than relaying from an upstream) names a **reason**: a stable
snake_case identifier. It appears in three places:

- the JSON body: \`{"error":{"status":504,"reason":"upstream_response_timeout","message":"Gateway Timeout","requestId":"..."}}\`
  (the response also carries the \`x-request-id\` header);
- the access log line's \`reason\` field (relayed upstream responses have none);
- metric labels (when metrics arrive).

Reasons are public identifiers: new ones may be added, existing ones are never renamed. This file is generated
from \`src/observability/reasons.ts\` by \`node scripts/gen-reasons-docs.ts\`; a test fails when they differ.

| reason | status | meaning |
|---|---|---|
${rows.join('\n')}
`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const doc = { file: reasonsDocPath, shownAs: 'docs/reasons.md', script: 'scripts/gen-reasons-docs.ts' };
  process.exitCode = writeOrCheck(doc, renderReasonsDoc(), process.argv.includes('--check'));
}
