import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { formatProblem, loadConfigFile, loadConfigText, type LoadResult } from './load.ts';

const FILE = 'gw.yaml';

/** A valid config; tests append to it or replace a line of it. Line numbers below refer to this text. */
const BASE = `upstreams:
  users:
    targets:
      - url: http://127.0.0.1:7001
      - url: http://127.0.0.1:7002
routes:
  - name: users
    match: { path: /api/users }
    upstream: users
`;

function problems(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  const result = loadConfigText(text, FILE, env);
  assert.equal(result.ok, false, 'expected the config to be rejected');
  return result.ok ? [] : result.problems.map(formatProblem);
}

function config(text: string, env: NodeJS.ProcessEnv = {}) {
  const result = loadConfigText(text, FILE, env);
  if (!result.ok) assert.fail(`expected a valid config, got:\n${result.problems.map(formatProblem).join('\n')}`);
  return result.config;
}

describe('formatProblem', () => {
  it('writes FILE:LINE:COL path: message', () => {
    assert.equal(formatProblem({ file: 'a.yaml', line: 3, col: 5, path: 'routes[1].upstream', message: 'boom' }), 'a.yaml:3:5 routes[1].upstream: boom');
  });

  it('leaves the path out for a problem with the whole file', () => {
    assert.equal(formatProblem({ file: 'a.yaml', line: 1, col: 1, path: '', message: 'config is empty' }), 'a.yaml:1:1 config is empty');
  });
});

describe('loadConfigText: valid configs', () => {
  it('loads a valid config and applies the defaults', () => {
    const c = config(BASE);
    assert.deepEqual(c.listen, { host: '0.0.0.0', port: 8080 });
    assert.deepEqual(c.admin, { enabled: true, host: '127.0.0.1', port: 9901 });
    assert.equal(c.workers, 1);
    assert.equal(c.server.maxUrlLength, 8192);
    assert.equal(c.server.headersTimeout, 10_000);
    assert.deepEqual(c.log, { level: 'info', access: { enabled: true, path: 'stdout' } });
    const users = c.upstreams.users!;
    assert.equal(users.balancer, 'round-robin');
    assert.deepEqual(users.timeouts, { connect: 2000, response: 10_000, bodyIdle: 60_000 });
    assert.deepEqual(users.targets.map((t) => t.weight), [1, 1]);
    assert.deepEqual(c.routes[0], {
      name: 'users', match: { path: '/api/users', exact: false }, upstream: 'users',
      stripPrefix: false, preserveHost: true, upgradeIdleTimeout: 600_000, policies: [], inheritPolicies: true,
    });
  });

  it('returns a deeply frozen config', () => {
    const c = config(BASE);
    assert.ok(Object.isFrozen(c));
    assert.ok(Object.isFrozen(c.upstreams.users!.targets[0]));
    assert.ok(Object.isFrozen(c.routes[0]!.match));
    assert.ok(Object.isFrozen(c.server));
    assert.throws(() => { (c.routes as unknown as unknown[]).push({}); }, TypeError);
  });

  it('follows YAML anchors and aliases', () => {
    const c = config(`${BASE}  - name: users-copy\n    match: { path: /copy, headers: &h { x-tenant: a } }\n    upstream: users\n  - name: other\n    match: { path: /other, headers: *h }\n    upstream: users\n`);
    assert.deepEqual(c.routes[2]!.match.headers, { 'x-tenant': 'a' });
  });

  it('accepts the annotated example config examples/gatehouse.yaml', async () => {
    const file = fileURLToPath(new URL('../../examples/gatehouse.yaml', import.meta.url));
    const result = await loadConfigFile(file, {});
    if (!result.ok) assert.fail(result.problems.map(formatProblem).join('\n'));
    assert.equal(result.config.listen.port, 8080);
    assert.equal(result.config.upstreams.users!.targets.length, 2);
    assert.deepEqual(result.config.routes.map((r) => r.name), ['users-v2', 'users']);
    assert.deepEqual(result.config.routes[0]!.match.headers, { 'x-api-version': '2' });
  });
});

