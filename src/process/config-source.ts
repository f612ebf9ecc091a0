/**
 * Where a config comes from: a file (validated, watched, reloadable) or a config built in memory (the
 * `proxy` quick start). Overrides from the command line (--port, --workers) are applied after validation.
 */
import { loadConfigFile, type LoadResult } from '../config/load.ts';
import type { Config } from '../config/schema.ts';

export interface ConfigSource {
  /** The file to watch, if any. */
  readonly file: string | undefined;
  load(): Promise<LoadResult>;
}

export interface Overrides {
  readonly port?: number;
  readonly host?: string;
  readonly workers?: number | 'auto';
  readonly adminPort?: number;
  readonly accessLog?: string;
}

export function applyOverrides(config: Config, o: Overrides): Config {
  if (Object.values(o).every((v) => v === undefined)) return config;
  return structuredClone({
    ...config,
    listen: { host: o.host ?? config.listen.host, port: o.port ?? config.listen.port },
    admin: { ...config.admin, port: o.adminPort ?? config.admin.port },
    workers: o.workers ?? config.workers,
    log: o.accessLog === undefined ? config.log : { ...config.log, access: { ...config.log.access, path: o.accessLog } },
  });
}

export function fileSource(file: string, overrides: Overrides = {}): ConfigSource {
  return {
    file,
    async load() {
      const result = await loadConfigFile(file);
      return result.ok ? { ok: true, config: applyOverrides(result.config, overrides) } : result;
    },
  };
}

export function memorySource(config: Config): ConfigSource {
  return { file: undefined, load: async () => ({ ok: true, config }) };
}
