/**
 * Watches files with chokidar (fs.watch goes deaf after the first atomic rename, which is how editors, certbot
 * and Kubernetes ConfigMaps and Secrets save) and coalesces each burst of events into one call. Used for the
 * config file (process/supervisor.ts) and the directories of the TLS certificates (server/tls-contexts.ts).
 */
import { realpathSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';

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
 * was, so the watch on the file hears nothing until the old target is deleted, if it ever is. Any entry
 * change in the directory re-resolves each file and fires only when one now leads somewhere else.
 */
function watchSymlinkSwaps(files: string[], fire: () => void): FSWatcher {
  const seen = new Map(files.map((file) => [file, resolvedIdentity(file)]));
  const watcher = watch([...new Set(files.map((file) => dirname(file)))], { ignoreInitial: true, depth: 0, followSymlinks: false });
  watcher.on('all', (event) => {
    // Writes to neighbours (an access log beside the config) are 'change' events: no link moved.
    if (event === 'change') return;
    let swapped = false;
    for (const file of files) {
      const now = resolvedIdentity(file);
      // A file that no longer resolves was deleted: that is the file watcher's 'unlink' (onRemoved), not a
      // change to reload, which could only fail. Its return counts as a change again.
      if (now !== seen.get(file) && now !== undefined) swapped = true;
      seen.set(file, now);
    }
    if (swapped) fire();
  });
  return watcher;
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
  const swaps = directories ? undefined : watchSymlinkSwaps([paths].flat(), fire).on('error', options.onError);
  let scanning = swaps ? 2 : 1;
  const scanned = () => { if (--scanning === 0) options.onReady?.(); };
  watcher.once('ready', scanned);
  swaps?.once('ready', scanned);
  return async () => {
    if (timer) clearTimeout(timer);
    await Promise.all([watcher.close(), swaps?.close()]);
  };
}
