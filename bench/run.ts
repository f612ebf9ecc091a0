/**
 * `npm run bench`: Gatehouse against the least a correct proxy does, on the same upstream, in the same run.
 *
 * The targets — the upstream directly, the baseline proxy (bench/baseline-proxy.ts, once with undici's
 * pool.stream and once with pool.dispatch) and Gatehouse (the real CLI, one route, one upstream, request ID,
 * trace context and the access log on, to a file; and the same with the edge policies) — are loaded with
 * autocannon in many short alternating rounds after a warm-up; the order rotates every round so no target
 * always runs first. Each proxy runs in its own process pinned to core 0; this process (the load generator)
 * and the upstream are pinned to core 1. For every run: req/s, p50, p99 and each proxy's CPU time per request
 * (utime + stime from /proc over the run ÷ responses), the steadiest figure on a shared, noisy machine.
 * Medians across rounds and the Gatehouse/baseline ratios are printed (against the cheaper of the two
 * baselines: the yardstick), then a JSON summary as the last line.
 * Feature variants (bench/variants.ts) run Gatehouse with one hot-path feature switched (the circuit breaker
 * off, metrics off; a rate limit in memory, and in a redis-server the benchmark starts; tracing at two sample
 * ratios, exporting to a collector that discards), and print what each costs.
 * Any error, timeout or non-2xx response makes the run exit 1: a benchmark of errors is meaningless.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { countLines } from './count-lines.ts';
import { runLoad, stopLoad, type LoadResult } from './load.ts';
import { clockTicksPerSecond, killAllNow, setUpPinning, startChild, stopAll, stopChild, whenChildDies, type Child, type Pinning } from './procs.ts';
import { summarizeProfile, type CpuProfile } from './profile-summary.ts';
import { analyse, printAnalysis, runLine, TARGET_CORE_CPU_RATIO, TARGET_CPU_RATIO, TARGET_EDGE_CPU_RATIO, type Run, type TargetName } from './report.ts';
import { parseSettings, usage, type Settings } from './settings.ts';
import { workDirBase } from './work-dir.ts';
import { FEATURE_VARIANTS, freePort, redisCommand, type Services } from './variants.ts';
import { EDGE_ORIGIN, edgeHeaders, gatewayConfig } from './configs.ts';

const REQUEST_PATH = '/api/bench';
const PROXY_CORE = 0;
const LOAD_CORE = 1;
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

interface Target {
  readonly name: TargetName;
  readonly url: string;
  /** The proxy process measured, or undefined for the upstream itself. */
  readonly proxy: Child | undefined;
  readonly accessLog?: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** The unmeasured burst before each measured run, and the pause after it (see prime in bench()). */
const PRIME_SECONDS = 1;
const SETTLE_MS = 200;

function listeningUrl(line: string): string | undefined {
  if (!line.includes('listening')) return undefined;
  try {
    return (JSON.parse(line) as { url?: string }).url;
  } catch {
    return undefined;
  }
}

/**
 * Starts the upstream, the two baselines (pool.stream and pool.dispatch), Gatehouse, Gatehouse with the edge
 * policies and, with --nolog-variant, Gatehouse without the access log: each its own pinned process.
 */
