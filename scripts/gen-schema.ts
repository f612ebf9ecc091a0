/**
 * Writes gatehouse.schema.json (what `gatehouse schema` prints) at the repository root, where the examples'
 * `# yaml-language-server: $schema=../gatehouse.schema.json` line points. `--check` exits 1 when the
 * committed file differs, so editors never complete keys the gateway refuses.
 */
import { fileURLToPath } from 'node:url';
import { configJsonSchema } from '../src/config/json-schema.ts';
import { writeOrCheck } from './generated-doc.ts';

export const schemaPath = fileURLToPath(new URL('../gatehouse.schema.json', import.meta.url));

export function renderSchema(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const doc = { file: schemaPath, shownAs: 'gatehouse.schema.json', script: 'scripts/gen-schema.ts' };
  process.exitCode = writeOrCheck(doc, renderSchema(), process.argv.includes('--check'));
}
