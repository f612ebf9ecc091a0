/**
 * The container image, without building it (base images cannot be pulled here): the Dockerfile is checked
 * with a parser, and the image's exact command line and its HEALTHCHECK command run as processes on the host.
 *
 * They run against src/main.ts, not a freshly built dist/main.js: the build takes about 5 s of the suite's
 * time, and dist/ is tsc's type-erased output of the same files (tsconfig.build.json: rootDir src, outDir dist,
 * checked below), which bin/gatehouse.js already treats as interchangeable. Every other argument is the
 * Dockerfile's own text, the config path swapped for a test file and the admin port for the one bound.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import { join } from 'node:path';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { exitOf, get, killIfRunning, runCli } from '../helpers/e2e-process.ts';
import { startUpstream, until, type FakeUpstream } from '../helpers/fake-upstream.ts';
import { mainScript, tempDir } from '../helpers/start-gateway.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dockerfile = DockerfileParser.parse(readFileSync(join(root, 'Dockerfile'), 'utf8'));
const instructions = dockerfile.getInstructions();
const lastFrom = instructions.findLastIndex((i) => i.getKeyword() === 'FROM');
const runtimeStage = instructions.slice(lastFrom);
const CONFIG_IN_IMAGE = '/etc/gatehouse/gatehouse.yaml';

const only = (keyword: string, stage: Instruction[] = runtimeStage): Instruction => {
  const found = stage.filter((i) => i.getKeyword() === keyword);
  assert.equal(found.length, 1, `one ${keyword} in the runtime stage`);
  return found[0]!;
};
/** The exec (JSON) form's arguments: the shell form would put /bin/sh between the signal and node. */
const execForm = (text: string | null): string[] => {
  const args = JSON.parse(text ?? 'null') as unknown;
  assert.ok(Array.isArray(args) && args.every((a) => typeof a === 'string'), `exec form expected, got ${text}`);
  return args as string[];
};
const entrypoint = execForm(only('ENTRYPOINT').getArgumentsContent());
const cmd = execForm(only('CMD').getArgumentsContent());
const healthcheck = execForm(/^CMD\s+(.*)$/s.exec(only('HEALTHCHECK').getArgumentsContent() ?? '')?.[1] ?? null);
/** COPY instructions as written, flags included (getArgumentsContent leaves flags out). */
const copies = (stage: Instruction[]) => stage.filter((i) => i.getKeyword() === 'COPY').map((i) => i.toString().replace(/^COPY\s+/, ''));

describe('the Dockerfile', () => {
  it('builds in stages on Node 24 slim images and ships only production dependencies and dist/', () => {
    const froms = dockerfile.getFROMs();
    assert.ok(froms.length >= 2, 'multi-stage');
    for (const from of froms) assert.match(from.getImage() ?? '', /^(node:24[\w.-]*-slim|gcr\.io\/distroless\/nodejs24[\w.-]*)$/);
    const runs = instructions.filter((i) => i.getKeyword() === 'RUN').map((i) => i.getArgumentsContent() ?? '');
    assert.ok(runs.some((r) => /\bnpm ci\b.*--omit=dev/.test(r)), 'npm ci --omit=dev');
    const runtimeCopies = copies(runtimeStage);
    assert.ok(runtimeCopies.some((c) => /^--from=\S+ \/app\/dist\b/.test(c)), 'the compiled dist/ from the build stage');
    assert.ok(runtimeCopies.some((c) => /^--from=\S+ \/app\/node_modules\b/.test(c)), 'the production dependencies');
    assert.ok(runtimeCopies.some((c) => c.endsWith(` ${CONFIG_IN_IMAGE}`)), `a config at ${CONFIG_IN_IMAGE}`);
    assert.ok(!runtimeCopies.some((c) => /^src\b|\/src\b/.test(c)), 'no sources in the runtime image');
  });

  it('copies only files that exist and that .dockerignore lets through', () => {
    const ignored = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
    for (const copy of copies(instructions).filter((c) => !c.startsWith('--from='))) {
      const sources = copy.split(/\s+/).slice(0, -1);
      for (const source of sources) {
        assert.ok(existsSync(join(root, source)), `${source} exists`);
        assert.ok(!ignored.includes(source.split('/')[0]!), `${source} is not in .dockerignore`);
      }
    }
  });

  it('runs as a non-root numeric user', () => {
    const user = only('USER').getArgumentsContent() ?? '';
    assert.match(user, /^\d+(:\d+)?$/, 'numeric, so runAsNonRoot can verify it');
    assert.notEqual(user.split(':')[0], '0');
  });

  it('starts node itself with --disable-sigusr1 on the config at /etc/gatehouse, and stops it with SIGTERM', () => {
    assert.deepEqual(entrypoint.slice(0, 3), ['node', '--disable-sigusr1', 'dist/main.js']);
    assert.deepEqual(cmd, ['start', '-c', CONFIG_IN_IMAGE]);
    assert.equal(only('STOPSIGNAL').getArgumentsContent(), 'SIGTERM');
    assert.equal(only('WORKDIR').getArgumentsContent(), '/app');
  });

  it('checks health with `gatehouse health` against the admin listener', () => {
    assert.deepEqual(healthcheck.slice(0, 4), [...entrypoint, 'health']);
    assert.equal(healthcheck[healthcheck.indexOf('--admin') + 1], '127.0.0.1:9901', 'the admin listener\'s default address');
  });

  it('compiles src/ to dist/ file for file, which the process tests below rely on', () => {
    const build = JSON.parse(readFileSync(join(root, 'tsconfig.build.json'), 'utf8')) as { compilerOptions: { rootDir: string; outDir: string } };
    assert.deepEqual([build.compilerOptions.rootDir, build.compilerOptions.outDir], ['src', 'dist']);
  });
});

