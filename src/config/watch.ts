/**
 * Watches files with chokidar (fs.watch goes deaf after the first atomic rename, which is how editors, certbot
 * and Kubernetes ConfigMaps and Secrets save) and coalesces each burst of events into one call. Used for the
 * config file (process/supervisor.ts) and the directories of the TLS certificates (server/tls-contexts.ts).
 */
import { realpathSync, statSync, watch as fsWatch } from 'node:fs';
import { dirname } from 'node:path';
import { watch } from 'chokidar';

/** Quiet time after the last event before `onChange` runs: one call for a burst. */
const DEBOUNCE_MS = 100;

export interface WatchOptions {
  /** Watching failed (e.g. the system's inotify limit was reached); unheard, chokidar's 'error' would end the process. */
  readonly onError: (error: unknown) => void;
  /**
   * The paths are directories: react to any change of their entries (not deeper), symlinks not followed, so
   * a replaced symlink counts as a change of the directory holding it.
   */
  readonly directories?: boolean;
  /** The watched file was deleted (not replaced: an atomic rename is a change). Files only. */
  readonly onRemoved?: () => void;
  /** The initial scan is done: changes from now on are seen (a save before it may be missed). */
  readonly onReady?: () => void;
  /** Also call `onChange` once the initial scan is done: a file replaced while chokidar was scanning fires no event. */
  readonly whenReady?: boolean;
}

/** What a path resolves to through its symlinks: real path and inode, or undefined while it does not resolve. */
function resolvedIdentity(file: string): string | undefined {
  try {
    const real = realpathSync(file);
    return `${real}\0${statSync(real).ino}`;
  } catch {
    return undefined;
  }
}

/**
 * Watches the directories holding `files` for a symlink swapped under them: a Kubernetes ConfigMap volume
 * renames a new `..data` link over the old one while `gatehouse.yaml -> ..data/gatehouse.yaml` stays as it
 * was, so the watch on the file hears nothing until the old target is deleted, if it ever is. An entry
 * added, removed or renamed in the directory re-resolves each file and fires only when one now leads
 * somewhere else.
 *
 * Plain fs.watch on the directory, not chokidar: an access log beside the config is written hundreds of times
 * a second, and each write is a 'change' event here. fs.watch hands those over as a string compare and a
 * return; chokidar stat()ed the directory entry for each, which cost the benchmark's gateways ~5 % of a core
 * (`npm run bench`, session 5: other load on the proxy core 1 % → 5 %, CPU per request up ~8 µs).
 */
function watchSymlinkSwaps(files: string[], fire: () => void, onError: (error: unknown) => void): Closable {
  const seen = new Map(files.map((file) => [file, resolvedIdentity(file)]));
  const onEntries = (event: string) => {
    if (event !== 'rename') return;
    let swapped = false;
    for (const file of files) {
      const now = resolvedIdentity(file);
      // A file that no longer resolves was deleted: that is the file watcher's 'unlink' (onRemoved), not a
      // change to reload, which could only fail. Its return counts as a change again.
      if (now !== seen.get(file) && now !== undefined) swapped = true;
      seen.set(file, now);
    }
    if (swapped) fire();
  };
  const watchers = [...new Set(files.map((file) => dirname(file)))].map((dir) => {
    const watcher = fsWatch(dir, { persistent: false }, onEntries);
    watcher.on('error', onError);
    return watcher;
  });
  return { close: async () => { for (const watcher of watchers) watcher.close(); } };
}

interface Closable {
  close(): Promise<void>;
}

/** Calls `onChange` after files under `paths` are written or replaced; returns a function that stops watching. */
export function watchPaths(paths: string | string[], onChange: () => void, options: WatchOptions): () => Promise<void> {
  const { directories = false } = options;
  const watcher = watch(paths, {
    ignoreInitial: true, atomic: true, awaitWriteFinish: { stabilityThreshold: 50, pollInterval: 20 },
    ...(directories ? { depth: 0, followSymlinks: false } : {}),
  });
  let timer: NodeJS.Timeout | undefined;
  const fire = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(onChange, DEBOUNCE_MS);
  };
  if (directories) watcher.on('all', fire);
  else watcher.on('change', fire).on('add', fire).on('unlink', () => options.onRemoved?.());
  if (options.whenReady) watcher.on('ready', fire);
  watcher.on('error', options.onError);
  const swaps = directories ? undefined : watchSymlinkSwaps([paths].flat(), fire, options.onError);
  // fs.watch listens from the moment it returns; only chokidar has an initial scan to wait for.
  watcher.once('ready', () => options.onReady?.());
  return async () => {
    if (timer) clearTimeout(timer);
    await Promise.all([watcher.close(), swaps?.close()]);
  };
}