describe('loadConfigText: schema mistakes', () => {
  it('reports an unknown top-level key at the key, suggesting the closest known key', () => {
    assert.deepEqual(problems(`${BASE}lisen:\n  port: 80\n`), [`${FILE}:10:1 lisen: unknown key (did you mean "listen"?)`]);
  });

  it('lists the allowed keys when no known key is close', () => {
    assert.deepEqual(problems(`${BASE}frobnicate: 1\n`), [
      `${FILE}:10:1 frobnicate: unknown key (allowed: listen, admin, metrics, liveStats, workers, server, log, identity, policies, upstreams, routes, redis, tracing, alerts)`,
    ]);
  });

  it('reports a nested unknown key with its full path, one problem per key', () => {
    const text = BASE.replace('match: { path: /api/users }', 'match: { path: /api/users, bogus: 1, pth: /x }');
    assert.deepEqual(problems(text), [
      `${FILE}:8:32 routes[0].match.bogus: unknown key (allowed: host, path, exact, methods, headers)`,
      `${FILE}:8:42 routes[0].match.pth: unknown key (did you mean "path"?)`,
    ]);
  });

  it('reports an unknown key inside an upstream target', () => {
    const text = BASE.replace('      - url: http://127.0.0.1:7002', '      - url: http://127.0.0.1:7002\n        wieght: 2');
    assert.deepEqual(problems(text), [`${FILE}:6:9 upstreams.users.targets[1].wieght: unknown key (did you mean "weight"?)`]);
  });

  it('reports a route naming an upstream that does not exist, listing the known ones', () => {
    assert.deepEqual(problems(BASE.replace('upstream: users', 'upstream: user')), [
      `${FILE}:9:15 routes[0].upstream: unknown upstream "user" (known: users)`,
    ]);
  });

  it('reports a duplicate route name at the second route', () => {
    const text = `${BASE}  - name: users\n    match: { path: /other }\n    upstream: users\n`;
    assert.deepEqual(problems(text), [`${FILE}:10:11 routes[1].name: duplicate route name "users" (first used by routes[0])`]);
  });

  it('reports a target URL that is not http or https', () => {
    assert.deepEqual(problems(BASE.replace('http://127.0.0.1:7002', 'ftp://127.0.0.1:7002')), [
      `${FILE}:5:14 upstreams.users.targets[1].url: must be an http:// or https:// URL, got "ftp://127.0.0.1:7002"`,
    ]);
  });

  it('reports a target URL that is not a URL at all', () => {
    assert.deepEqual(problems(BASE.replace('http://127.0.0.1:7001', 'localhost:7001')), [
      `${FILE}:4:14 upstreams.users.targets[0].url: must be an http:// or https:// URL, got "localhost:7001"`,
    ]);
  });

  it('reports a bad duration with the accepted forms', () => {
    assert.deepEqual(problems(BASE.replace('upstream: users', 'upstream: users\n    timeout: 5 seconds')), [
      `${FILE}:10:14 routes[0].timeout: invalid duration "5 seconds": use e.g. "250ms", "30s", "5m", "1h"`,
    ]);
  });

  it('refuses a duration longer than a Node timer can wait', () => {
    const [problem] = problems(BASE.replace('upstream: users', 'upstream: users\n    timeout: 1000h'));
    assert.match(problem!, /^gw\.yaml:10:14 routes\[0\]\.timeout: duration "1000h" is too long/);
  });

  it('reports a bad size with the accepted forms', () => {
    assert.deepEqual(problems(`${BASE}server:\n  maxHeaderSize: 16 kilobytes\n`), [
      `${FILE}:11:18 server.maxHeaderSize: invalid size "16 kilobytes": use e.g. "16KiB", "1MiB", "1MB" or a number of bytes`,
    ]);
  });

  it('reports an unknown balancer, listing the options and the closest one', () => {
    assert.deepEqual(problems(BASE.replace('  users:\n', '  users:\n    balancer: round-robbin\n')), [
      `${FILE}:3:15 upstreams.users.balancer: must be one of "round-robin", "weighted-round-robin", "least-connections", "consistent-hash", got "round-robbin" (did you mean "round-robin"?)`,
    ]);
  });

  it('reports a value of the wrong type, saying what was expected and what was found', () => {
    assert.deepEqual(problems(`${BASE}listen:\n  port: eighty\n`), [`${FILE}:11:9 listen.port: expected a number, got "eighty"`]);
  });

  it('suggests quoting a number where a string is expected', () => {
    const text = BASE.replace('match: { path: /api/users }', 'match: { path: /api/users, headers: { x-api-version: 2 } }');
    assert.deepEqual(problems(text), [`${FILE}:8:58 routes[0].match.headers.x-api-version: expected a string, got 2 (quote it: "2")`]);
  });

  it('reports an empty value where a mapping is expected at its key', () => {
    assert.deepEqual(problems(`${BASE}listen:\n`), [`${FILE}:10:1 listen: expected a mapping, got an empty value`]);
  });

  it('reports a value outside its range', () => {
    assert.deepEqual(problems(`${BASE}listen: { port: 70000 }\n`), [`${FILE}:10:17 listen.port: must be <= 65535, got 70000`]);
  });

  it('explains both forms of a union value', () => {
    assert.deepEqual(problems(`${BASE}workers: many\n`), [`${FILE}:10:10 workers: expected a number or "auto", got "many"`]);
  });

  it('reports an empty target list', () => {
    const text = BASE.replace('    targets:\n      - url: http://127.0.0.1:7001\n      - url: http://127.0.0.1:7002\n', '    targets: []\n');
    assert.deepEqual(problems(text), [`${FILE}:3:14 upstreams.users.targets: must have at least 1 item`]);
  });

  it('reports a missing required key at the mapping that should contain it', () => {
    assert.deepEqual(problems(BASE.replace('  - name: users\n    match:', '  - match:')), [`${FILE}:7:5 routes[0].name: missing required key (expected a string)`]);
  });

  it('reports missing top-level keys at the start of the document', () => {
    assert.deepEqual(problems('listen: { port: 8080 }\n'), [
      `${FILE}:1:1 upstreams: missing required key (expected a mapping)`,
      `${FILE}:1:1 routes: missing required key (expected a list)`,
    ]);
  });

  it('reports an invalid upstream name at the name, quoting it in the path', () => {
    assert.deepEqual(problems(BASE.replace('  users:\n', '  "users v2":\n').replace('upstream: users', 'upstream: users v2')), [
      `${FILE}:2:3 upstreams["users v2"]: invalid key "users v2": upstream names contain only letters, digits, ".", "_" and "-"`,
    ]);
  });

  it('reports a cross-field rule (hashOn without consistent-hash) at the offending key', () => {
    assert.deepEqual(problems(BASE.replace('  users:\n', '  users:\n    hashOn: ip\n')), [
      `${FILE}:3:13 upstreams.users.hashOn: hashOn is only used by the consistent-hash balancer`,
    ]);
  });

  it('reports several problems together, in file order', () => {
    const text = `listen:
  port: "8080"
  hots: 0.0.0.0
upstreams:
  users:
    balancer: random
    targets:
      - url: nope
routes:
  - name: users
    match: { path: api }
    upstream: users
log:
  level: loud
`;
    assert.deepEqual(problems(text), [
      `${FILE}:2:9 listen.port: expected a number, got "8080"`,
      `${FILE}:3:3 listen.hots: unknown key (did you mean "host"?)`,
      `${FILE}:6:15 upstreams.users.balancer: must be one of "round-robin", "weighted-round-robin", "least-connections", "consistent-hash", got "random"`,
      `${FILE}:8:14 upstreams.users.targets[0].url: must be an http:// or https:// URL, got "nope"`,
      `${FILE}:11:20 routes[0].match.path: must start with "/" and contain no query, fragment or spaces, got "api"`,
      `${FILE}:14:10 log.level: must be one of "trace", "debug", "info", "warn", "error", "fatal", "silent", got "loud"`,
    ]);
  });

  it('returns structured problems with file, line, col, path and message', () => {
    const result: LoadResult = loadConfigText(BASE.replace('upstream: users', 'upstream: nobody'), 'conf/x.yaml', {});
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.deepEqual(result.problems, [
      { file: 'conf/x.yaml', line: 9, col: 15, path: 'routes[0].upstream', message: 'unknown upstream "nobody" (known: users)' },
    ]);
  });
});

