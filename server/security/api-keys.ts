/**
 * API keys for scripts and agents (issue 13): `Authorization: Bearer gh_<id>_<secret>` on /mcp.
 *
 * A key is shown once, at creation. What is kept (in the StateStore, collection `api-keys`, itself
 * encrypted at rest) is its id, name, scopes, the person it acts as, and the SHA-256 of its secret:
 * the secret is 32 random bytes, so a fast hash is enough (there is nothing to guess), and the
 * comparison is constant-time. Verification is a Map lookup by id and one hash: no I/O on the hot
 * path. The index follows the store's change feed, so a key revoked anywhere stops working at once.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { GatehouseError } from '../errors.js';
import type { StateStore } from '../settings/state-store.js';
import { parseScopes, type Principal } from './principal.js';

const COLLECTION = 'api-keys';
const PREFIX = 'gh_';
// Hex, so the id never contains the `_` that separates it from the secret (base64url may).
const ID_BYTES = 8; // 16 hex characters
const KEY_ID = /^[0-9a-f]{16}$/;
const SECRET_BYTES = 32;

/** A key as the admin API shows it: never the secret, never its hash. */
export interface KeyView {
  id: string;
  name: string;
  scopes: string[];
  /** The person the key acts as (per-user upstream credentials are chosen by it). */
  user: string;
  createdBy: string;
  createdAt: string;
  expiresAt?: string;
  lastUsedAt?: string;
}

interface StoredKey extends Omit<KeyView, 'lastUsedAt'> {
  /** hex SHA-256 of the secret part. */
  hash: string;
}

interface IndexedKey {
  stored: StoredKey;
  hash: Buffer;
  principal: Principal;
  expiresAtMs: number | undefined;
  lastUsedAt: number | undefined;
}

export interface CreateKeyInput {
  name: string;
  scopes: string[];
  user: string;
  createdBy: string;
  expiresAt?: Date;
}

/** Whether a bearer value looks like one of our API keys (so other verifiers need not be asked). */
export function isApiKeyFormat(token: string): boolean {
  return token.startsWith(PREFIX);
}

/** The API keys: created, listed, revoked through the admin API, verified on every MCP request. */
export class ApiKeyStore {
  readonly #state: StateStore;
  readonly #index = new Map<string, IndexedKey>();
  /**
   * The secret part of each key that has verified once, by key id: a script calls with the same
   * key over and over, and a constant-time comparison with it is cheaper than a SHA-256 each time.
   * In memory only; dropped with the key.
   */
  readonly #verified = new Map<string, Buffer>();
  #unsubscribe: () => void = () => undefined;
  /**
   * Ids of keys revoked or deleted since start: a read of the store that was on its way when the
   * deletion was heard must not put the key back (ids are random, never reused).
   */
  readonly #gone = new Set<string>();

  private constructor(state: StateStore) {
    this.#state = state;
  }

