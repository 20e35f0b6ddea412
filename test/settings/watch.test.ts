import assert from 'node:assert/strict';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { GatehouseError } from '../../server/errors.js';
import { SecretBox } from '../../server/settings/secrets.js';
import { SettingsStore, type SettingsChange } from '../../server/settings/store.js';
import type { HttpServerConfig } from '../../server/settings/types.js';
import { recordingLogger, tempDir, TEST_KEY, waitFor, writeJson } from './helpers.js';

interface Doc {
  mcpServers: Record<string, Record<string, unknown>>;
}

async function watched(t: TestContext) {
  const dir = await tempDir(t);
  const path = join(dir, 'mcp_settings.json');
  await writeJson(path, {
    mcpServers: {
      a: { url: 'https://a.example/mcp' },
      b: { command: 'b-server' },
    },
  });
  const logger = recordingLogger();
  const store = new SettingsStore({ path, env: {}, logger, secrets: new SecretBox({ key: TEST_KEY }) });
  t.after(() => store.close());
  await store.load();
  const changes: SettingsChange[] = [];
  const invalid: GatehouseError[] = [];
  store.on('change', (change) => void changes.push(change));
  store.on('invalid', (error) => void invalid.push(error));
  await store.startWatching();
  const readDoc = async () => JSON.parse(await readFile(path, 'utf8')) as Doc;
  return { dir, path, store, logger, changes, invalid, readDoc };
}

test("the watcher ignores the store's own writes", async (t) => {
  const { store, logger, changes, invalid } = await watched(t);
  await store.setCredentialBlob('a', 'gateway', 'enc:v1:AAAA');
  await waitFor(
    () => logger.entries.some((e) => e.obj.reason === 'own-write'),
    'the watcher to see and ignore the own write',
  );
  assert.equal(changes.length, 0);
  assert.equal(invalid.length, 0);
});

test("a person's edit is reported as a per-server diff", async (t) => {
  const { path, store, changes, readDoc } = await watched(t);
  const doc = await readDoc();
  doc.mcpServers.a = { url: 'https://a.example/v2/mcp' };
  doc.mcpServers.c = { url: 'https://c.example/mcp' };
  await writeJson(path, doc);
  await waitFor(() => changes.length > 0, 'a change event');
  assert.deepEqual(changes[0]?.diff, {
    added: ['c'],
    removed: [],
    changed: ['a'],
    groupsChanged: false,
    systemChanged: false,
  });
  assert.equal(changes[0]?.prev.servers.size, 2);
  assert.equal(store.current, changes[0]?.next);
  assert.equal((store.current.servers.get('a') as HttpServerConfig).url, 'https://a.example/v2/mcp');
});

test('an editor saving by rename-replace is seen too', async (t) => {
  const { path, changes, readDoc } = await watched(t);
  const doc = await readDoc();
  delete doc.mcpServers.b;
  await writeFile(`${path}.swp`, JSON.stringify(doc));
  await rename(`${path}.swp`, path);
  await waitFor(() => changes.length > 0, 'a change event');
  assert.deepEqual(changes[0]?.diff.removed, ['b']);
});

test('an invalid edit emits invalid with the path, and the last good settings stay live', async (t) => {
  const { path, store, changes, invalid, readDoc } = await watched(t);
  const good = store.current;
  const doc = await readDoc();
  doc.mcpServers.a = { url: 'a.example/mcp' };
  await writeJson(path, doc);
  await waitFor(() => invalid.length > 0, 'an invalid event');
  assert.equal(invalid[0]?.code, 'SETTINGS_INVALID');
  assert.equal(invalid[0]?.message, 'mcpServers.a.url: must be an absolute http(s) URL');
  assert.equal(store.current, good);
  assert.equal(changes.length, 0);

  await writeFile(path, '{ "mcpServers": { "a": ');
  await waitFor(() => invalid.length > 1, 'a second invalid event');
  assert.equal(invalid[1]?.code, 'SETTINGS_INVALID_JSON');
  assert.equal(store.current, good);

  // A credential the gateway gets while the file is broken leaves the person's text alone, is
  // kept, and is saved into the first valid edit.
  assert.equal(await store.setCredentialBlob('a', 'gateway', 'enc:v1:KEPT'), true);
  assert.equal(await readFile(path, 'utf8'), '{ "mcpServers": { "a": ');
  assert.equal(store.credentialBlob('a', 'gateway'), 'enc:v1:KEPT');

  doc.mcpServers.a = { url: 'https://a.example/fixed' };
  await writeJson(path, doc);
  await waitFor(() => changes.length > 0, 'the fixed file to be applied');
  assert.deepEqual(changes[0]?.diff.changed, ['a']);
  assert.equal(changes[0]?.prev, good);
  await waitFor(
    async () => (await readFile(path, 'utf8')).includes('enc:v1:KEPT'),
    'the kept credential to be written into the fixed file',
  );
  assert.equal((await readDoc()).mcpServers.a?.url, 'https://a.example/fixed');
});

test('a stale save that drops a credential the gateway wrote gets it back', async (t) => {
  const { path, store, readDoc } = await watched(t);
  const stale = await readDoc(); // the person's editor read the file here
  await store.setCredentialBlob('a', 'gateway', 'enc:v1:BBBB');
  stale.mcpServers.b = { command: 'b-server', args: ['--verbose'] };
  await writeJson(path, stale);
  await waitFor(async () => {
    const doc = await readDoc();
    const gatehouse = doc.mcpServers.a?.gatehouse as { credentials?: Record<string, string> } | undefined;
    return gatehouse?.credentials?.gateway === 'enc:v1:BBBB' && Array.isArray(doc.mcpServers.b?.args);
  }, "the credential to be restored beside the person's edit");
  assert.equal(store.credentialBlob('a', 'gateway'), 'enc:v1:BBBB');
});

test('a removed file emits SETTINGS_UNREADABLE and keeps the last good settings', async (t) => {
  const { path, store, invalid } = await watched(t);
  const good = store.current;
  await rename(path, `${path}.bak`);
  await waitFor(() => invalid.length > 0, 'an invalid event');
  assert.equal(invalid[0]?.code, 'SETTINGS_UNREADABLE');
  assert.ok(invalid[0]?.message.includes(path));
  assert.equal(store.current, good);
});