describe('loadConfigText: YAML mistakes', () => {
  it('reports a YAML syntax error with its position and does not validate the schema', () => {
    const found = problems('listen: { port: 8080\nroutes: [\n');
    assert.ok(found.length >= 1);
    assert.match(found[0]!, /^gw\.yaml:\d+:\d+ YAML: /);
    assert.ok(found.every((p) => p.includes(' YAML: ')), 'no schema problems while the YAML is broken');
  });

  it('reports every YAML error, not only the first', () => {
    const found = problems('a:\n  b: 1\n   c: 2\n\tx: 1\n');
    assert.ok(found.length >= 2, found.join('\n'));
    assert.ok(found.some((p) => p.startsWith('gw.yaml:4:1 YAML: Tabs are not allowed as indentation')), found.join('\n'));
  });

  it('reports a duplicate key at the second occurrence, with its path', () => {
    assert.deepEqual(problems(`${BASE}listen:\n  port: 80\n  port: 81\n`), [
      `${FILE}:12:3 listen.port: duplicate key "port" (a key may appear only once in a mapping)`,
    ]);
  });

  it('reports every duplicate key', () => {
    assert.deepEqual(problems(`${BASE}routes: []\nlisten: { port: 1, port: 2 }\n`), [
      `${FILE}:10:1 routes: duplicate key "routes" (a key may appear only once in a mapping)`,
      `${FILE}:11:20 listen.port: duplicate key "port" (a key may appear only once in a mapping)`,
    ]);
  });

  it('reports a YAML warning such as an unknown tag, and still validates the value (as a string)', () => {
    assert.deepEqual(problems(`${BASE}workers: !cpu 2\n`), [
      `${FILE}:10:10 YAML: Unresolved tag: !cpu`,
      `${FILE}:10:15 workers: expected a number or "auto", got "2"`,
    ]);
  });

  it('refuses a file with several YAML documents', () => {
    const [problem] = problems(`${BASE}---\nlisten: {}\n`);
    assert.match(problem!, /^gw\.yaml:10:1 YAML: Source contains multiple documents/);
  });

  it('refuses a file whose aliases expand exponentially (a billion laughs)', () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (const [prev, name] of [['a', 'b'], ['b', 'c'], ['c', 'd']] as const) levels.push(`${name}: &${name} [${Array(10).fill(`*${prev}`).join(', ')}]`);
    assert.deepEqual(problems(`${levels.join('\n')}\n`), [`${FILE}:1:1 cannot read YAML: Excessive alias count indicates a resource exhaustion attack`]);
  });

  it('reports an empty file as one problem at 1:1', () => {
    assert.deepEqual(problems(''), [`${FILE}:1:1 config is empty: expected a mapping with at least "upstreams" and "routes"`]);
  });

  it('treats a file of only comments as empty', () => {
    assert.deepEqual(problems('# nothing here yet\n'), [`${FILE}:1:1 config is empty: expected a mapping with at least "upstreams" and "routes"`]);
  });

  it('reports a document that is not a mapping as one problem at 1:1', () => {
    assert.deepEqual(problems('- listen\n- routes\n'), [`${FILE}:1:1 config must be a mapping of keys (listen, upstreams, routes, ...), got a list`]);
    assert.deepEqual(problems('just text\n'), [`${FILE}:1:1 config must be a mapping of keys (listen, upstreams, routes, ...), got a single value`]);
  });
});