async function startTargets(settings: Settings, pin: Pinning, dir: string): Promise<{ upstream: Child; targets: Target[] }> {
  const node = process.execPath;
  const prof = (name: string) => (settings.profile ? ['--cpu-prof', '--cpu-prof-dir', join(dir, 'profile', name)] : []);
  const upstream = await startChild('upstream', pin.prefix(LOAD_CORE), [node, here('./upstream.ts')], (l) => !!listeningUrl(l));
  const upstreamUrl = listeningUrl(upstream.line)!;
  const targets: Target[] = [{ name: 'direct', url: upstreamUrl, proxy: undefined }];
  const gatehouseConfig = join(dir, 'gatehouse.yaml');
  const accessLog = join(dir, 'access.log');
  writeFileSync(gatehouseConfig, gatewayConfig(upstreamUrl, accessLog));
  for (const [name, api] of [['baseline', 'stream'], ['baseline-dispatch', 'dispatch']] as const) {
    const baseline = await startChild(name, pin.prefix(PROXY_CORE),
      [node, ...prof(name), here('./baseline-proxy.ts'), '-c', gatehouseConfig, '--api', api], (l) => !!listeningUrl(l));
    targets.push({ name, url: listeningUrl(baseline.line)!, proxy: baseline.child });
  }
  const gateway = async (name: TargetName, config: string, log: string | undefined) => {
    const started = await startChild(name, pin.prefix(PROXY_CORE), [node, ...settings.gatehouseFlags, ...prof(name), here('../src/main.ts'), 'start', '-c', config],
      (l) => l.includes('gateway listening') && !!listeningUrl(l));
    targets.push({ name, url: listeningUrl(started.line)!, proxy: started.child, ...(log ? { accessLog: log } : {}) });
  };
  await gateway('gatehouse', gatehouseConfig, accessLog);
  const edgeConfig = join(dir, 'gatehouse-edge.yaml');
  writeFileSync(edgeConfig, gatewayConfig(upstreamUrl, join(dir, 'access-edge.log'), true));
  await gateway('gatehouse-edge', edgeConfig, undefined);
  if (settings.nologVariant) {
    const nologConfig = join(dir, 'gatehouse-nolog.yaml');
    writeFileSync(nologConfig, gatewayConfig(upstreamUrl, undefined));
    await gateway('gatehouse-nolog', nologConfig, undefined);
  }
  // Each feature variant logs like `gatehouse` (to a file of its own), so the difference is the feature alone.
  const variants = settings.features ? FEATURE_VARIANTS : [];
  const services: Services = {
    redisUrl: variants.some((v) => v.needsRedis) ? await startRedis(pin) : '',
    collectorUrl: variants.some((v) => v.needsCollector) ? await startCollector(pin) : '',
  };
  for (const variant of variants) {
    const config = join(dir, `${variant.name}.yaml`);
    writeFileSync(config, gatewayConfig(upstreamUrl, join(dir, `access-${variant.name}.log`), false, variant.parts(services)));
    await gateway(variant.name, config, undefined);
  }
  return { upstream: upstream.child, targets };
}

/** The tracing variants' collector, on the load generator's core like the upstream. */
async function startCollector(pin: Pinning): Promise<string> {
  const collector = await startChild('collector', pin.prefix(LOAD_CORE), [process.execPath, here('./collector.ts')], (l) => !!listeningUrl(l));
  return listeningUrl(collector.line)!;
}

/** The Redis of the redis-store variants, on the load generator's core like the upstream. */
async function startRedis(pin: Pinning): Promise<string> {
  const port = await freePort();
  await startChild('redis', pin.prefix(LOAD_CORE), redisCommand(port), (l) => l.includes('Ready to accept connections'));
  return `redis://127.0.0.1:${port}`;
}

/**
 * A gateway reports listening before its Redis connection is up, and a fail-closed limiter answers 503 until
 * then: wait (bounded) for the redis variants' first 200, so the check below judges them connected.
 */
async function redisConnected(targets: readonly Target[], headers: Record<string, string>): Promise<void> {
  const redisTargets = targets.filter((t) => FEATURE_VARIANTS.some((v) => v.name === t.name && v.needsRedis));
  for (const t of redisTargets) {
    for (let i = 0; i < 100 && (await fetch(t.url + REQUEST_PATH, { headers })).status !== 200; i++) await sleep(50);
  }
}

