/**
 * The HTTPS listener's certificates: one tls.SecureContext per configured cert/key pair, picked by the
 * server name the client sends (SNI): an exact name first, then a "*." wildcard covering exactly one label,
 * else the default certificate (also what clients without SNI get).
 *
 * The directories holding the files are watched with chokidar, not the files: editors and certbot replace
 * files by rename or symlink, and Kubernetes swaps a `..data` symlink two levels away, none of which a watch
 * on the file itself reliably sees. After any change there every pair is re-read; a pair whose bytes changed
 * and that loads is used for new handshakes, one that does not load (half-written, key not matching the
 * certificate) keeps its previous context serving and is logged, and a later change retries it. Established
 * connections keep the certificate they were given.
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import tls from 'node:tls';
import { watch } from 'chokidar';
import type { ListenTlsConfig } from '../config/tls-schema.ts';
import { GatewayError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';

interface Pair {
  readonly cert: string;
  readonly key: string;
}

interface Loaded {
  readonly context: tls.SecureContext;
  readonly cert: Buffer;
  readonly key: Buffer;
}

interface Entry {
  readonly pair: Pair;
  readonly hosts: readonly string[];
  loaded: Loaded;
}

export interface TlsContexts {
  /** For the server constructor: the default certificate, the SNI callback, the TLS version floor. */
  readonly serverOptions: tls.TlsOptions;
  /** Lets the server's default context (clients without SNI) follow file changes. */
  attach(server: tls.Server): void;
  /** Re-reads every pair now (what a file change triggers); returns how many changed but failed, keeping their old context. */
  reload(): number;
  /** Stops watching the files. */
  close(): Promise<void>;
}

function read(pair: Pair): { cert: Buffer; key: Buffer } {
  return { cert: readFileSync(pair.cert), key: readFileSync(pair.key) };
}

function load(files: { cert: Buffer; key: Buffer }, minVersion: tls.SecureVersion): Loaded {
  return { context: tls.createSecureContext({ ...files, minVersion }), ...files };
}

/** Loads every certificate (throwing GW_ERR_STARTUP naming the files if one cannot be used) and starts watching. */
export function createTlsContexts(config: ListenTlsConfig, log: Logger, debounceMs = 100): TlsContexts {
  const minVersion = config.minVersion;
  const pairs: Array<{ pair: Pair; hosts: readonly string[] }> = [
    { pair: { cert: config.cert, key: config.key }, hosts: [] },
    ...config.certificates.map((c) => ({ pair: { cert: c.cert, key: c.key }, hosts: c.hosts })),
  ];
  const entries: Entry[] = pairs.map(({ pair, hosts }) => {
    try {
      return { pair, hosts, loaded: load(read(pair), minVersion) };
    } catch (error) {
      throw new GatewayError('GW_ERR_STARTUP', `listen.tls: cannot use certificate ${pair.cert} with key ${pair.key}: ${(error as Error).message}`, { cause: error });
    }
  });
  const fallback = entries[0]!;
  let exact = new Map<string, tls.SecureContext>();
  let wildcard = new Map<string, tls.SecureContext>();
  const index = () => {
    exact = new Map();
    wildcard = new Map();
    for (const { hosts, loaded } of entries) {
      for (const name of hosts) {
        const host = name.toLowerCase();
        if (host.startsWith('*.')) wildcard.set(host.slice(2), loaded.context);
        else exact.set(host, loaded.context);
      }
    }
  };
  index();
  const servers: tls.Server[] = [];

  const lookup = (servername: string): tls.SecureContext => {
    const name = servername.toLowerCase().replace(/\.$/, '');
    const found = exact.get(name);
    if (found) return found;
    const dot = name.indexOf('.');
    return (dot > 0 ? wildcard.get(name.slice(dot + 1)) : undefined) ?? fallback.loaded.context;
  };

  const reload = (): number => {
    const changed: string[] = [];
    let failed = 0;
    for (const entry of entries) {
      try {
        const files = read(entry.pair);
        if (files.cert.equals(entry.loaded.cert) && files.key.equals(entry.loaded.key)) continue;
        entry.loaded = load(files, minVersion);
        changed.push(entry.pair.cert);
      } catch (error) {
        failed++;
        log.error({ cert: entry.pair.cert, key: entry.pair.key, err: error }, 'TLS certificate reload failed: the previous certificate keeps serving');
      }
    }
    if (changed.length === 0) return failed;
    index();
    const { cert, key } = fallback.loaded;
    for (const server of servers) server.setSecureContext({ cert, key, minVersion });
    log.info({ certificates: changed }, 'TLS certificates reloaded');
    return failed;
  };

  const dirs = [...new Set(entries.flatMap((e) => [dirname(e.pair.cert), dirname(e.pair.key)]))];
  const watcher = watch(dirs, {
    ignoreInitial: true, depth: 0, followSymlinks: false, atomic: true, awaitWriteFinish: { stabilityThreshold: 50, pollInterval: 20 },
  });
  let timer: NodeJS.Timeout | undefined;
  // A cert and its key are usually replaced together: one reload for the burst, not a failing one in between.
  // Events for unrelated files in the same directories cost a re-read that finds the bytes unchanged.
  const onEvent = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(reload, debounceMs);
  };
  // A file replaced between the first read and the end of chokidar's initial scan fires no event: re-read at 'ready'.
  watcher.on('all', onEvent).on('ready', onEvent).on('error', (error) => log.error({ err: error }, 'watching TLS certificate files failed'));

  return {
    serverOptions: {
      cert: fallback.loaded.cert,
      key: fallback.loaded.key,
      minVersion,
      SNICallback: (servername, cb) => cb(null, lookup(servername)),
    },
    attach(server) {
      servers.push(server);
    },
    reload,
    async close() {
      if (timer) clearTimeout(timer);
      await watcher.close();
    },
  };
}