describe('loadConfigText: environment interpolation', () => {
  it('replaces ${NAME} in a string value', () => {
    const c = config(BASE.replace('http://127.0.0.1:7001', 'http://${USERS_HOST}:7001'), { USERS_HOST: '10.0.0.5' });
    assert.equal(c.upstreams.users!.targets[0]!.url, 'http://10.0.0.5:7001');
  });

  it('reports an undefined variable at its scalar, naming the variable', () => {
    assert.deepEqual(problems(BASE.replace('http://127.0.0.1:7001', 'http://${USERS_HOST}:7001')), [
      `${FILE}:4:14 upstreams.users.targets[0].url: environment variable USERS_HOST is not set (use \${USERS_HOST:-default} to give a default)`,
    ]);
  });

  it('uses the default of ${NAME:-default} when the variable is unset or empty', () => {
    const text = `${BASE}admin:\n  host: \${ADMIN_HOST:-10.1.1.1}\n  token: a-token-of-sixteen-chars\n`;
    assert.equal(config(text, {}).admin.host, '10.1.1.1');
    assert.equal(config(text, { ADMIN_HOST: '' }).admin.host, '10.1.1.1');
    assert.equal(config(text, { ADMIN_HOST: '192.168.0.1' }).admin.host, '192.168.0.1');
  });

  it('keeps an empty variable empty when it has no default', () => {
    const c = config(`${BASE}log:\n  access: { path: "x\${EMPTY}" }\n`, { EMPTY: '' });
    assert.equal(c.log.access.path, 'x');
  });

  it('types an unquoted interpolated number or boolean like a literal one', () => {
    const c = config(`${BASE}listen:\n  port: \${PORT:-8080}\nadmin:\n  enabled: \${ADMIN}\n`, { ADMIN: 'false' });
    assert.equal(c.listen.port, 8080);
    assert.equal(c.admin.enabled, false);
  });

  it('keeps a quoted interpolated value a string', () => {
    const text = BASE.replace('match: { path: /api/users }', 'match:\n      path: /api/users\n      headers: { x-api-version: "${V}" }');
    assert.deepEqual(config(text, { V: '2' }).routes[0]!.match.headers, { 'x-api-version': '2' });
  });

  it('writes a literal ${ for $${ and does not look up the name', () => {
    const c = config(`${BASE}log:\n  access: { path: "/var/log/$\${NOT_A_VAR}.log" }\n`);
    assert.equal(c.log.access.path, '/var/log/${NOT_A_VAR}.log');
  });

  it('never interpolates keys', () => {
    assert.deepEqual(problems(`${BASE}\${KEY}: 1\n`, { KEY: 'workers' }), [`${FILE}:10:1 ["\${KEY}"]: unknown key (allowed: listen, admin, metrics, liveStats, workers, server, log, identity, policies, upstreams, routes, redis, tracing, alerts)`]);
  });

  it('does not let a variable inject YAML structure', () => {
    const c = config(`${BASE}log:\n  access: { path: "\${P}" }\n`, { P: 'x\nlevel: debug' });
    assert.equal(c.log.access.path, 'x\nlevel: debug');
    assert.equal(c.log.level, 'info');
  });

  it('reports a malformed reference and an unterminated one', () => {
    assert.deepEqual(problems(`${BASE}log:\n  access: { path: "\${1X}" }\n`), [
      `${FILE}:11:19 log.access.path: invalid variable reference "\${1X}": use \${NAME} or \${NAME:-default}`,
    ]);
    assert.deepEqual(problems(`${BASE}log:\n  access: { path: "\${X" }\n`), [
      `${FILE}:11:19 log.access.path: unterminated "\${" (write "$\${" for a literal "\${")`,
    ]);
  });

  it('reports every undefined variable along with the schema problems, without repeating one for the same value', () => {
    const text = BASE.replace('http://127.0.0.1:7001', 'http://${A}:7001').replace('upstream: users', 'upstream: ${B}') + 'workers: none\n';
    assert.deepEqual(problems(text), [
      `${FILE}:4:14 upstreams.users.targets[0].url: environment variable A is not set (use \${A:-default} to give a default)`,
      `${FILE}:9:15 routes[0].upstream: environment variable B is not set (use \${B:-default} to give a default)`,
      `${FILE}:10:10 workers: expected a number or "auto", got "none"`,
    ]);
  });
});

