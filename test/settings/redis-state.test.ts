/**
 * The shared store on a real Redis (issue 15, first part): Debian's redis-server as a child
 * process. Two store instances play two replicas: records are encrypted at rest, a write on one is
 * announced to the other, expiry holds, the lock is one holder at a time across them and frees
 * itself when its holder stalls, and an outage fails fast with STORE_UNAVAILABLE and heals.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createClient } from '@redis/client';
import { isGatehouseError } from '../../server/errors.js';
import { silentLogger } from '../../server/log.js';
import { loadProviderKeys } from '../../server/inbound/keys.js';
import { ApiKeyStore } from '../../server/security/api-keys.js';
import { RecordRepo } from '../../server/oauth/record.js';
import { RedisLock } from '../../server/settings/redis-lock.js';
import { RedisStateStore, redisClientOptions } from '../../server/settings/redis-state.js';
import { SecretBox } from '../../server/settings/secrets.js';
import { StateCredentialStore } from '../../server/settings/state-credentials.js';
import type { StateChange } from '../../server/settings/state-store.js';
import { waitUntil } from '../fixtures/gateway.js';
import { startRedis, type TestRedis } from '../fixtures/redis.js';

describe('the shared store on Redis', () => {
  let redis: TestRedis;
  let a: RedisStateStore;
  let b: RedisStateStore;
  const secrets = new SecretBox({ key: Buffer.alloc(32, 7) });

  before(async () => {
    redis = await startRedis();
    a = await RedisStateStore.open({ url: redis.url, secrets, logger: silentLogger });
    b = await RedisStateStore.open({ url: redis.url, secrets, logger: silentLogger });
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await redis?.close();
  });

  test('a record written by one replica is read, listed and deleted by the other; Redis holds only ciphertext', async () => {
    await a.put('api-keys', 'k1', { name: 'ci', secretHash: 'abc123' });
    assert.deepEqual(await b.get('api-keys', 'k1'), { name: 'ci', secretHash: 'abc123' });
    assert.deepEqual(
      (await b.list('api-keys')).map((e) => e.id),
      ['k1'],
    );
    const raw = createClient(redisClientOptions(redis.url));
    await raw.connect();
    const stored = String(await raw.hGet('gatehouse:state:api-keys', 'k1'));
    raw.destroy();
    assert.match(stored, /enc:v1:/);
    assert.ok(!stored.includes('abc123'), stored);
    await b.delete('api-keys', 'k1');
    assert.equal(await a.get('api-keys', 'k1'), undefined);
  });

  test('a write is announced to the other replica’s listeners, not echoed to the writer’s twice', async () => {
    const seenByB: StateChange[] = [];
    const seenByA: StateChange[] = [];
    const offB = b.onChange((change) => seenByB.push(change));
    const offA = a.onChange((change) => seenByA.push(change));
    await a.put('oidc:Grant', 'g1', { accountId: 'alice' });
    await a.delete('oidc:Grant', 'g1');
    await waitUntil(() => seenByB.length === 2, 'both changes at the other replica');
    assert.deepEqual(seenByB, [
      { collection: 'oidc:Grant', id: 'g1', deleted: false, remote: true },
      { collection: 'oidc:Grant', id: 'g1', deleted: true, remote: true },
    ]);
    assert.equal(seenByA.length, 2, 'the writer heard each of its own changes once');
    assert.ok(
      seenByA.every((change) => change.remote === undefined),
      'and not as another replica’s',
    );
    offA();
    offB();
  });

  test('an expired record is gone for every replica', async () => {
    await a.put('pending', 'p1', { state: 'x' }, { expiresAt: Date.now() + 100 });
    assert.deepEqual(await b.get('pending', 'p1'), { state: 'x' });
    await waitUntil(async () => (await b.get('pending', 'p1')) === undefined, 'the record to expire');
    assert.deepEqual(await a.list('pending'), []);
  });

  /** How many SET commands Redis has run (each try to take a lock is one). */
  async function setCalls(): Promise<number> {
    const raw = createClient(redisClientOptions(redis.url));
    await raw.connect();
    const info = String(await raw.info('commandstats'));
    raw.destroy();
    return Number(/cmdstat_set:calls=(\d+)/.exec(info)?.[1] ?? 0);
  }

  after(async () => {
    await a?.close();
    await b?.close();
    await redis?.close();
  });

  test('the lock has one holder at a time across replicas, and frees itself when its holder stalls', async () => {
    const lockA = new RedisLock(a.client);
    const lockB = new RedisLock(b.client);
    const order: string[] = [];
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const first = lockA.run('refresh:github', async () => {
      order.push('a in');
      await held;
      order.push('a out');
    });
    await waitUntil(() => order.includes('a in'), 'a holds the lock');
    const tries = await setCalls();
    const second = lockB.run('refresh:github', async () => {
      order.push('b in');
    });
    // b has tried (and been refused) while a holds it; a's release lets b in.
    await waitUntil(async () => (await setCalls()) >= tries + 2, 'b to try the lock twice');
    assert.deepEqual(order, ['a in']);
    release();
    await Promise.all([first, second]);
    assert.deepEqual(order, ['a in', 'a out', 'b in']);

    // A holder that stalls past the lock's time to live loses it: the other gets in.
    const short = new RedisLock(a.client, 'gatehouse', { ttlMs: 200 });
    // b starts only once a is inside: a's SET and b's go over two connections, so without this wait
    // b could take the lock first, and a would then stall forever with nobody to release it.
    let stalled: (() => void) | undefined;
    const stalling = short.run('refresh:linear', () => new Promise<void>((resolve) => (stalled = resolve)));
    await waitUntil(() => stalled !== undefined, 'a to hold the short lock');
    const other = await new RedisLock(b.client).run('refresh:linear', async () => 'b got it');
    assert.equal(other, 'b got it');
    stalled?.();
    await stalling;
  });

  test('a key made on one replica is accepted by another before the announcement reaches it', async () => {
    const keysA = await ApiKeyStore.open(a);
    const keysB = await ApiKeyStore.open(b);
    // B stops hearing the feed: what it knows of the new key can only come from the store.
    keysB.close();
    try {
      const { key, secret } = await keysA.create({
        name: 'agent',
        scopes: ['mcp:all'],
        user: 'carol',
        createdBy: 'admin',
      });
      assert.equal(keysB.verify(secret), undefined, 'not in B’s index yet');
      assert.equal((await keysB.verifyFresh(secret))?.subject, 'carol');
      assert.equal(keysB.verify(secret)?.subject, 'carol', 'indexed now');
      assert.equal(await keysB.verifyFresh(`${secret.slice(0, -2)}xx`), undefined, 'the secret still counts');
      await keysA.revoke(key.id);
    } finally {
      keysA.close();
    }
  });

  test('the sweep removes expired records from Redis, and keeps the others', async () => {
    await a.put('login-pending', 'gone', { n: 1 }, { expiresAt: Date.now() + 30 });
    await a.put('login-pending', 'live', { n: 2 }, { expiresAt: Date.now() + 60_000 });
    await a.put('api-keys', 'kept', { n: 3 });
    const raw = createClient(redisClientOptions(redis.url));
    await raw.connect();
    try {
      // Until its expiry has passed the sweep leaves it; then the sweep (not a read) removes it.
      await waitUntil(async () => {
        await b.sweepExpired();
        return !(await raw.hExists('gatehouse:state:login-pending', 'gone'));
      }, 'the expired record to be swept');
      assert.deepEqual(Object.keys(await raw.hGetAll('gatehouse:state:login-pending')), ['live']);
      assert.ok((await raw.hGet('gatehouse:state:api-keys', 'kept')) !== null);
    } finally {
      raw.destroy();
      await a.delete('login-pending', 'live');
      await a.delete('api-keys', 'kept');
    }
  });

  test('a fenced write is refused once a write of that fence or a newer one was made; delete starts over', async () => {
    await a.put('upstream-credentials', 'f1', { generation: 1 }, { fence: 1 });
    await b.put('upstream-credentials', 'f1', { generation: 2 }, { fence: 2 });
    await assert.rejects(
      a.put('upstream-credentials', 'f1', { generation: 2, late: true }, { fence: 2 }),
      (error) => isGatehouseError(error, 'CREDENTIAL_STALE'),
    );
    assert.deepEqual(await a.get('upstream-credentials', 'f1'), { generation: 2 });
    await a.delete('upstream-credentials', 'f1');
    await b.put('upstream-credentials', 'f1', { generation: 1 }, { fence: 1 });
    assert.deepEqual(await a.get('upstream-credentials', 'f1'), { generation: 1 });
  });

  test('a replica that stalls past the lock while refreshing cannot overwrite the newer token another wrote', async () => {
    // Two replicas' views of one upstream's OAuth record, each with the shared lock (short-lived here).
    const repoOf = (store: RedisStateStore) =>
      new RecordRepo(
        new StateCredentialStore(store, new RedisLock(store.client, 'gatehouse', { ttlMs: 200 })),
        { server: 'github', owner: 'gateway' },
        silentLogger,
      );
    const [repoA, repoB] = [repoOf(a), repoOf(b)];
    await repoA.update((current) => ({ next: { ...current, imported: 'token-1' }, result: undefined }));
    let resume: () => void = () => undefined;
    const stalled = repoA.update(async (current) => {
      await new Promise<void>((resolve) => (resume = resolve));
      return { next: { ...current, imported: 'stale-token' }, result: undefined };
    });
    // A holds the lock and stalls; the lock expires; B refreshes meanwhile.
    const fresh = await repoB.update((current) => ({
      next: { ...current, imported: 'token-2' },
      result: undefined,
    }));
    resume();
    await assert.rejects(stalled, (error) => isGatehouseError(error, 'CREDENTIAL_STALE'));
    const stored = await repoA.read();
    assert.equal(stored.imported, 'token-2');
    assert.equal(stored.generation, fresh.record.generation);
  });

  test('replicas starting together on an empty store all take the same authorization server keys', async () => {
    const [first, second] = await Promise.all([loadProviderKeys(a), loadProviderKeys(b)]);
    assert.equal(first.signing.kid, second.signing.kid);
    assert.deepEqual(first.cookies, second.cookies);
    assert.equal((await loadProviderKeys(b)).signing.kid, first.signing.kid);
  });

  test('Redis down: every operation fails at once with STORE_UNAVAILABLE; back up, it works again', async () => {
    await a.put('api-keys', 'k2', { name: 'before' });
    await redis.stop();
    await assert.rejects(a.get('api-keys', 'k2'), (error: unknown) =>
      isGatehouseError(error, 'STORE_UNAVAILABLE'),
    );
    await assert.rejects(b.put('api-keys', 'k3', { name: 'during' }), (error: unknown) =>
      isGatehouseError(error, 'STORE_UNAVAILABLE'),
    );
    await redis.start();
    await waitUntil(() => a.reachable && b.reachable, 'both replicas reconnected');
    await b.put('api-keys', 'k3', { name: 'after' });
    assert.deepEqual(await a.get('api-keys', 'k3'), { name: 'after' });
  });
});
