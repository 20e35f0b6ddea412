/**
 * The StateStore on Redis (or Valkey), for several replicas (issue 15, DESIGN.md "Shared store").
 * Every record is encrypted as in the file store (SecretBox, bound to its collection and id), so
 * Redis holds only ciphertext. Layout: one hash per collection, `<prefix>:state:<collection>`,
 * field = record id, value = `{"value":"enc:v1:…","expiresAt"?:…}`. Each write is announced on
 * `<prefix>:state-changes` (pub/sub), so every replica's caches (API keys, verified tokens) follow
 * another's writes at once.
 *
 * While Redis is unreachable every operation fails at once with STORE_UNAVAILABLE (commands are
 * not queued), and the client reconnects by itself with a capped backoff.
 */
import { randomUUID } from 'node:crypto';
import { createClient } from '@redis/client';
import { GatehouseError } from '../errors.js';
import type { Logger } from '../log.js';
import { isRecord } from './json-text.js';
import type { SecretBox } from './secrets.js';
import {
  stateAad,
  staleWrite,
  type PutOptions,
  type StateChange,
  type StateEntry,
  type StateRecord,
  type StateStore,
} from './state-store.js';

type Client = ReturnType<typeof createClient>;

export interface RedisStateStoreOptions {
  /** `redis://…`, `rediss://…` (TLS), a password in the URL; or `unix:///path/to/redis.sock`. */
  url: string;
  secrets: SecretBox;
  logger: Logger;
  /** Key prefix, so that several gateways may share one Redis (default `gatehouse`). */
  prefix?: string;
}

/**
 * Writes a record only when its fence is above the last one written (KEYS: the collection's hash
 * and its fences' hash; ARGV: id, stored value, fence). Atomic in Redis: the check and the write
 * cannot be split by another replica's write.
 */
const FENCED_WRITE = `local last = tonumber(redis.call('hget', KEYS[2], ARGV[1]) or '-1')
if last >= tonumber(ARGV[3]) then return 0 end
redis.call('hset', KEYS[1], ARGV[1], ARGV[2])
redis.call('hset', KEYS[2], ARGV[1], ARGV[3])
return 1`;

/** Deletes a field only if it still holds the value the sweep read (a newer write stays). */
const DELETE_IF_SAME = `if redis.call('hget', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('hdel', KEYS[1], ARGV[1]) else return 0 end`;

/** How often each replica removes the records whose expiry has passed (Redis does not, per field). */
const SWEEP_EVERY_MS = 10 * 60 * 1000;

/** How long the client waits between reconnect attempts at most. */
const MAX_RECONNECT_MS = 2_000;

/** The client options for a store URL (a Unix socket path, or a redis(s):// URL). */
export function redisClientOptions(url: string): Parameters<typeof createClient>[0] {
  const reconnectStrategy = (retries: number) => Math.min(50 * 2 ** retries, MAX_RECONNECT_MS);
  if (url.startsWith('unix://')) {
    return { socket: { path: url.slice('unix://'.length), reconnectStrategy }, disableOfflineQueue: true };
  }
  return { url, socket: { reconnectStrategy }, disableOfflineQueue: true };
}

/** Runs a Redis command; any failure to reach Redis becomes STORE_UNAVAILABLE. */
export async function storeCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof GatehouseError) throw error;
    throw new GatehouseError('STORE_UNAVAILABLE', `the shared store (Redis) could not ${what}; try again`, {
      cause: error,
    });
  }
}

export class RedisStateStore implements StateStore {
  readonly #client: Client;
  readonly #subscriber: Client;
  readonly #secrets: SecretBox;
  readonly #logger: Logger;
  readonly #prefix: string;
  /** Marks this process's own announcements, which it has already applied. */
  readonly #origin = randomUUID();
  readonly #listeners = new Set<(change: StateChange) => void>();
  #sweeper: NodeJS.Timeout | undefined;

  private constructor(options: RedisStateStoreOptions, client: Client, subscriber: Client) {
    this.#client = client;
    this.#subscriber = subscriber;
    this.#secrets = options.secrets;
    this.#logger = options.logger;
    this.#prefix = options.prefix ?? 'gatehouse';
  }