describe('loadConfigFile', () => {
  const dirs: string[] = [];
  after(async () => { await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))); });
  async function tempFile(text: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-load-'));
    dirs.push(dir);
    const file = join(dir, 'gatehouse.yaml');
    await writeFile(file, text);
    return file;
  }

  it('loads a file and names it in problems', async () => {
    const file = await tempFile(`${BASE}workers: 0\n`);
    const result = await loadConfigFile(file, {});
    assert.equal(result.ok, false);
    if (!result.ok) assert.deepEqual(result.problems.map(formatProblem), [`${file}:10:10 workers: must be >= 1, got 0`]);
  });

  it('reads the environment it is given', async () => {
    const file = await tempFile(`${BASE}listen:\n  port: \${GW_PORT}\n`);
    const result = await loadConfigFile(file, { GW_PORT: '9000' });
    assert.ok(result.ok);
    assert.equal(result.ok && result.config.listen.port, 9000);
  });

  it('reports a missing file as one problem at 1:1', async () => {
    const result = await loadConfigFile('/nonexistent/gatehouse.yaml', {});
    assert.deepEqual(result, { ok: false, problems: [{ file: '/nonexistent/gatehouse.yaml', line: 1, col: 1, path: '', message: 'cannot read config: no such file' }] });
  });

  it('reports a directory given as the config file', async () => {
    const result = await loadConfigFile(tmpdir(), {});
    assert.equal(!result.ok && formatProblem(result.problems[0]!), `${tmpdir()}:1:1 cannot read config: it is a directory, not a file`);
  });

  it('reports an unreadable file as permission denied', async (t) => {
    const file = await tempFile(BASE);
    await chmod(file, 0o000);
    if (process.getuid?.() !== 0) {
      const result = await loadConfigFile(file, {});
      assert.equal(!result.ok && result.problems[0]!.message, 'cannot read config: permission denied');
      return;
    }
    // Root reads every file, so as root the load runs in a child process as the unprivileged "nobody".
    const loader = new URL('./load.ts', import.meta.url).pathname;
    if (spawnSync('test', ['-r', loader], { uid: 65534, gid: 65534 }).status !== 0) {
      t.skip('running as root in a checkout that the user "nobody" cannot read');
      return;
    }
    const script = `import { loadConfigFile } from ${JSON.stringify(new URL('./load.ts', import.meta.url).href)};
      const r = await loadConfigFile(${JSON.stringify(file)}, {}); process.stdout.write(r.ok ? 'ok' : r.problems[0].message);`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { uid: 65534, gid: 65534, encoding: 'utf8', cwd: '/' });
    assert.equal(child.stdout, 'cannot read config: permission denied', child.stderr);
  });
});

