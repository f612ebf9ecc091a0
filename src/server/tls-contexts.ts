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
import type { ListenTlsConfig } from '../config/tls-schema.ts';
import { watchPaths } from '../config/watch.ts';
import { GatewayError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';

interface Files {
  readonly cert: Buffer;
  readonly key: Buffer;
}

interface Entry {
  /** The configured paths. */
  readonly cert: string;
  readonly key: string;
  /** What was read from them last time it loaded, and the context made of it. */
  loaded: Files & { readonly context: tls.SecureContext };
}

export interface TlsContexts {
  /** For the server constructor: the default certificate, the SNI callback, the TLS version floor. */
  readonly serverOptions: tls.TlsOptions;
  /** Lets the server's default context (clients without SNI) follow file changes. */
  attach(server: tls.Server): void;
  /** Re-reads every pair now (what a file change triggers); a pair that changed but fails keeps its old context. */
  reload(): void;
  /** Stops watching the files. */
  close(): Promise<void>;
}

function read(entry: { cert: string; key: string }): Files {
  return { cert: readFileSync(entry.cert), key: readFileSync(entry.key) };
}

function load(files: Files, minVersion: tls.SecureVersion): Entry['loaded'] {
  return { context: tls.createSecureContext({ ...files, minVersion }), ...files };
}

/** Loads every certificate (throwing GW_ERR_STARTUP naming the files if one cannot be used) and starts watching. */
export function createTlsContexts(config: ListenTlsConfig, log: Logger): TlsContexts {
  const minVersion = config.minVersion;
  // The default certificate first: it serves no name of its own.
  const entries: Entry[] = [config, ...config.certificates].map(({ cert, key }) => {
    try {
      return { cert, key, loaded: load(read({ cert, key }), minVersion) };
    } catch (error) {
      throw new GatewayError('GW_ERR_STARTUP', `listen.tls: cannot use certificate ${cert} with key ${key}: ${(error as Error).message}`, { cause: error });
    }
  });
  const fallback = entries[0]!;
  // Names map to entries, not contexts: a reload replaces an entry's context and lookups see it at once.
  const exact = new Map<string, Entry>();
  const wildcard = new Map<string, Entry>();
  config.certificates.forEach(({ hosts }, i) => {
    for (const name of hosts) {
      const host = name.toLowerCase();
      if (host.startsWith('*.')) wildcard.set(host.slice(2), entries[i + 1]!);
      else exact.set(host, entries[i + 1]!);
    }
  });
  const servers: tls.Server[] = [];

  const lookup = (servername: string): tls.SecureContext => {
    const name = servername.toLowerCase().replace(/\.$/, '');
    const dot = name.indexOf('.');
    const entry = exact.get(name) ?? (dot > 0 ? wildcard.get(name.slice(dot + 1)) : undefined) ?? fallback;
    return entry.loaded.context;
  };

  const reload = (): void => {
    const changed: string[] = [];
    for (const entry of entries) {
      try {
        const files = read(entry);
        if (files.cert.equals(entry.loaded.cert) && files.key.equals(entry.loaded.key)) continue;
        entry.loaded = load(files, minVersion);
        changed.push(entry.cert);
      } catch (error) {
        log.error({ cert: entry.cert, key: entry.key, err: error }, 'TLS certificate reload failed: the previous certificate keeps serving');
      }
    }
    if (changed.length === 0) return;
    const { cert, key } = fallback.loaded;
    for (const server of servers) server.setSecureContext({ cert, key, minVersion });
    log.info({ certificates: changed }, 'TLS certificates reloaded');
  };

  const dirs = [...new Set(entries.flatMap((e) => [dirname(e.cert), dirname(e.key)]))];
  // A cert and its key are usually replaced together: one reload for the burst, not a failing one in between.
  // Events for unrelated files in the same directories cost a re-read that finds the bytes unchanged.
  const stopWatching = watchPaths(dirs, reload, {
    directories: true,
    whenReady: true,
    onError: (error) => log.error({ err: error }, 'watching TLS certificate files failed'),
  });

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
    close: stopWatching,
  };
}
