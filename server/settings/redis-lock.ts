/**
 * A lock shared by every replica (issue 15: one refresh per token per expiry across all of them):
 * `SET key token NX PX ttl` to take it, a compare-and-delete script to give it back (only the
 * holder's token frees it). The lock expires by itself when its holder dies or stalls, so a
 * replica that lost it must not trust what it read under it: the caller re-reads under the lock,
 * and the token record's generation is the fencing check (a stale write of an older generation is
 * refused where the record is written).
 * @see https://redis.io/docs/latest/develop/clients/patterns/distributed-locks/ (single instance)
 */
import { randomBytes } from 'node:crypto';
import type { createClient } from '@redis/client';
import { GatehouseError } from '../errors.js';
import { storeCall } from './redis-state.js';

type Client = ReturnType<typeof createClient>;

/** Frees the lock only for the token that holds it. */
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export interface RedisLockOptions {
  /** How long a holder may keep it before it expires by itself (default 30 s). */
  ttlMs?: number;
  /** How long a caller waits for it before giving up (default 30 s). */
  waitMs?: number;
}

export class RedisLock {
  readonly #client: Client;
  readonly #prefix: string;
  readonly #ttlMs: number;
  readonly #waitMs: number;

  constructor(client: Client, prefix = 'gatehouse', options: RedisLockOptions = {}) {
    this.#client = client;
    this.#prefix = prefix;
    this.#ttlMs = options.ttlMs ?? 30_000;
    this.#waitMs = options.waitMs ?? 30_000;
  }

  /**
   * Runs `fn` while holding the lock `name` (across replicas).
   * @throws GatehouseError STORE_UNAVAILABLE when Redis cannot be reached; LOCK_TIMEOUT when
   *   another holder kept it for longer than the wait
   */
  async run<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const key = `${this.#prefix}:lock:${name}`;
    const token = randomBytes(16).toString('hex');
    const deadline = Date.now() + this.#waitMs;
    for (let attempt = 0; ; attempt++) {
      const taken = await storeCall('take a lock', () =>
        this.#client.set(key, token, { condition: 'NX', expiration: { type: 'PX', value: this.#ttlMs } }),
      );
      if (taken === 'OK') break;
      if (Date.now() >= deadline) {
        throw new GatehouseError('LOCK_TIMEOUT', `the shared lock "${name}" stayed taken; try again`);
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(10 * 2 ** attempt, 200)));
    }
    try {
      return await fn();
    } finally {
      await storeCall('free a lock', () =>
        this.#client.eval(RELEASE, { keys: [key], arguments: [token] }),
      ).catch(
        () => undefined, // it expires by itself
      );
    }
  }
}