it('reports two routes that match exactly the same requests at the second route', () => {
  const text = [
    'upstreams:',
    '  u: { targets: [{ url: "http://127.0.0.1:7001" }] }',
    'routes:',
    '  - { name: a, match: { path: /x }, upstream: u }',
    '  - name: b',
    '    match: { path: /x/ }',
    '    upstream: u',
  ].join('\n');
  const result = loadConfigText(text, 'conflict.yaml', {});
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.equal(result.problems.length, 1);
  const [p] = result.problems;
  assert.deepEqual([p!.line, p!.col, p!.path], [6, 12, 'routes[1].match']);
  assert.match(p!.message, /route "b" matches exactly what route "a" matches/);
});

describe('loadConfigText: identity header names', () => {
  const RESERVED = 'this header is set by Gatehouse or HTTP itself; choose another name';

  it('refuses the headers Gatehouse sets or answers itself, such as Expect and X-Real-IP', () => {
    assert.deepEqual(problems(`${BASE}identity:\n  consumerHeader: Expect\n  stripHeaders: [x-real-ip, proxy-authorization, http2-settings]\n`), [
      `${FILE}:11:19 identity.consumerHeader: ${RESERVED}`,
      `${FILE}:12:18 identity.stripHeaders[0]: ${RESERVED}`,
      `${FILE}:12:29 identity.stripHeaders[1]: ${RESERVED}`,
      `${FILE}:12:50 identity.stripHeaders[2]: ${RESERVED}`,
    ]);
  });

  it('refuses an underscore spelling of a reserved header', () => {
    assert.deepEqual(problems(`${BASE}identity:\n  subjectHeader: x_real_ip\n`), [`${FILE}:11:18 identity.subjectHeader: ${RESERVED}`]);
  });

  it('accepts other names, underscores included', () => {
    assert.deepEqual(config(`${BASE}identity:\n  stripHeaders: [X_Legacy_User]\n`).identity.stripHeaders, ['x_legacy_user']);
  });

  it('refuses hashing on an identity header, whatever its letter case, and takes another header', () => {
    const hashing = (spec: string) => BASE.replace('  users:\n', `  users:\n    balancer: consistent-hash\n    hashOn: ${spec}\n`);
    assert.deepEqual(problems(hashing('header:X-User-Id')), [
      `${FILE}:4:13 upstreams.users.hashOn: "x-user-id" is an identity header: Gatehouse removes client copies before routing; hash on another header`,
    ]);
    assert.deepEqual(config(hashing('header:X-Cart-Id')).upstreams.users!.hashOn, { from: 'header', name: 'x-cart-id' });
  });
});

