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

/** Command-line overrides; undefined leaves the file's value. */
export interface Overrides {
  readonly port?: number | undefined;
  readonly workers?: number | 'auto' | undefined;
  readonly adminPort?: number | undefined;
}

function applyOverrides(config: Config, o: Overrides): Config {
  // The loaded config is deeply frozen: the parts not overridden are shared, never copied.
  return Object.freeze({
    ...config,
    listen: Object.freeze({ ...config.listen, port: o.port ?? config.listen.port }),
    admin: Object.freeze({ ...config.admin, port: o.adminPort ?? config.admin.port }),
    workers: o.workers ?? config.workers,
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
