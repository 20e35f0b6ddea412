import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiKeyStore } from '../../server/security/api-keys.js';
import { MemoryStateStore } from '../../server/settings/state-store.js';
import { waitUntil } from '../fixtures/gateway.js';

test('every key verifies with its own secret only, whatever characters its parts hold', async () => {
  const keys = await ApiKeyStore.open(new MemoryStateStore());
  // Enough keys that ids and secrets cover every base64url character, `_` and `-` included.
  for (let i = 0; i < 200; i++) {
    const { key, secret } = await keys.create({
      name: `k${i}`,
      scopes: ['mcp:all'],
      user: 'u',
      createdBy: 'admin',
    });
    assert.equal(keys.verify(secret)?.keyId, key.id, secret);
    const wrong = `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;
    assert.equal(keys.verify(wrong), undefined);
  }
  assert.equal(keys.verify('gh_'), undefined);
  assert.equal(keys.verify('gh_nosuch_secret'), undefined);
});

test('an expired key is refused and no longer listed; a revoked one is refused at once', async () => {
  const keys = await ApiKeyStore.open(new MemoryStateStore());
  const soon = await keys.create({
    name: 'soon',
    scopes: ['mcp:server:a'],
    user: 'u',
    createdBy: 'admin',
    expiresAt: new Date(Date.now() + 50),
  });
  assert.deepEqual([...(keys.verify(soon.secret)?.grants.servers ?? [])], ['a']);
  await waitUntil(() => keys.verify(soon.secret) === undefined, 'the key to expire');
  assert.deepEqual(keys.list(), []);
  const other = await keys.create({ name: 'other', scopes: ['mcp:all'], user: 'u', createdBy: 'admin' });
  await keys.revoke(other.key.id);
  assert.equal(keys.verify(other.secret), undefined);
});
