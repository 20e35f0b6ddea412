/**
 * The state file (API keys, the inbound authorization server's records): encrypted per record,
 * expiry, the change feed, and a broken file refused with its path and left as it is.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isGatehouseError } from '../../server/errors.js';
import { SecretBox } from '../../server/settings/secrets.js';
import { FileStateStore, STATE_FILE, type StateChange } from '../../server/settings/state-store.js';
import { silentLogger } from '../../server/log.js';

const secrets = () => new SecretBox({ key: Buffer.alloc(32, 3) });

test('records are encrypted one by one, survive a reopen, and expire', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-state-'));
  const store = await FileStateStore.open({ dir, secrets: secrets(), logger: silentLogger });
  const changes: StateChange[] = [];
  store.onChange((change) => changes.push(change));
  await store.put('api-keys', 'k1', { name: 'deploy bot', hash: 'abc' });
  await store.put('oidc:Session', 's1', { account: 'alice' }, { expiresAt: Date.now() - 1 });
  await store.put('oidc:Session', 's2', { account: 'bob' }, { expiresAt: Date.now() + 60_000 });
  assert.deepEqual(
    changes.map((c) => `${c.collection}/${c.id}/${c.deleted}`),
    ['api-keys/k1/false', 'oidc:Session/s1/false', 'oidc:Session/s2/false'],
  );
  assert.equal(await store.get('oidc:Session', 's1'), undefined, 'expired');

  const path = join(dir, STATE_FILE);
  const text = await readFile(path, 'utf8');
  for (const plain of ['deploy bot', 'alice', 'bob', 'abc']) assert.ok(!text.includes(plain), plain);
  assert.equal((await stat(path)).mode & 0o777, 0o600);

  const reopened = await FileStateStore.open({ dir, secrets: secrets(), logger: silentLogger });
  assert.deepEqual(await reopened.get('api-keys', 'k1'), { name: 'deploy bot', hash: 'abc' });
  assert.deepEqual(
    (await reopened.list('oidc:Session')).map((e) => e.id),
    ['s2'],
  );
  await reopened.delete('api-keys', 'k1');
  const again = await FileStateStore.open({ dir, secrets: secrets(), logger: silentLogger });
  assert.equal(await again.get('api-keys', 'k1'), undefined);
});

test('a broken state file is refused with its path and left untouched', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-state-'));
  const path = join(dir, STATE_FILE);
  for (const text of ['{"version":1,"records":', '{"version":2,"records":{}}']) {
    await writeFile(path, text);
    await assert.rejects(FileStateStore.open({ dir, secrets: secrets(), logger: silentLogger }), (error) => {
      assert.ok(isGatehouseError(error) && error.code === 'STATE_UNREADABLE');
      assert.ok(error.message.includes(path), error.message);
      return true;
    });
    assert.equal(await readFile(path, 'utf8'), text);
  }
  // A record that another key encrypted.
  const store = await FileStateStore.open({
    dir: await mkdtemp(join(tmpdir(), 'gatehouse-state-')),
    secrets: new SecretBox({ key: Buffer.alloc(32, 9) }),
    logger: silentLogger,
  });
  await store.put('api-keys', 'k', { a: 1 });
  await writeFile(path, await readFile(store.path, 'utf8'));
  await assert.rejects(
    FileStateStore.open({ dir, secrets: secrets(), logger: silentLogger }),
    /does not decrypt at api-keys\.k/,
  );
});
