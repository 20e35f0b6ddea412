/**
 * The default CredentialStore (DESIGN.md, "Where it grows"): each (server, owner) record is kept
 * encrypted inside the settings file at `mcpServers.<server>.gatehouse.credentials.<owner>`,
 * written through the SettingsStore.
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
import type { SecretBox } from './secrets.js';
import type { SettingsStore } from './store.js';

export interface SettingsCredentialStoreOptions {
  store: SettingsStore;
  /** Defaults to the store's SecretBox. */
  secrets?: SecretBox;
}

/**
 * Associated data of one record: a value copied to another server entry or owner does not
 * decrypt (NIST SP 800-38D §5.2.1: the AAD is authenticated, not encrypted).
 */
export function credentialAad(key: CredentialKey): string {
  return `gatehouse/credential/v1\u0000${key.server}\u0000${key.owner}`;
}

/** CredentialStore over the settings file; one process, so `withLock` is an in-memory mutex. */
export class SettingsCredentialStore implements CredentialStore {
  readonly #store: SettingsStore;
  readonly #secrets: SecretBox;
  readonly #mutex = new KeyedMutex();

  constructor(options: SettingsCredentialStoreOptions) {
    this.#store = options.store;
    this.#secrets = options.secrets ?? options.store.secrets;
  }

  /**
   * The record of (server, owner), or undefined when none is stored.
   * @throws GatehouseError SECRETS_DECRYPT_FAILED when the stored value does not decrypt (another
   *   key, or copied from another entry): disconnecting the server replaces it.
   */
  async get(key: CredentialKey): Promise<CredentialRecord | undefined> {
    const blob = this.#store.credentialBlob(key.server, key.owner);
    if (blob === undefined) return undefined;
    const text = await this.#secrets.decrypt(blob, credentialAad(key));
    const record: unknown = JSON.parse(text);
    if (!isRecord(record)) {
      throw new GatehouseError(
        'SECRETS_DECRYPT_FAILED',
        `The stored credential of ${key.server} is not a record`,
      );
    }
    return record;
  }

  /**
   * Replaces the record, encrypted, and removes imported plaintext tokens from the server's
   * `oauth` block in the same write. A no-op (the store logs a warning) when the server is gone
   * from the file: a person removed it.
   */
  async put(key: CredentialKey, value: CredentialRecord): Promise<void> {
    const blob = await this.#secrets.encrypt(JSON.stringify(value), credentialAad(key));
    await this.#store.setCredentialBlob(key.server, key.owner, blob, { scrubPlaintextTokens: true });
  }

  /** Removes the record (and the `gatehouse` field when it becomes empty). */
  async delete(key: CredentialKey): Promise<void> {
    await this.#store.setCredentialBlob(key.server, key.owner, undefined);
  }

  withLock<T>(key: CredentialKey, fn: () => Promise<T>): Promise<T> {
    return this.#mutex.run(keyString(key), fn);
  }
}