/** One request to each target before any load: every target answers 200 with the upstream's exact body. */
async function checkTargets(targets: readonly Target[], headers: Record<string, string>): Promise<string[]> {
  const problems: string[] = [];
  let expected: string | undefined;
  for (const t of targets) {
    const res = await fetch(t.url + REQUEST_PATH, { headers });
    const body = await res.text();
    expected ??= body;
    if (res.status !== 200) problems.push(`${t.name}: status ${res.status}: ${body.slice(0, 200)}`);
    else if (body !== expected) problems.push(`${t.name}: body differs from the upstream's: ${body.slice(0, 200)}`);
    if (t.name.startsWith('gatehouse') && !res.headers.get('x-request-id')) problems.push(`${t.name}: no x-request-id on the response`);
    if (t.name === 'gatehouse-edge' && res.headers.get('access-control-allow-origin') !== EDGE_ORIGIN) problems.push(`${t.name}: the cors policy did not answer`);
    const proof = FEATURE_VARIANTS.find((v) => v.name === t.name)?.proofHeader;
    if (proof && !res.headers.has(proof)) problems.push(`${t.name}: no ${proof} header: the feature is not on`);
  }
  return problems;
}

function toRun(round: number, target: Target, r: LoadResult, usPerTick: number): Run {
  const perRequest = (ticks: number | undefined) => (ticks === undefined || r.responses === 0 ? Number.NaN : (ticks * usPerTick) / r.responses);
  return {
    round, target: target.name, rps: r.rps, p50: r.p50, p99: r.p99, responses: r.responses, seconds: r.seconds,
    cpuUs: target.proxy ? perRequest(r.cpuTicks[0]) : Number.NaN,
    upstreamCpuUs: perRequest(r.cpuTicks[target.proxy ? 1 : 0]),
    otherLoadPct: otherLoad(r, target),
    failures: r.failures,
    statusCodes: r.statusCodes,
  };
}

/** What else kept the proxy core busy during a run, as % of the run: other processes, interrupts, steal. */
function otherLoad(r: LoadResult, target: Target): number {
  if (!r.core || r.core.total <= 0) return Number.NaN;
  const ours = target.proxy ? r.cpuTicks[0] : 0;
  if (ours === undefined) return Number.NaN;
  return Math.max(0, (100 * (r.core.busy - ours)) / r.core.total);
}

function profileReports(dir: string, targets: readonly Target[], responses: Outcome['responses']): string {
  const out: string[] = [];
  for (const t of targets) {
    if (!t.proxy) continue;
    const profDir = join(dir, 'profile', t.name);
    const file = existsSync(profDir) ? readdirSync(profDir).find((f) => f.endsWith('.cpuprofile')) : undefined;
    if (!file) {
      out.push(`== ${t.name}: no .cpuprofile was written`);
      continue;
    }
    out.push(`== ${t.name} profile: ${join(profDir, file)}`, summarizeProfile(JSON.parse(readFileSync(join(profDir, file), 'utf8')) as CpuProfile, 25, responses[t.name]), '');
  }
  return out.join('\n');
}

interface Outcome {
  runs: Run[];
  failures: string[];
  accessLogLines?: number;
  gatehouseResponses: number;
  /** Responses each target served in this run, warm-up and checks included (for per-request profile figures). */
  responses: Partial<Record<TargetName, number>>;
}

