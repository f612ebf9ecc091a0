import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { z } from 'zod';
import { formatProblem, loadConfigText } from '../src/config/load.ts';
import { configSchema } from '../src/config/schema.ts';
import { completeExample, configDocPath, leafPaths, renderConfigDocs } from './gen-config-docs.ts';

const script = fileURLToPath(new URL('./gen-config-docs.ts', import.meta.url));
const run = promisify(execFile);

type JsonSchema = { properties?: Record<string, JsonSchema>; additionalProperties?: JsonSchema | boolean; items?: JsonSchema; anyOf?: JsonSchema[]; type?: string | string[] };

/**
 * Leaf key paths from zod's JSON Schema export: a second, independent reading of the schema, so a key the
 * generator's own walk misses is caught. A list step is written "[]", a record step "*".
 */
function jsonSchemaLeaves(schema: JsonSchema, path: string): string[] {
  if (schema.properties) return Object.entries(schema.properties).flatMap(([k, s]) => jsonSchemaLeaves(s, path ? `${path}.${k}` : k));
  if (typeof schema.additionalProperties === 'object' && schema.additionalProperties.properties) {
    return jsonSchemaLeaves(schema.additionalProperties, `${path}.*`);
  }
  if (schema.type === 'array' && schema.items?.properties) return jsonSchemaLeaves(schema.items, `${path}[]`);
  // `false | {...}` (circuitBreaker): the keys are the mapping's.
  const objects = schema.anyOf?.filter((branch) => branch.properties) ?? [];
  if (objects.length === 1) return jsonSchemaLeaves(objects[0]!, path);
  return [path];
}

const schemaLeaves = jsonSchemaLeaves(z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema, '');

function hasValueAt(data: unknown, steps: string[]): boolean {
  if (steps.length === 0) return data !== undefined;
  if (data === null || typeof data !== 'object') return false;
  const [step, ...rest] = steps as [string, ...string[]];
  if (step === '*' || step === '[]') return Object.values(data).some((child) => hasValueAt(child, rest));
  return Object.hasOwn(data, step) && hasValueAt((data as Record<string, unknown>)[step], rest);
}

/**
 * Runs `fn` in a temp working directory holding the certificate files the complete example names (relative
 * paths). Empty files do: loading a config checks only that they exist.
 */
function withExampleTlsFiles<T>(fn: () => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-docs-tls-'));
  mkdirSync(join(dir, 'tls'));
  for (const name of ['default.pem', 'default.key', 'api.pem', 'api.key']) writeFileSync(join(dir, 'tls', name), '');
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    return fn();
  } finally {
    process.chdir(cwd);
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('docs/configuration.md', () => {
  it('is in sync with the schema (run node scripts/gen-config-docs.ts after changing it)', () => {
    assert.equal(readFileSync(configDocPath, 'utf8'), renderConfigDocs(), 'run: node scripts/gen-config-docs.ts');
  });

  it('documents every leaf key of the schema in a table row', () => {
    const docs = renderConfigDocs();
    assert.ok(schemaLeaves.length >= 40, `found only ${schemaLeaves.length} leaf keys`);
    for (const leaf of schemaLeaves) {
      const documented = leaf.replaceAll('.*', '.<name>');
      assert.ok(docs.includes(`| \`${documented}\` |`), `${documented} is not documented`);
    }
  });

  it('agrees with the JSON Schema export on what the leaf keys are', () => {
    assert.deepEqual([...leafPaths()].sort(), schemaLeaves.map((l) => l.replaceAll('.*', '.<name>')).sort());
  });

  it('gives every key a type, a default column and a description', () => {
    const rows = renderConfigDocs().split('\n').filter((line) => /^\| `[a-z]/.test(line));
    for (const row of rows) {
      const cells = row.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim());
      assert.equal(cells.length, 4, row);
      assert.ok(cells.every((c) => c.length > 0), `empty cell in ${row}`);
      assert.doesNotMatch(cells[1]!, /\bany\b/, `unknown type in ${row}`);
    }
  });

  it('has a complete example that loads and sets every leaf key', () => {
    const result = withExampleTlsFiles(() => loadConfigText(completeExample, 'example.yaml', {}));
    if (!result.ok) assert.fail(result.problems.map(formatProblem).join('\n'));
    // The raw YAML, not the loaded config: defaults would fill in every key the example leaves out.
    const raw: unknown = parse(completeExample);
    for (const leaf of schemaLeaves) {
      const steps = leaf.replaceAll('[]', '.[]').split('.');
      assert.ok(hasValueAt(raw, steps), `the complete example does not set ${leaf}`);
    }
    assert.ok(renderConfigDocs().includes(`\`\`\`yaml\n${completeExample}\`\`\``));
  });

  it('shows error examples produced by the real loader', () => {
    assert.match(renderConfigDocs(), /^gatehouse\.yaml:\d+:\d+ routes\[0\]\.match\.method: unknown key \(did you mean "methods"\?\)$/m);
  });
});

describe('gen-config-docs --check', () => {
  const dirs: string[] = [];
  after(async () => { await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))); });

  it('exits 0 for the committed file', async () => {
    await run(process.execPath, [script, '--check']);
  });

  it('exits 1 and names the file when it is out of date, then writes it without --check', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-docs-'));
    dirs.push(dir);
    const out = join(dir, 'configuration.md');
    await writeFile(out, '# stale\n');
    await assert.rejects(run(process.execPath, [script, '--check', '--out', out]), (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 1);
      assert.match(err.stderr, /configuration\.md is out of date: run node scripts\/gen-config-docs\.ts/);
      return true;
    });
    await run(process.execPath, [script, '--out', out]);
    assert.equal(await readFile(out, 'utf8'), renderConfigDocs());
    await run(process.execPath, [script, '--check', '--out', out]);
  });
});
