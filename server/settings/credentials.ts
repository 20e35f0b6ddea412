/**
 * The credential store seam (DESIGN.md, "Where it grows"). Registered clients, tokens and pending
 * authorizations are read and written only through this interface. The default implementation
 * keeps them encrypted inside `mcp_settings.json` through the SettingsStore; a shared one (Redis)
 * can replace it for several replicas without touching the OAuth engine.
 */

/** Credentials are keyed by upstream and by owner: the gateway (shared), or a person (per-user). */
export interface CredentialKey {
  server: string;
  owner: string;
}

export const GATEWAY_OWNER = 'gateway';

/**
 * The owner of a person's records on a per-user server (issue 14): their OAuth record, or their
 * typed-in values. The prefixes keep the two apart whatever a subject contains.
 */
export function personOwner(person: string, kind: 'oauth' | 'inputs'): string {
  return `${kind}:${person}`;
}

/** The person an owner string of `personOwner` names, or undefined for another owner. */
export function personOf(owner: string): string | undefined {
  const colon = owner.indexOf(':');
  const kind = owner.slice(0, colon);
  return colon > 0 && (kind === 'oauth' || kind === 'inputs') ? owner.slice(colon + 1) : undefined;
}

/**
 * The value is whatever JSON the OAuth engine keeps for one (server, owner); the store treats it as
 * opaque and encrypts it as a whole.
 */
export type CredentialRecord = Record<string, unknown>;

export interface CredentialStore {
  get(key: CredentialKey): Promise<CredentialRecord | undefined>;
  /**
   * Replaces the whole record. With `generation` (fencing), a store whose lock can expire under a
   * stalled holder (several replicas) refuses the write with CREDENTIAL_STALE when a record of that
   * generation or a newer one was written meanwhile; in-process stores, whose lock cannot expire,
   * need not check.
   */
  put(key: CredentialKey, value: CredentialRecord, options?: { generation?: number }): Promise<void>;
  delete(key: CredentialKey): Promise<void>;
  /**
   * Runs `fn` while holding the per-(server, owner) lock; used by the single-flight refresh.
   * In one process this is a promise chain; a distributed store takes a distributed lock.
   */
  withLock<T>(key: CredentialKey, fn: () => Promise<T>): Promise<T>;
}

/** Serializes async work per key. Used by the stores in this process. */
export class KeyedMutex {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const result = previous.then(fn, fn);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }
}

/** Keeps credentials in memory only: for tests of the OAuth engine and for ephemeral gateways. */
export class MemoryCredentialStore implements CredentialStore {
  readonly #records = new Map<string, CredentialRecord>();
  readonly #mutex = new KeyedMutex();

  async get(key: CredentialKey): Promise<CredentialRecord | undefined> {
    const value = this.#records.get(keyString(key));
    return value === undefined ? undefined : structuredClone(value);
  }

  async put(key: CredentialKey, value: CredentialRecord): Promise<void> {
    this.#records.set(keyString(key), structuredClone(value));
  }

  async delete(key: CredentialKey): Promise<void> {
    this.#records.delete(keyString(key));
  }

  withLock<T>(key: CredentialKey, fn: () => Promise<T>): Promise<T> {
    return this.#mutex.run(keyString(key), fn);
  }
}

export function keyString(key: CredentialKey): string {
  return `${key.owner}\u0000${key.server}`;
}
