/**
 * Where the settings document lives, behind one seam the SettingsStore writes through: the file
 * (one process; DESIGN.md "The settings file") or Redis, shared by several replicas (issue 15;
 * redis-settings.ts). A source reads, writes and reports changes of the document's text; parsing,
 * validation, the diff and the events stay in the store, so a change from elsewhere (a person's
 * save, another replica's write) is applied by the same code either way.
 */
import type { Logger } from '../log.js';
import { atomicUpdate, readStableText } from './atomic-file.js';
import { readSettingsText } from './load.js';
import type { StoreConfig } from './types.js';
import { watchFile, type FileWatcher } from './watch.js';

/** The document's text now in the source, and whether this call wrote it. */
export interface SourceWrite {
  text: string;
  written: boolean;
}

export interface SettingsSource {
  /** Names the document in errors and logs: the file's path, or the Redis key. */
  readonly name: string;
  /**
   * True when a reader can see a save half done (a file written in place): a text that does not
   * parse is then read again before it is rejected. A Redis document changes in one step.
   */
  readonly partialSaves: boolean;
  /**
   * The document's text now.
   * @throws GatehouseError SETTINGS_UNREADABLE (file) or STORE_UNAVAILABLE (Redis)
   */
  read(): Promise<string>;
  /**
   * The text after `watch` reported a change (waits for a save in progress to settle).
   * @throws the file's read error (ENOENT when it is gone), or STORE_UNAVAILABLE
   */
  readChanged(): Promise<string>;
  /**
   * Read-modify-write: `transform` gets the newest text and returns the text to store, or
   * undefined to store nothing; it runs again when the document changed under it.
   */
  update(transform: (current: string) => Promise<string | undefined>): Promise<SourceWrite>;
  /** Starts reporting changes made elsewhere; resolves once nothing can be missed. */
  watch(onChange: () => void): Promise<void>;
  /** Stops watching and lets go of connections. */
  close(): Promise<void>;
}

/** The settings file as the document: today's single-process behaviour. */
export class FileSettingsSource implements SettingsSource {
  readonly name: string;
  readonly partialSaves = true;
  readonly #logger: () => Logger;
  readonly #debounceMs: number | undefined;
  #watcher: FileWatcher | undefined;
  #closed = false;

  /** `logger` is read at each use: main swaps its boot logger for the app's. */
  constructor(path: string, logger: () => Logger, debounceMs?: number) {
    this.name = path;
    this.#logger = logger;
    this.#debounceMs = debounceMs;
  }

  read(): Promise<string> {
    return readSettingsText(this.name);
  }

  readChanged(): Promise<string> {
    return readStableText(this.name);
  }

  update(transform: (current: string) => Promise<string | undefined>): Promise<SourceWrite> {
    return atomicUpdate({ path: this.name, logger: this.#logger(), transform });
  }

  async watch(onChange: () => void): Promise<void> {
    if (this.#watcher !== undefined || this.#closed) return;
    this.#watcher = await watchFile({
      path: this.name,
      debounceMs: this.#debounceMs,
      onChange,
      onError: (error) =>
        this.#logger().error({ file: this.name, err: error.message }, 'Watching the settings failed'),
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#watcher?.close();
    this.#watcher = undefined;
  }
}

/**
 * The document in Redis that `systemConfig.store` names (imported from the file's `fileText` when
 * Redis has none yet). The Redis module is loaded only here: a module loaded at start costs every
 * proxied call (README, Performance).
 * @throws GatehouseError STORE_UNAVAILABLE when Redis cannot be reached
 */
export async function openRedisSource(
  store: Extract<StoreConfig, { type: 'redis' }>,
  file: string,
  fileText: string,
  logger: () => Logger,
): Promise<SettingsSource> {
  const { RedisSettingsSource } = await import('./redis-settings.js');
  return RedisSettingsSource.open({ url: store.url, prefix: store.prefix, fileText, file, logger });
}
