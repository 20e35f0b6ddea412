/**
 * Watches the settings file with chokidar. Editors save by writing in place or by renaming a new
 * file over the old one, so the parent folder is watched (one level deep, filtered to the file
 * name) rather than the file's inode. Events are debounced; the owner reads the file afterwards.
 */
import { watch, type FSWatcher } from 'chokidar';
import { basename, dirname, resolve } from 'node:path';

export interface FileWatcherOptions {
  path: string;
  /** Quiet time after the last event before `onChange` (default 100 ms). */
  debounceMs?: number;
  /** Longest delay of `onChange` while events keep coming (default 1000 ms). */
  maxWaitMs?: number;
  /** The file was written, replaced, created or removed. */
  onChange: () => void;
  onError: (error: Error) => void;
}

export interface FileWatcher {
  close(): Promise<void>;
}

/** Starts watching; resolves once chokidar is ready, so later changes are not missed. */
export async function watchFile(options: FileWatcherOptions): Promise<FileWatcher> {
  const file = resolve(options.path);
  const dir = dirname(file);
  const debounceMs = options.debounceMs ?? 100;
  const maxWaitMs = options.maxWaitMs ?? 1000;
  let timer: NodeJS.Timeout | undefined;
  let firstEventAt: number | undefined;
  let closed = false;

  const fire = () => {
    timer = undefined;
    firstEventAt = undefined;
    if (!closed) options.onChange();
  };
  const schedule = () => {
    const now = Date.now();
    firstEventAt ??= now;
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(fire, Math.max(0, Math.min(debounceMs, firstEventAt + maxWaitMs - now)));
  };

  const watcher: FSWatcher = watch(dir, {
    ignoreInitial: true,
    depth: 0,
    ignored: (path: string) => path !== dir && basename(path) !== basename(file),
  });
  watcher.on('all', (_event, path) => {
    if (resolve(path) === file) schedule();
  });
  watcher.on('error', (error) => options.onError(error instanceof Error ? error : new Error(String(error))));
  await new Promise<void>((resolveReady) => watcher.once('ready', () => resolveReady()));

  return {
    async close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      await watcher.close();
    },
  };
}