describe('loadConfigText: the idempotency policy\'s store', () => {
  const withPolicy = (workers: string, store: string) => `workers: ${workers}
${BASE}    policies:
      - type: idempotency
${store}        ttl: 24h
`;

  it('refuses store: memory with workers > 1 at its store key, naming the way out', () => {
    assert.deepEqual(problems(withPolicy('2', '        store: memory\n')), [
      `${FILE}:13:16 routes[0].policies[0].store: idempotency with store: memory cannot see duplicates across workers (workers: 2); use store: redis, or workers: 1`,
    ]);
  });

  it('refuses the default store (memory) with workers: auto, at the policy entry', () => {
    const [problem] = problems(withPolicy('auto', ''));
    assert.match(problem!, /^gw\.yaml:12:\d+ routes\[0\]\.policies\[0\]\.store: idempotency with store: memory cannot see duplicates across workers \(workers: auto\)/);
  });

  it('refuses it in the top-level policies too', () => {
    const text = `workers: 4\npolicies:\n  - type: idempotency\n    store: memory\n${BASE}`;
    assert.deepEqual(problems(text), [
      `${FILE}:4:12 policies[0].store: idempotency with store: memory cannot see duplicates across workers (workers: 4); use store: redis, or workers: 1`,
    ]);
  });

  it('accepts store: memory with one worker, and store: redis with workers and a redis: section', () => {
    assert.equal(config(withPolicy('1', '        store: memory\n')).workers, 1);
    assert.equal(config(`redis: { url: "redis://127.0.0.1:6379" }\n${withPolicy('4', '        store: redis\n')}`).workers, 4);
  });

  it('refuses store: redis without a redis: section at its store key', () => {
    const [problem] = problems(withPolicy('1', '        store: redis\n'));
    assert.match(problem!, /^gw\.yaml:13:16 routes\[0\]\.policies\[0\]\.store: store: redis needs a top-level redis: section/);
  });
});