/** Runs the benchmark, filling in `outcome` as it goes: what was measured survives a failure after it. */
async function bench(settings: Settings, pin: Pinning, dir: string, state: { fatal?: string; interrupted: boolean }, outcome: Outcome): Promise<void> {
  const usPerTick = 1e6 / clockTicksPerSecond();
  const { upstream, targets } = await startTargets(settings, pin, dir);
  console.log(`${targets.map((t) => `${t.name} ${t.url}${t.proxy ? ` (pid ${t.proxy.pid})` : ` (pid ${upstream.pid})`}`).join(', ')}; temp dir ${dir}\n`);
  const headers = await edgeHeaders();
  await redisConnected(targets, headers);
  outcome.failures.push(...await checkTargets(targets, headers));
  // The edge variant must refuse a request without the token, or it is not measuring what it says.
  const edge = targets.find((t) => t.name === 'gatehouse-edge');
  if (edge && (await fetch(edge.url + REQUEST_PATH)).status !== 401) outcome.failures.push('gatehouse-edge admitted a request without a token');
  outcome.gatehouseResponses++;
  for (const t of targets) outcome.responses[t.name] = 1;
  const stopped = () => state.fatal !== undefined || state.interrupted;

  // Every response counts, measured or not: the access log must have a line for each of Gatehouse's, and
  // profiles are divided by all a target served.
  const served = (t: Target, responses: number) => {
    if (t.name === 'gatehouse') outcome.gatehouseResponses += responses;
    outcome.responses[t.name] = (outcome.responses[t.name] ?? 0) + responses;
  };
  const measure = async (round: number, t: Target, seconds: number) => {
    const pids = t.proxy ? [t.proxy.pid, upstream.pid] : [upstream.pid];
    const core = pin.enabled ? PROXY_CORE : undefined;
    const result = await runLoad({ url: t.url + REQUEST_PATH, headers, seconds, connections: settings.connections, pids, ...(core === undefined ? {} : { core }) });
    served(t, result.responses);
    const run = toRun(round, t, result, usPerTick);
    console.log(runLine(run, round === 0 ? 'warm-up' : `round ${round}/${settings.rounds}`));
    if (Object.keys(run.failures).length) {
      outcome.failures.push(`${round === 0 ? 'warm-up' : `round ${round}`} ${t.name}: ${JSON.stringify(run.failures)} status ${JSON.stringify(run.statusCodes)}`);
    }
    return run;
  };
  for (const t of targets) {
    if (settings.warmup === 0 || outcome.failures.length || stopped()) break;
    await measure(0, t, settings.warmup);
  }
  // A target that sat idle while the others ran may have had code flushed or its heap shrunk by V8; a short
  // unmeasured burst right before each measured run takes that re-warm-up out of the figures.
  const prime = async (t: Target) => {
    served(t, (await runLoad({ url: t.url + REQUEST_PATH, headers, seconds: PRIME_SECONDS, connections: settings.connections, pids: [] })).responses);
  };
  for (let round = 1; round <= settings.rounds && !outcome.failures.length && !stopped(); round++) {
    for (let i = 0; i < targets.length && !stopped(); i++) {
      const target = targets[(i + round - 1) % targets.length]!;
      await prime(target);
      await sleep(SETTLE_MS);
      outcome.runs.push(await measure(round, target, settings.seconds));
    }
  }
  if (state.interrupted) return;

  // Stop the proxies gracefully: Gatehouse flushes its access log, and profiles are written on exit.
  for (const t of targets) if (t.proxy) await stopChild(t.proxy, 15_000);
  const logged = targets.find((t) => t.accessLog);
  if (logged?.accessLog) {
    outcome.accessLogLines = countLines(logged.accessLog);
    if (!state.fatal && outcome.accessLogLines < outcome.gatehouseResponses) {
      outcome.failures.push(`access log has ${outcome.accessLogLines} lines for ${outcome.gatehouseResponses} Gatehouse responses`);
    }
  }
  if (settings.profile) console.log(`\n${profileReports(dir, targets, outcome.responses)}`);
}