  /** Loads every key and follows the store's changes. */
  static async open(state: StateStore): Promise<ApiKeyStore> {
    const keys = new ApiKeyStore(state);
    for (const entry of await state.list(COLLECTION)) keys.#indexRecord(entry.id, entry.value);
    keys.#unsubscribe = state.onChange((change) => {
      if (change.collection !== COLLECTION) return;
      if (change.deleted) {
        keys.#forget(change.id);
        return;
      }
      void state.get(COLLECTION, change.id).then((value) => {
        if (value) keys.#indexRecord(change.id, value);
      });
    });
    return keys;
  }

  get size(): number {
    return this.#index.size;
  }

  /** Creates a key; the answer's `secret` is the only time the key is seen in full. */
  async create(input: CreateKeyInput): Promise<{ key: KeyView; secret: string }> {
    const id = randomBytes(ID_BYTES).toString('hex');
    const secretPart = randomBytes(SECRET_BYTES).toString('base64url');
    const stored: StoredKey = {
      id,
      name: input.name,
      scopes: [...new Set(input.scopes)],
      user: input.user,
      createdBy: input.createdBy,
      createdAt: new Date().toISOString(),
      hash: sha256(secretPart).toString('hex'),
    };
    if (input.expiresAt) stored.expiresAt = input.expiresAt.toISOString();
    // Indexed before the write returns, so the key works as soon as its creator sees it.
    this.#indexRecord(id, stored as unknown as Record<string, unknown>);
    await this.#state.put(COLLECTION, id, stored as unknown as Record<string, unknown>, {
      expiresAt: input.expiresAt?.getTime(),
    });
    return { key: view(this.#index.get(id)!), secret: `${PREFIX}${id}_${secretPart}` };
  }

  /** Every key that has not expired, newest first. */
  list(): KeyView[] {
    const now = Date.now();
    return [...this.#index.values()]
      .filter((k) => k.expiresAtMs === undefined || k.expiresAtMs > now)
      .map(view)
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  /**
   * Revokes a key: it is refused from the next request on.
   * @throws GatehouseError KEY_NOT_FOUND
   */
  async revoke(id: string): Promise<void> {
    if (!this.#index.has(id)) throw new GatehouseError('KEY_NOT_FOUND', `No API key with id "${id}"`);
    this.#forget(id);
    await this.#state.delete(COLLECTION, id);
  }

  /** The principal a presented key stands for, or undefined (unknown, wrong secret, expired). */
  verify(token: string): Principal | undefined {
    if (!token.startsWith(PREFIX)) return undefined;
    const separator = token.indexOf('_', PREFIX.length);
    if (separator === -1) return undefined;
    const id = token.slice(PREFIX.length, separator);
    const key = this.#index.get(id);
    if (!key) return undefined;
    const secret = Buffer.from(token.slice(separator + 1), 'utf8');
    const known = this.#verified.get(id);
    // Both comparisons are constant-time; the lengths compared first are not secret (fixed).
    if (known && known.length === secret.length && timingSafeEqual(known, secret)) return this.#use(key);
    if (!timingSafeEqual(sha256Of(secret), key.hash)) return undefined;
    this.#verified.set(id, secret);
    return this.#use(key);
  }

  /**
   * `verify`, but a key this replica has not heard of yet (made on another replica a moment ago,
   * its announcement still on the way) is read from the store first. Only an unknown id of the
   * right shape costs that read; a key in the index costs nothing more than `verify`.
   */
  async verifyFresh(token: string): Promise<Principal | undefined> {
    const separator = token.startsWith(PREFIX) ? token.indexOf('_', PREFIX.length) : -1;
    const id = separator === -1 ? '' : token.slice(PREFIX.length, separator);
    if (KEY_ID.test(id) && !this.#index.has(id)) {
      // An unreachable store refuses the key as unknown, as before it was read.
      const value = await this.#state.get(COLLECTION, id).catch(() => undefined);
      if (value && !this.#index.has(id)) this.#indexRecord(id, value);
    }
    return this.verify(token);
  }

  #use(key: IndexedKey): Principal | undefined {
    const now = Date.now();
    if (key.expiresAtMs !== undefined && key.expiresAtMs <= now) return undefined;
    key.lastUsedAt = now;
    return key.principal;
  }

  /** Drops a key from the index and every remembered presentation of it. */
  #forget(id: string): void {
    this.#gone.add(id);
    this.#index.delete(id);
    this.#verified.delete(id);
  }

  close(): void {
    this.#unsubscribe();
  }

  #indexRecord(id: string, value: Record<string, unknown>): void {
    if (this.#gone.has(id)) return;
    const stored = value as unknown as StoredKey;
    if (typeof stored.hash !== 'string' || !Array.isArray(stored.scopes)) return;
    const expiresAtMs = stored.expiresAt === undefined ? undefined : Date.parse(stored.expiresAt);
    const principal: Principal = {
      kind: 'key',
      subject: stored.user,
      grants: parseScopes(stored.scopes),
      keyId: id,
    };
    if (expiresAtMs !== undefined) principal.expiresAt = expiresAtMs;
    this.#index.set(id, {
      stored,
      hash: Buffer.from(stored.hash, 'hex'),
      principal,
      expiresAtMs,
      lastUsedAt: this.#index.get(id)?.lastUsedAt,
    });
  }
}

function view(key: IndexedKey): KeyView {
  const { hash: _hash, ...rest } = key.stored;
  const out: KeyView = { ...rest, scopes: [...rest.scopes] };
  if (key.lastUsedAt !== undefined) out.lastUsedAt = new Date(key.lastUsedAt).toISOString();
  return out;
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function sha256Of(bytes: Buffer): Buffer {
  return createHash('sha256').update(bytes).digest();
}
