/**
 * Where a config comes from: a file (validated, watched, reloadable) or a config built in memory (the
 * `proxy` quick start). Overrides from the command line (--port, --workers) are applied after validation.
 */
import { loadConfigFile, loadConfigText, type LoadResult } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import type { ListenerName } from '../server/listen.ts';

export interface ConfigSource {
  /** The file to watch, if any. */
  readonly file: string | undefined;
  /** How to move each listener, as the command that started the process spells it (bind errors say it). */
  readonly hints: ListenHints;
  load(): Promise<LoadResult>;
  /** Validates config text as load() would a file (POST /config): same interpolation, same overrides. */
  parse(text: string): LoadResult;
}

/** Per listener: the config key or flag that changes its port, and the one that changes its host. */
export type ListenHints = Readonly<Record<ListenerName, { readonly port: string; readonly host: string }>>;

/** The config keys, plus `gatehouse start`'s --port. */
export const configFileHints: ListenHints = {
  gateway: { port: 'listen.port (or --port)', host: 'listen.host' },
  admin: { port: 'admin.port', host: 'admin.host' },
  redirect: { port: 'listen.tls.redirectHttp.port', host: 'listen.tls.redirectHttp.host' },
};

/** Command-line overrides; undefined leaves the file's value. */
export interface Overrides {
  readonly port?: number | undefined;
  readonly workers?: number | 'auto' | undefined;
  readonly adminPort?: number | undefined;
  /** false: no access log (the demo's traffic generator would bury its banner under ten lines a second). */
  readonly accessLog?: false | undefined;
}

function applyOverrides(config: Config, o: Overrides): Config {
  // The loaded config is deeply frozen: the parts not overridden are shared, never copied.
  return Object.freeze({
    ...config,
    listen: Object.freeze({ ...config.listen, port: o.port ?? config.listen.port }),
    admin: Object.freeze({ ...config.admin, port: o.adminPort ?? config.admin.port }),
    workers: o.workers ?? config.workers,
    log: o.accessLog === false ? Object.freeze({ ...config.log, access: Object.freeze({ ...config.log.access, enabled: false }) }) : config.log,
  });
}

/** The file name config problems from parse() carry. */
const BODY = '<request body>';

export function fileSource(file: string, overrides: Overrides = {}, hints = configFileHints): ConfigSource {
  return {
    file,
    hints,
    async load() {
      const result = await loadConfigFile(file);
      return result.ok ? { ok: true, config: applyOverrides(result.config, overrides) } : result;
    },
    parse(text) {
      const result = loadConfigText(text, BODY);
      return result.ok ? { ok: true, config: applyOverrides(result.config, overrides) } : result;
    },
  };
}

export function memorySource(config: Config, hints = configFileHints): ConfigSource {
  return { file: undefined, hints, load: async () => ({ ok: true, config }), parse: (text) => loadConfigText(text, BODY) };
}
