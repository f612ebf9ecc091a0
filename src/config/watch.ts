/**
 * Watches the config file with chokidar (fs.watch goes deaf after the first atomic rename, which is how
 * editors and Kubernetes ConfigMaps save). Bursts of events are coalesced into one reload.
 */
import { watch } from 'chokidar';

export function watchConfig(file: string, onChange: () => void, debounceMs = 100): () => Promise<void> {
  const watcher = watch(file, { ignoreInitial: true, atomic: true, awaitWriteFinish: { stabilityThreshold: 50, pollInterval: 20 } });
  let timer: NodeJS.Timeout | undefined;
  const fire = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
  };
  watcher.on('change', fire).on('add', fire);
  return async () => {
    if (timer) clearTimeout(timer);
    await watcher.close();
  };
}