async function main(): Promise<number> {
  let settings: Settings | undefined;
  try {
    settings = parseSettings(process.argv.slice(2));
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${usage}`);
    return 2;
  }
  if (!settings) {
    console.log(usage);
    return 0;
  }

  // Counted before pinning: afterwards availableParallelism() reports this process's single core.
  const cpuCount = cpus().length;
  const pin = setUpPinning(LOAD_CORE);
  // In RAM when the machine has /dev/shm: the gateways' access logs are never written back to a disk mid-run.
  const dir = mkdtempSync(join(workDirBase(), 'gatehouse-bench-'));
  if (settings.profile) mkdirSync(join(dir, 'profile'));
  const keepDir = settings.keep || settings.profile;
  const removeDir = () => {
    if (!keepDir) rmSync(dir, { recursive: true, force: true });
  };

  process.on('exit', killAllNow);
  const state: { fatal?: string; interrupted: boolean } = { interrupted: false };
  const onSignal = (signal: NodeJS.Signals) => {
    state.interrupted = true;
    console.error(`\n${signal}: stopping the load and the benchmark's processes`);
    stopLoad();
    void stopAll().finally(() => {
      removeDir();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  whenChildDies((child, code) => {
    state.fatal ??= `${child.name} (pid ${child.pid}) exited unexpectedly (code ${code}):\n  ${child.lines.slice(-20).join('\n  ')}`;
    stopLoad();
  });

  const targetNames: TargetName[] = [
    'direct', 'baseline', 'baseline-dispatch', 'gatehouse', 'gatehouse-edge',
    ...(settings.nologVariant ? ['gatehouse-nolog' as const] : []), ...(settings.features ? FEATURE_VARIANTS.map((v) => v.name) : []),
  ];
  const est = (settings.warmup + settings.rounds * (settings.seconds + PRIME_SECONDS + SETTLE_MS / 1000)) * targetNames.length;
  console.log(`Gatehouse benchmark: ${settings.rounds} rounds x ${settings.seconds} s per target, ${settings.warmup} s warm-up, ` +
    `${settings.connections} connections (~${Math.ceil(est / 60)} min)`);
  console.log(`Node ${process.version}, ${cpuCount} CPUs (${cpus()[0]?.model ?? 'unknown'}); ` +
    (pin.enabled ? `proxies on core ${PROXY_CORE}, load generator + upstream on core ${LOAD_CORE}` : pin.note));
  if (settings.profile) console.log('Profiling the proxies (--cpu-prof): their CPU figures include the profiler\'s overhead');

  const outcome: Outcome = { runs: [], failures: [], gatehouseResponses: 0, responses: {} };
  try {
    await bench(settings, pin, dir, state, outcome);
  } catch (err) {
    outcome.failures.push(`benchmark failed: ${(err as Error).message}`);
  } finally {
    await stopAll();
    removeDir();
  }
  if (state.interrupted) return 130;
  if (state.fatal) outcome.failures.push(state.fatal);

  const analysis = analyse(outcome.runs, targetNames, FEATURE_VARIANTS);
  printAnalysis(analysis, settings.rounds, settings.seconds, settings.connections);
  if (outcome.accessLogLines !== undefined) {
    console.log(`Gatehouse access log: ${outcome.accessLogLines} lines for ${outcome.gatehouseResponses} responses`);
  }
  if (outcome.failures.length) console.error(`\nFAILED: the figures above are not valid:\n  ${outcome.failures.join('\n  ')}`);

  const summary = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpuCount,
    cpuModel: cpus()[0]?.model,
    pinned: pin.enabled,
    settings: {
      rounds: settings.rounds, seconds: settings.seconds, warmup: settings.warmup, connections: settings.connections,
      nologVariant: settings.nologVariant, features: settings.features, profile: settings.profile, gatehouseFlags: settings.gatehouseFlags,
    },
    medians: analysis.medians,
    yardstick: analysis.yardstick,
    ratios: analysis.ratios,
    features: analysis.features,
    target: { maxCpuPerRequestRatio: TARGET_CPU_RATIO, met: analysis.met },
    coreTarget: { maxCpuPerRequestRatio: TARGET_CORE_CPU_RATIO, met: analysis.coreMet },
    edgeTarget: { maxCpuPerRequestRatio: TARGET_EDGE_CPU_RATIO, met: analysis.edgeMet },
    accessLogLines: outcome.accessLogLines,
    gatehouseResponses: outcome.gatehouseResponses,
    runs: outcome.runs,
    failures: outcome.failures,
    ok: outcome.failures.length === 0,
  };
  if (settings.json) writeFileSync(settings.json, `${JSON.stringify(summary, null, 2)}\n`);
  console.log(JSON.stringify(summary));
  return outcome.failures.length ? 1 : 0;
}

// Exit explicitly: the sanity check's fetch may hold an idle keep-alive socket open.
process.exit(await main());