  /**
   * Connects (a command connection and a subscriber).
   * @throws GatehouseError STORE_UNAVAILABLE when Redis cannot be reached now
   */
  static async open(options: RedisStateStoreOptions): Promise<RedisStateStore> {
    const client = createClient(redisClientOptions(options.url));
    const subscriber = client.duplicate();
    let lastError = '';
    for (const c of [client, subscriber]) {
      c.on('error', (error: unknown) => {
        // The client reconnects by itself; say so once per kind of failure, not per attempt.
        const text = String(error);
        if (text !== lastError) options.logger.warn({ err: text }, 'shared store (Redis) connection problem');
        lastError = text;
      });
      c.on('ready', () => {
        lastError = '';
      });
    }
    const store = new RedisStateStore(options, client, subscriber);
    await storeCall('be reached', async () => {
      await client.connect();
      await subscriber.connect();
      await subscriber.subscribe(store.#channel, (message) => store.#announced(message));
    });
    store.#sweeper = setInterval(() => {
      store
        .sweepExpired()
        .catch((error: unknown) =>
          options.logger.warn({ err: String(error) }, 'sweeping expired records failed'),
        );
    }, SWEEP_EVERY_MS);
    store.#sweeper.unref();
    return store;
  }

  /** True while the command connection is up (for /readyz). */
  get reachable(): boolean {
    return this.#client.isReady;
  }

  /** The command connection, for the lock (redis-lock.ts) on the same server. */
  get client(): Client {
    return this.#client;
  }

  get #channel(): string {
    return `${this.#prefix}:state-changes`;
  }

  #hash(collection: string): string {
    return `${this.#prefix}:state:${collection}`;
  }

  /** The last fence written per record of a collection (plain numbers; no secret). */
  #fences(collection: string): string {
    return `${this.#prefix}:fence:${collection}`;
  }

  async get(collection: string, id: string): Promise<StateRecord | undefined> {
    const stored = await storeCall('read a record', () => this.#client.hGet(this.#hash(collection), id));
    if (stored === null || stored === undefined) return undefined;
    return (await this.#open(collection, id, String(stored)))?.value;
  }

  async put(collection: string, id: string, value: StateRecord, options: PutOptions = {}): Promise<void> {
    const sealed = await this.#secrets.encrypt(JSON.stringify(value), stateAad(collection, id));
    const stored = JSON.stringify(
      options.expiresAt === undefined ? { value: sealed } : { value: sealed, expiresAt: options.expiresAt },
    );
    const fence = options.fence;
    const written = await storeCall('write a record', async () => {
      if (fence === undefined) await this.#client.hSet(this.#hash(collection), id, stored);
      else {
        const keys = [this.#hash(collection), this.#fences(collection)];
        const done = await this.#client.eval(FENCED_WRITE, { keys, arguments: [id, stored, String(fence)] });
        if (done !== 1) return false;
      }
      await this.#announce({ collection, id, deleted: false });
      return true;
    });
    if (!written) throw staleWrite(collection, id);
    this.#emit({ collection, id, deleted: false });
  }

  async delete(collection: string, id: string): Promise<void> {
    const removed = await storeCall('delete a record', async () => {
      await this.#client.hDel(this.#fences(collection), id);
      return this.#client.hDel(this.#hash(collection), id);
    });
    if (removed === 0) return;
    await storeCall('announce a change', () => this.#announce({ collection, id, deleted: true }));
    this.#emit({ collection, id, deleted: true });
  }

  async list(collection: string): Promise<StateEntry[]> {
    const all = await storeCall('read a collection', () => this.#client.hGetAll(this.#hash(collection)));
    const entries: StateEntry[] = [];
    for (const [id, stored] of Object.entries(all)) {
      const entry = await this.#open(collection, id, String(stored));
      if (entry) entries.push(entry);
    }
    return entries;
  }

  onChange(listener: (change: StateChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Removes every record whose expiry has passed, in every collection: abandoned sign-ins,
   * authorizations and sessions would otherwise stay until something reads them (Redis expires
   * keys, not a hash's fields). Runs every 10 minutes on each replica; resolves with how many went.
   */
  async sweepExpired(): Promise<number> {
    const now = Date.now();
    let removed = 0;
    for await (const keys of this.#client.scanIterator({ MATCH: `${this.#prefix}:state:*`, COUNT: 100 })) {
      for (const key of keys) {
        for await (const entries of this.#client.hScanIterator(key, { COUNT: 100 })) {
          for (const { field, value } of entries) {
            let expiresAt: unknown;
            try {
              expiresAt = (JSON.parse(value) as { expiresAt?: unknown }).expiresAt;
            } catch {
              continue; // not ours to judge; a read says it is unreadable
            }
            if (typeof expiresAt !== 'number' || expiresAt > now) continue;
            const done = await this.#client.eval(DELETE_IF_SAME, { keys: [key], arguments: [field, value] });
            if (done === 1) removed++;
          }
        }
      }
    }
    return removed;
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    for (const c of [this.#subscriber, this.#client]) {
      if (c.isOpen) await c.close().catch(() => c.destroy());
    }
  }

  /**
   * A stored record, decrypted; undefined (and removed) once expired.
   * @throws GatehouseError STATE_UNREADABLE when it is not ours or does not decrypt (another key)
   */
  async #open(collection: string, id: string, stored: string): Promise<StateEntry | undefined> {
    let sealed: unknown;
    try {
      sealed = JSON.parse(stored);
    } catch {
      sealed = undefined;
    }
    if (!isRecord(sealed) || typeof sealed.value !== 'string') throw this.#unreadable(collection, id);
    const expiresAt = typeof sealed.expiresAt === 'number' ? sealed.expiresAt : undefined;
    if (expiresAt !== undefined && expiresAt <= Date.now()) {
      await storeCall('remove an expired record', () => this.#client.hDel(this.#hash(collection), id));
      return undefined;
    }
    let value: unknown;
    try {
      value = JSON.parse(await this.#secrets.decrypt(sealed.value, stateAad(collection, id)));
    } catch (error) {
      throw this.#unreadable(collection, id, error);
    }
    if (!isRecord(value)) throw this.#unreadable(collection, id);
    return expiresAt === undefined ? { id, value } : { id, value, expiresAt };
  }

  async #announce(change: StateChange): Promise<void> {
    await this.#client.publish(this.#channel, JSON.stringify({ ...change, origin: this.#origin }));
  }

  /** Another replica's write: tell this one's listeners. */
  #announced(message: string): void {
    let change: unknown;
    try {
      change = JSON.parse(message);
    } catch {
      return;
    }
    if (!isRecord(change) || change.origin === this.#origin) return;
    if (typeof change.collection !== 'string' || typeof change.id !== 'string') return;
    this.#emit({
      collection: change.collection,
      id: change.id,
      deleted: change.deleted === true,
      remote: true,
    });
  }

  #emit(change: StateChange): void {
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch (error) {
        this.#logger.warn({ err: String(error) }, 'a state change listener failed');
      }
    }
  }

  #unreadable(collection: string, id: string, cause?: unknown): GatehouseError {
    return new GatehouseError(
      'STATE_UNREADABLE',
      `The shared store's record ${collection}.${id} does not decrypt or is not Gatehouse's (another key?)`,
      { cause, details: { collection, id } },
    );
  }
}
