import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { isGatehouseError } from '../../server/errors.js';
import { GATEWAY_OWNER } from '../../server/settings/credentials.js';
import { SettingsCredentialStore } from '../../server/settings/file-credentials.js';
import { SecretBox } from '../../server/settings/secrets.js';
import { SettingsStore } from '../../server/settings/store.js';
import type { HttpServerConfig } from '../../server/settings/types.js';
import { recordingLogger, tempDir, TEST_KEY, writeJson } from './helpers.js';

interface Doc {
  mcpServers: Record<string, Record<string, unknown> & { oauth?: Record<string, unknown> }>;
}

async function setup(t: TestContext) {
  const dir = await tempDir(t);
  const path = join(dir, 'mcp_settings.json');
  await writeJson(path, {
    mcpServers: {
      github: {
        type: 'streamable-http',
        url: 'https://api.githubcopilot.com/mcp/',
        oauth: { clientId: 'Iv1.abc', accessToken: 'plain-access', refreshToken: 'plain-refresh' },
      },
      linear: { url: 'https://mcp.linear.app/mcp' },
    },
  });
  const logger = recordingLogger();
  const store = new SettingsStore({ path, env: {}, logger, secrets: new SecretBox({ key: TEST_KEY }) });
  t.after(() => store.close());
  await store.load();
  const credentials = new SettingsCredentialStore({ store });
  const readDoc = async () => JSON.parse(await readFile(path, 'utf8')) as Doc;
  return { path, store, logger, credentials, readDoc };
}

const github = { server: 'github', owner: GATEWAY_OWNER };

test('put stores the record encrypted; get returns it', async (t) => {
  const { credentials, readDoc } = await setup(t);
  assert.equal(await credentials.get(github), undefined);
  const record = {
    tokens: { access_token: 'new-access', expires_at: 1_700_000_000 },
    issuer: 'https://github.com',
  };
  await credentials.put(github, record);
  assert.deepEqual(await credentials.get(github), record);
  const text = JSON.stringify(await readDoc());
  assert.ok(!text.includes('new-access'), 'no plaintext in the file');
  const blob = (await readDoc()).mcpServers.github?.gatehouse as { credentials: Record<string, string> };
  assert.match(blob.credentials.gateway ?? '', /^enc:v1:/);
});

test('put removes the imported plaintext tokens from the same entry', async (t) => {
  const { credentials, store, readDoc } = await setup(t);
  assert.equal((store.current.servers.get('github') as HttpServerConfig).oauth?.accessToken, 'plain-access');
  await credentials.put(github, { tokens: { access_token: 'plain-access', refresh_token: 'plain-refresh' } });
  const doc = await readDoc();
  assert.deepEqual(doc.mcpServers.github?.oauth, { clientId: 'Iv1.abc' });
  assert.equal((store.current.servers.get('github') as HttpServerConfig).oauth?.accessToken, undefined);
});

test('delete removes the record and the empty gatehouse field', async (t) => {
  const { credentials, readDoc } = await setup(t);
  await credentials.put(github, { a: 1 });
  await credentials.put({ server: 'github', owner: 'user:alice' }, { b: 2 });
  await credentials.delete(github);
  assert.equal(await credentials.get(github), undefined);
  assert.deepEqual(await credentials.get({ server: 'github', owner: 'user:alice' }), { b: 2 });
  await credentials.delete({ server: 'github', owner: 'user:alice' });
  assert.equal((await readDoc()).mcpServers.github?.gatehouse, undefined);
  await credentials.delete(github); // deleting nothing is fine
});

test('a put for a server the person removed is a no-op with a warning', async (t) => {
  const { credentials, logger, readDoc } = await setup(t);
  const before = await readDoc();
  await credentials.put({ server: 'gone', owner: GATEWAY_OWNER }, { a: 1 });
  assert.deepEqual(await readDoc(), before);
  assert.ok(logger.entries.some((e) => e.level === 'warn' && e.obj.server === 'gone'));
});

test('a value copied to another server entry does not decrypt', async (t) => {
  const { credentials, store } = await setup(t);
  await credentials.put(github, { a: 1 });
  const blob = store.credentialBlob('github', GATEWAY_OWNER);
  await store.setCredentialBlob('linear', GATEWAY_OWNER, blob);
  await assert.rejects(credentials.get({ server: 'linear', owner: GATEWAY_OWNER }), (error: unknown) =>
    isGatehouseError(error, 'SECRETS_DECRYPT_FAILED'),
  );
});

test('withLock runs one function at a time per key', async (t) => {
  const { credentials } = await setup(t);
  const order: string[] = [];
  const slow = (label: string) => async () => {
    order.push(`${label}:start`);
    await new Promise((resolve) => setTimeout(resolve, 10));
    order.push(`${label}:end`);
    return label;
  };
  const results = await Promise.all([
    credentials.withLock(github, slow('one')),
    credentials.withLock(github, slow('two')),
  ]);
  assert.deepEqual(results, ['one', 'two']);
  assert.deepEqual(order, ['one:start', 'one:end', 'two:start', 'two:end']);
});
