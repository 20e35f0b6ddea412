import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { isGatehouseError } from '../../server/errors.js';
import { parseSecretKey, SECRET_KEY_FILE, SecretBox } from '../../server/settings/secrets.js';
import { recordingLogger, tempDir, TEST_KEY } from './helpers.js';

test('encrypt/decrypt round-trips with a fresh IV each time', async () => {
  const box = new SecretBox({ key: TEST_KEY });
  const one = await box.encrypt('{"access_token":"a"}', 'github\u0000gateway');
  const two = await box.encrypt('{"access_token":"a"}', 'github\u0000gateway');
  assert.match(one, /^enc:v1:[A-Za-z0-9_-]+$/);
  assert.notEqual(one, two);
  assert.equal(await box.decrypt(one, 'github\u0000gateway'), '{"access_token":"a"}');
});

test('another AAD, another key or a tampered value fails without showing the plaintext', async () => {
  const box = new SecretBox({ key: TEST_KEY });
  const blob = await box.encrypt('top-secret-token', 'github\u0000gateway');
  const fails = async (promise: Promise<unknown>) =>
    assert.rejects(promise, (error: unknown) => {
      assert.ok(isGatehouseError(error, 'SECRETS_DECRYPT_FAILED'));
      assert.doesNotMatch(error.message, /top-secret-token/);
      return true;
    });
  await fails(box.decrypt(blob, 'linear\u0000gateway'));
  await fails(new SecretBox({ key: Buffer.alloc(32, 8) }).decrypt(blob, 'github\u0000gateway'));
  const bytes = Buffer.from(blob.slice('enc:v1:'.length), 'base64url');
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1;
  await fails(box.decrypt(`enc:v1:${bytes.toString('base64url')}`, 'github\u0000gateway'));
  await fails(box.decrypt('plain text', 'github\u0000gateway'));
  await fails(box.decrypt('enc:v1:abc', 'github\u0000gateway'));
});

test('without a configured key, a key file is created on first use with mode 0600 and reused', async (t) => {
  const dir = await tempDir(t);
  const keyFile = join(dir, SECRET_KEY_FILE);
  const box = new SecretBox({ settingsDir: dir });
  assert.equal(box.keySource, 'file');
  await assert.rejects(stat(keyFile), 'not created before first use');
  const blob = await box.encrypt('v', 'aad');
  assert.equal((await stat(keyFile)).mode & 0o777, 0o600);
  assert.match(await readFile(keyFile, 'utf8'), /^[0-9a-f]{64}\n$/);
  assert.equal(await new SecretBox({ settingsDir: dir }).decrypt(blob, 'aad'), 'v');
});

test('two boxes opening at once agree on one key file', async (t) => {
  const dir = await tempDir(t);
  const boxes = await Promise.all(Array.from({ length: 8 }, () => SecretBox.open({ settingsDir: dir })));
  const blob = await boxes[0]!.encrypt('v', 'aad');
  for (const box of boxes) assert.equal(await box.decrypt(blob, 'aad'), 'v');
});

test('a key file readable by others is used with a warning', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, SECRET_KEY_FILE), randomBytes(32).toString('hex'), { mode: 0o644 });
  const logger = recordingLogger();
  await SecretBox.open({ settingsDir: dir, logger });
  const warning = logger.entries.find((e) => e.level === 'warn');
  assert.ok(warning, 'a warning was logged');
  assert.equal(warning.obj.mode, '644');
});

test('a configured key is accepted as 64 hex characters or base64 of 32 bytes, and nothing else', async () => {
  const key = randomBytes(32);
  assert.deepEqual(parseSecretKey(key.toString('hex'), 'K'), key);
  assert.deepEqual(parseSecretKey(key.toString('base64'), 'K'), key);
  assert.deepEqual(parseSecretKey(key.toString('base64url'), 'K'), key);
  const fromHex = new SecretBox({ configured: key.toString('hex') });
  assert.equal(fromHex.keySource, 'configured');
  const blob = await fromHex.encrypt('v', 'aad');
  assert.equal(await new SecretBox({ configured: key.toString('base64') }).decrypt(blob, 'aad'), 'v');
  for (const bad of [
    'short',
    key.toString('hex').slice(2),
    randomBytes(16).toString('base64'),
    'z'.repeat(64),
  ]) {
    assert.throws(
      () => new SecretBox({ configured: bad, settingsDir: '/tmp' }),
      (error: unknown) => {
        assert.ok(isGatehouseError(error, 'SECRETS_KEY_INVALID'));
        assert.match(
          error.message,
          /^GATEHOUSE_SECRET_KEY must be 64 hex characters or the base64 of 32 bytes/,
        );
        assert.ok(!error.message.includes(bad));
        return true;
      },
    );
  }
});

test('a key file with a malformed key is rejected, naming the file', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, SECRET_KEY_FILE), 'not a key\n', { mode: 0o600 });
  await assert.rejects(SecretBox.open({ settingsDir: dir }), (error: unknown) => {
    assert.ok(isGatehouseError(error, 'SECRETS_KEY_INVALID'));
    assert.ok(error.message.includes(join(dir, SECRET_KEY_FILE)));
    return true;
  });
});
