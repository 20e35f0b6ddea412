import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { ADMIN_TOKEN_FILE, resolveAdminToken, verifyBearer } from '../../server/security/admin-token.js';
import { silentLogger } from '../../server/log.js';
import { recordingLogger, tempDir } from '../settings/helpers.js';

test('a configured token wins over the token file', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, ADMIN_TOKEN_FILE), 'from-file-0123456789abcdef\n', { mode: 0o600 });
  const resolved = await resolveAdminToken({
    configured: 'configured-0123456789abcdef',
    settingsDir: dir,
    logger: silentLogger,
  });
  assert.deepEqual(resolved, { token: 'configured-0123456789abcdef', source: 'env' });
});

test('without a configured token, the token file is read', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, ADMIN_TOKEN_FILE), 'from-file-0123456789abcdef\n', { mode: 0o600 });
  const resolved = await resolveAdminToken({ configured: '', settingsDir: dir, logger: silentLogger });
  assert.deepEqual(resolved, { token: 'from-file-0123456789abcdef', source: 'file' });
});

test('without either, a random token is generated into a 0600 file and reused next time', async (t) => {
  const dir = await tempDir(t);
  const first = await resolveAdminToken({ settingsDir: dir, logger: silentLogger });
  assert.equal(first.source, 'generated');
  assert.match(first.token, /^[A-Za-z0-9_-]{43}$/, '32 random bytes, base64url');
  const file = join(dir, ADMIN_TOKEN_FILE);
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  assert.equal((await readFile(file, 'utf8')).trim(), first.token);
  const second = await resolveAdminToken({ settingsDir: dir, logger: silentLogger });
  assert.deepEqual(second, { token: first.token, source: 'file' });
});

test('processes starting together agree on one generated token', async (t) => {
  const dir = await tempDir(t);
  const all = await Promise.all(
    Array.from({ length: 8 }, () => resolveAdminToken({ settingsDir: dir, logger: silentLogger })),
  );
  assert.equal(new Set(all.map((r) => r.token)).size, 1);
  assert.equal(all.filter((r) => r.source === 'generated').length, 1);
});

test('a token file readable by others gives a warning without the token', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, ADMIN_TOKEN_FILE), 'loose-token-0123456789abcdef', { mode: 0o644 });
  const logger = recordingLogger();
  await resolveAdminToken({ settingsDir: dir, logger });
  const warnings = logger.entries.filter((e) => e.level === 'warn');
  assert.equal(warnings.length, 1);
  assert.ok(!JSON.stringify(warnings).includes('loose-token'));
});

test('verifyBearer accepts exactly "Bearer <token>"', () => {
  const token = 'tok-0123456789abcdef';
  assert.equal(verifyBearer(`Bearer ${token}`, token), true);
  assert.equal(verifyBearer(`bearer ${token}`, token), true, 'the scheme is case-insensitive');
  assert.equal(verifyBearer(`Bearer ${token}x`, token), false);
  assert.equal(verifyBearer(`Bearer ${token.slice(0, -1)}`, token), false);
  assert.equal(verifyBearer(token, token), false, 'the scheme is required');
  assert.equal(verifyBearer(`Basic ${token}`, token), false);
  assert.equal(verifyBearer(`Bearer ${token} extra`, token), false);
  assert.equal(verifyBearer(undefined, token), false);
  assert.equal(verifyBearer('Bearer ', ''), false, 'an empty token never matches');
});
