import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Ajv, type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';
import { policyTypes } from '../src/policies/policy-registry.ts';
import { renderSchema, schemaPath } from './gen-schema.ts';

const run = promisify(execFile);
const root = new URL('../', import.meta.url);
const examplesDir = fileURLToPath(new URL('examples/', root));
const examples = readdirSync(examplesDir).filter((name) => name.endsWith('.yaml'));

const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as Record<string, unknown>;
// strict: a keyword Ajv does not know (a zod artefact) would be silently ignored by editors too.
const ajv = new Ajv({ strict: true, allErrors: true });
addFormats.default(ajv);
const validate = ajv.compile(schema);

const errorsOf = (config: unknown): ErrorObject[] => (validate(config) ? [] : validate.errors ?? []);
const minimal = { upstreams: { u: { targets: [{ url: 'http://127.0.0.1:3000' }] } }, routes: [{ name: 'r', match: { path: '/' }, upstream: 'u' }] };
const withPolicy = (policy: Record<string, unknown>) => ({ ...minimal, policies: [policy] });

describe('gatehouse.schema.json', () => {
  it('is what `gatehouse schema` prints (run: node scripts/gen-schema.ts)', async () => {
    assert.equal(readFileSync(schemaPath, 'utf8'), renderSchema(), 'run: node scripts/gen-schema.ts');
    const { stdout } = await run(process.execPath, [fileURLToPath(new URL('src/main.ts', root)), 'schema']);
    assert.equal(stdout, renderSchema());
  });

  it('is a draft-07 schema', () => {
    assert.equal(schema.$schema, 'http://json-schema.org/draft-07/schema#');
  });

  for (const name of examples) {
    it(`accepts examples/${name}, which points editors at it on its first line`, () => {
      const text = readFileSync(`${examplesDir}${name}`, 'utf8');
      assert.equal(text.split('\n')[0], '# yaml-language-server: $schema=../gatehouse.schema.json');
      assert.deepEqual(errorsOf(parse(text)), []);
    });
  }

  for (const name of ['deploy/kubernetes/gatehouse.yaml', 'deploy/compose/gatehouse.yaml']) {
    it(`accepts ${name}, which points editors at it on its first line`, () => {
      const text = readFileSync(new URL(name, root), 'utf8');
      assert.equal(text.split('\n')[0], '# yaml-language-server: $schema=../../gatehouse.schema.json');
      assert.deepEqual(errorsOf(parse(text)), []);
    });
  }

  it('refuses an unknown top-level key and an unknown key in a section', () => {
    assert.ok(errorsOf({ ...minimal, lisen: {} }).some((e) => e.keyword === 'additionalProperties' && e.params.additionalProperty === 'lisen'));
    assert.ok(errorsOf({ ...minimal, server: { drainTimeOut: '5s' } }).some((e) => e.params.additionalProperty === 'drainTimeOut'));
  });

  it('has one oneOf branch per policy type, keyed by a const type', () => {
    const { policy } = schema.definitions as { policy: { oneOf: Array<{ properties: { type: { const: string } } }> } };
    assert.deepEqual(policy.oneOf.map((branch) => branch.properties.type.const), policyTypes);
  });

  it('refuses a policy setting its type does not have, and accepts the ones it has', () => {
    assert.deepEqual(errorsOf(withPolicy({ type: 'request-size-limit', maxBytes: '1MiB' })), []);
    const errors = errorsOf(withPolicy({ type: 'request-size-limit', maxBytes: '1MiB', maxbytes: 1 }));
    assert.ok(errors.some((e) => e.params.additionalProperty === 'maxbytes'), JSON.stringify(errors));
    assert.notDeepEqual(errorsOf(withPolicy({ type: 'no-such-policy' })), []);
    // A setting of another policy type is not one of this type's.
    assert.notDeepEqual(errorsOf(withPolicy({ type: 'ip-filter', allow: ['10.0.0.0/8'], maxBytes: '1MiB' })), []);
  });

  it('checks route policies against the same branches', () => {
    const route = { ...minimal.routes[0], policies: [{ type: 'cors', origins: ['https://a.test'], bogus: true }] };
    assert.ok(errorsOf({ ...minimal, routes: [route] }).some((e) => e.params.additionalProperty === 'bogus'));
  });

  it('carries the duration and size patterns', () => {
    const drain = (value: unknown) => errorsOf({ ...minimal, server: { drainTimeout: value } });
    for (const good of ['30s', '250ms', '1.5m', '2h', 500]) assert.deepEqual(drain(good), [], String(good));
    for (const bad of ['30 sec', '2d', 'soon', -1]) assert.notDeepEqual(drain(bad), [], String(bad));
    const size = (value: unknown) => errorsOf({ ...minimal, server: { maxHeaderSize: value } });
    for (const good of ['16KiB', '1MB', '1mib', '512b', 4096]) assert.deepEqual(size(good), [], String(good));
    for (const bad of ['1 megabyte', '1TB', '-1', 1.5]) assert.notDeepEqual(size(bad), [], String(bad));
  });

  it('accepts an environment reference where the loader accepts one, and nothing else there', () => {
    assert.deepEqual(errorsOf({ ...minimal, listen: { port: '${PORT:-8080}' }, log: { level: '${LOG_LEVEL}' } }), []);
    assert.notDeepEqual(errorsOf({ ...minimal, listen: { port: 'eighty' } }), []);
    assert.notDeepEqual(errorsOf({ ...minimal, listen: { port: 70000 } }), []);
  });

  it('scripts/gen-schema.ts --check exits 0 for the committed file', async () => {
    await run(process.execPath, [fileURLToPath(new URL('scripts/gen-schema.ts', root)), '--check']);
  });
});