/** Runs `node ARGV` to completion (killed by PID after 10 s). */
async function runNode(argv: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (c: Buffer) => { stdout += c.toString('utf8'); });
  proc.stderr!.on('data', (c: Buffer) => { stderr += c.toString('utf8'); });
  const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
  const [code] = await once(proc, 'close') as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** The image's argv with node, dist/main.js and the config path as they are on this host. */
function onHost(argv: string[], config: string): string[] {
  const [node, ...rest] = argv;
  assert.equal(node, 'node');
  return rest.map((arg) => (arg === 'dist/main.js' ? mainScript : arg === CONFIG_IN_IMAGE ? config : arg));
}

describe('the image\'s command line and health check, as processes on the host', () => {
  const held: http.ServerResponse[] = [];
  let gateway: ChildProcess | undefined;
  let upstream: FakeUpstream | undefined;
  after(async () => {
    killIfRunning(gateway);
    for (const res of held) res.destroy();
    await upstream?.close();
  });

  it('serves, reports ready (0), not ready while draining (1) and unreachable once stopped (1)', async () => {
    upstream = await startUpstream((_req, res) => { held.push(res); });
    const dir = tempDir('gatehouse-image-');
    const config = join(dir, 'gatehouse.yaml');
    writeFileSync(config, `listen: { host: 127.0.0.1, port: 0 }
admin: { host: 127.0.0.1, port: 0 }
log: { access: { enabled: false } }
upstreams: { held: { targets: [{ url: "${upstream.url}" }] } }
routes: [{ name: held, match: { path: / }, upstream: held }]
`);
    gateway = spawn(process.execPath, onHost([...entrypoint, ...cmd], config), { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    gateway.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8'); });
    await until(() => stderr.includes('gateway listening') || gateway!.exitCode !== null, 10_000, 'the gateway to listen');
    const listening = JSON.parse(stderr.split('\n').find((l) => l.includes('gateway listening'))!) as { url: string; adminUrl: string };
    const admin = new URL(listening.adminUrl).host;
    const health = () => runNode(onHost(healthcheck, config).map((arg) => (arg === '127.0.0.1:9901' ? admin : arg)));

    const ready = await health();
    assert.deepEqual([ready.code, ready.stdout.trim()], [0, `ready: ${admin}/ready answered 200`]);

    const inFlight = get(`${listening.url}/slow`);
    await until(() => held.length === 1, 5000, 'the request to reach the upstream');
    gateway.kill(only('STOPSIGNAL').getArgumentsContent() as NodeJS.Signals);
    await until(() => stderr.includes('draining'), 5000, 'the drain to start');
    const draining = await health();
    assert.deepEqual([draining.code, draining.stderr.trim()], [1, `not ready: ${admin}/ready answered 503`]);

    held[0]!.end('done');
    assert.equal((await inFlight).status, 200, 'the request in flight finishes');
    assert.equal(await exitOf(gateway, 10_000), 0);
    const down = await health();
    assert.equal(down.code, 1);
    assert.match(down.stderr, new RegExp(`^not ready: admin listener ${admin} unreachable \\(ECONNREFUSED\\)\\n$`));
  });

  it('exits 2 on a bad --admin, naming the flag', async () => {
    const r = await runCli(['health', '--admin', 'nowhere']);
    assert.deepEqual([r.code, r.stdout], [2, '']);
    assert.match(r.stderr, /--admin must be PORT, :PORT or HOST:PORT, got "nowhere"/);
  });
});
