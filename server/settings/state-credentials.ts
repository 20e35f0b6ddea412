/**
 * Per-user upstream credentials (issue 14): the CredentialStore of servers with
 * `"credentials": "perUser"`, over the StateStore. With the default file store the records live in
 * `.gatehouse-state.json` beside the settings (one file per gateway, every record encrypted and
 * bound to its collection and id, replaced atomically), so `mcp_settings.json` stays readable with
 * a hundred people; a shared StateStore (Redis) carries them for several replicas.
 */
import { GatehouseError } from '../errors.js';
import {
  KeyedMutex,
  keyString,
  type CredentialKey,
  type CredentialRecord,
  type CredentialStore,
} from './credentials.js';
import { isRecord } from './json-text.js';
import type { StateStore } from './state-store.js';

/** The StateStore collection of per-user credential records. */
export const USER_CREDENTIALS = 'upstream-credentials';

/** Runs work under a named lock held across replicas (settings/redis-lock.ts). */
export interface SharedLock {
  run<T>(name: string, fn: () => Promise<T>): Promise<T>;
}

/**
 * A CredentialStore whose records are StateStore records, `<server>\0<owner>` by id. With a
 * shared lock (several replicas on Redis) `withLock` holds it across replicas, so one refresh per
 * token runs at a time over all of them; otherwise an in-process mutex.
 */
export class StateCredentialStore implements CredentialStore {
  readonly #state: StateStore;
  readonly #mutex = new KeyedMutex();
  readonly #lock: SharedLock | undefined;

  constructor(state: StateStore, lock?: SharedLock) {
    this.#state = state;
    this.#lock = lock;
  }

  async get(key: CredentialKey): Promise<CredentialRecord | undefined> {
    const record = await this.#state.get(USER_CREDENTIALS, recordId(key));
    if (record !== undefined && !isRecord(record)) {
      throw new GatehouseError(
        'SECRETS_DECRYPT_FAILED',
        `The stored credential of ${key.server} is not a record`,
      );
    }
    return record;
  }

  put(key: CredentialKey, value: CredentialRecord, options: { generation?: number } = {}): Promise<void> {
    return this.#state.put(
      USER_CREDENTIALS,
      recordId(key),
      value,
      options.generation === undefined ? {} : { fence: options.generation },
    );
  }

  delete(key: CredentialKey): Promise<void> {
    return this.#state.delete(USER_CREDENTIALS, recordId(key));
  }

  withLock<T>(key: CredentialKey, fn: () => Promise<T>): Promise<T> {
    const lock = this.#lock;
    // In this process first (no need to ask Redis while a sibling call holds it), then across replicas.
    if (!lock) return this.#mutex.run(keyString(key), fn);
    const name = `credential:${encodeURIComponent(key.server)}:${encodeURIComponent(key.owner)}`;
    return this.#mutex.run(keyString(key), () => lock.run(name, fn));
  }

  /**
   * Calls `listener` with each record another replica wrote or deleted (a shared store's feed; the
   * file store has no other writer). Returns the unsubscribe function.
   */
  onRemoteChange(listener: (key: CredentialKey) => void): () => void {
    return this.#state.onChange((change) => {
      if (!change.remote || change.collection !== USER_CREDENTIALS) return;
      const nul = change.id.indexOf('\u0000');
      if (nul > 0) listener({ server: change.id.slice(0, nul), owner: change.id.slice(nul + 1) });
    });
  }

  /** The records of `server`, by owner (for counts: the caller looks, and shows nothing of them). */
  async records(server: string): Promise<Array<{ owner: string; record: CredentialRecord }>> {
    const prefix = `${server}\u0000`;
    return (await this.#state.list(USER_CREDENTIALS))
      .filter((entry) => entry.id.startsWith(prefix))
      .map((entry) => ({ owner: entry.id.slice(prefix.length), record: entry.value }));
  }
}

function recordId(key: CredentialKey): string {
  return `${key.server}\u0000${key.owner}`;
}
