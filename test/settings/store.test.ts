import assert from 'node:assert/strict';
import { chmod, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import * as prettier from 'prettier';
import { isGatehouseError } from '../../server/errors.js';
import { silentLogger } from '../../server/log.js';
import { SecretBox } from '../../server/settings/secrets.js';
import { SettingsStore, type SettingsChange } from '../../server/settings/store.js';
import type { HttpServerConfig } from '../../server/settings/types.js';
import { tempDir, TEST_KEY, writeJson } from './helpers.js';

const INITIAL = {
  $schema: './server/settings/schema.json',
  mcpServers: {
    linear: { type: 'streamable-http', url: 'https://mcp.linear.app/mcp', description: 'kept' },
    files: { command: 'npx', args: ['-y', 'server-filesystem', '/srv'] },
  },
  groups: { dev: { servers: ['linear', 'files'] } },
  otherToolKey: { keep: true },
};

/** A store over a fresh file: `doc` as JSON, or a string written as it is; `env` for ${VAR}s. */
async function setup(t: TestContext, doc: unknown = INITIAL, env: Record<string, string | undefined> = {}) {
  const dir = await tempDir(t);
  const path = join(dir, 'mcp_settings.json');
  if (typeof doc === 'string') await writeFile(path, doc);
  else await writeJson(path, doc);
  const store = new SettingsStore({
    path,
    env,
    logger: silentLogger,
    secrets: new SecretBox({ key: TEST_KEY }),
  });
  t.after(() => store.close());
  return { dir, path, store };
}

interface Doc {
  mcpServers: Record<string, { url?: string; description?: string; gatehouse?: unknown } | undefined>;
  groups: { dev: { servers: string[] } };
  otherToolKey?: unknown;
}
const readDoc = async (path: string) => JSON.parse(await readFile(path, 'utf8')) as Doc;

test('load() reads the file into current; a missing file is SETTINGS_UNREADABLE naming the path', async (t) => {
  const { dir, store } = await setup(t);
  assert.throws(
    () => store.current,
    (e: unknown) => isGatehouseError(e, 'INTERNAL'),
  );
  const settings = await store.load();
  assert.equal(store.current, settings);
  assert.deepEqual([...settings.servers.keys()], ['linear', 'files']);
  const missing = new SettingsStore({ path: join(dir, 'nope.json'), env: {}, logger: silentLogger });
  await assert.rejects(missing.load(), (error: unknown) => {
    assert.ok(isGatehouseError(error, 'SETTINGS_UNREADABLE'));
    assert.ok(error.message.includes(join(dir, 'nope.json')));
    return true;
  });
});

test('update() replaces the file by rename, keeps its mode, and leaves no temp file', async (t) => {
  const { dir, path, store } = await setup(t);
  await chmod(path, 0o640);
  await store.load();
  const before = await stat(path);
  await store.update((raw) => {
    (raw.mcpServers as Record<string, unknown>).extra = { url: 'https://extra.example/mcp' };
  });
  const after = await stat(path);
  assert.notEqual(after.ino, before.ino, 'a new inode: written to a temp file, then renamed over');
  assert.equal(after.mode & 0o777, 0o640);
  assert.deepEqual(await readdir(dir), ['mcp_settings.json']);
  const doc = await readDoc(path);
  assert.deepEqual(Object.keys(doc.mcpServers), ['linear', 'files', 'extra']);
  assert.deepEqual(doc.otherToolKey, { keep: true }, 'keys Gatehouse does not know are kept');
  assert.equal(doc.mcpServers.linear?.description, 'kept');
  assert.ok(store.current.servers.has('extra'));
});

test('update() never writes content that would not load', async (t) => {
  const { dir, path, store } = await setup(t);
  await store.load();
  const text = await readFile(path, 'utf8');
  await assert.rejects(
    store.update((raw) => {
      (raw.mcpServers as Record<string, Record<string, unknown>>).linear!.url = 'not a url';
    }),
    (error: unknown) =>
      isGatehouseError(error, 'SETTINGS_INVALID') && /mcpServers\.linear\.url/.test(error.message),
  );
  await assert.rejects(
    store.update(() => Promise.reject(new Error('mutator failed'))),
    /mutator failed/,
  );
  assert.equal(await readFile(path, 'utf8'), text);
  assert.deepEqual(await readdir(dir), ['mcp_settings.json']);
});

test("update() re-reads the file first, so a person's edit made since load() is kept", async (t) => {
  const { path, store } = await setup(t);
  await store.load();
  const doc = (await readDoc(path)) as unknown as { mcpServers: Record<string, unknown> };
  doc.mcpServers.personal = { command: 'my-server' };
  await writeJson(path, doc);
  await store.setCredentialBlob('linear', 'gateway', 'enc:v1:AAAA');
  const after = await readDoc(path);
  assert.deepEqual(after.mcpServers.personal, { command: 'my-server' });
  assert.deepEqual(after.mcpServers.linear?.gatehouse, { credentials: { gateway: 'enc:v1:AAAA' } });
});

test("writes keep the person's indentation and the end of the file as it was", async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'mcp_settings.json');
  const original = JSON.stringify(INITIAL, null, '\t');
  await writeFile(path, original);
  const store = new SettingsStore({
    path,
    env: {},
    logger: silentLogger,
    secrets: new SecretBox({ key: TEST_KEY }),
  });
  await store.load();
  await store.setCredentialBlob('files', 'gateway', 'enc:v1:AAAA');
  const text = await readFile(path, 'utf8');
  const args = '\t\t\t\t"/srv"\n\t\t\t]';
  assert.equal(
    text,
    original.replace(
      args,
      `${args},\n\t\t\t"gatehouse": {\n\t\t\t\t"credentials": {\n\t\t\t\t\t"gateway": "enc:v1:AAAA"\n\t\t\t\t}\n\t\t\t}`,
    ),
    'tab-indented as before, still without a final newline',
  );
});

/** A person's file: comments, inline arrays, blank lines, odd spacing, trailing commas. */
const HANDWRITTEN = `{
  // Servers I use every day
  "$schema": "./server/settings/schema.json",
  "mcpServers": {
    "files":   { "command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/srv"] },


    "linear" :  {
        "type": "streamable-http",
        "url":  "https://mcp.linear.app/mcp",   // odd spacing, kept
        "headers": { "X-Team": "core" },
    },
    /* the remote one */
    "remote": { "url": "https://example.com/mcp" }
  },
  "groups": { "dev": { "servers": ["linear", "files"] } },
}
`;

test('a credential write and a dashboard edit change only the bytes of their field', async (t) => {
  const { path, store } = await setup(t, HANDWRITTEN);
  await store.load();

  // The credential goes in after the last line of the entry; nothing else moves.
  await store.setCredentialBlob('linear', 'gateway', 'enc:v1:AAAA');
  const withCredential = await readFile(path, 'utf8');
  const lastLine = '"headers": { "X-Team": "core" },';
  const at = HANDWRITTEN.indexOf(lastLine) + lastLine.length;
  const inserted = withCredential.slice(at, at + withCredential.length - HANDWRITTEN.length);
  assert.equal(withCredential, HANDWRITTEN.slice(0, at) + inserted + HANDWRITTEN.slice(at));
  assert.equal(
    inserted,
    '\n        "gatehouse": {\n          "credentials": {\n            "gateway": "enc:v1:AAAA"\n          }\n        },',
  );

  // A dashboard edit of one value changes that value's bytes only.
  await store.updateServerEntry('linear', (entry) => ({ ...entry, url: 'https://mcp.linear.app/v2/mcp' }));
  const edited = await readFile(path, 'utf8');
  assert.equal(
    edited,
    withCredential.replace('"https://mcp.linear.app/mcp"', '"https://mcp.linear.app/v2/mcp"'),
  );

  // Removing a server takes its line, and its name out of the group's inline array.
  await store.updateServerEntry('files', () => null);
  const removed = await readFile(path, 'utf8');
  assert.equal(
    removed,
    edited
      .replace(
        '    "files":   { "command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/srv"] },\n',
        '',
      )
      .replace('["linear", "files"]', '["linear"]'),
  );

  // Forgetting the credential gives back the person's bytes around it.
  await store.setCredentialBlob('linear', 'gateway', undefined);
  assert.equal(await readFile(path, 'utf8'), removed.replace(inserted, ''));
  assert.equal(
    (store.current.servers.get('linear') as HttpServerConfig).url,
    'https://mcp.linear.app/v2/mcp',
  );
});

test('a credential written to a copy of the shipped mcp_settings.json leaves text Prettier accepts', async (t) => {
  const root = join(import.meta.dirname, '..', '..');
  const shipped = await readFile(join(root, 'mcp_settings.json'), 'utf8');
  const config = { ...(await prettier.resolveConfig(join(root, 'mcp_settings.json'))), parser: 'json' };
  assert.ok(await prettier.check(shipped, config), 'the shipped file is formatted to begin with');
  // The demo entries' paths start at ${GATEHOUSE_HOME}.
  const { path, store } = await setup(t, shipped, { ...process.env, GATEHOUSE_HOME: root });
  await store.load();
  for (const server of store.current.servers.keys()) {
    // As long as a real one: a registered client and tokens, encrypted.
    assert.equal(await store.setCredentialBlob(server, 'gateway', `enc:v1:${'A'.repeat(400)}`), true);
  }
  const written = await readFile(path, 'utf8');
  assert.notEqual(written, shipped);
  assert.ok(await prettier.check(written, config), `Prettier rejects:\n${written}`);
});

test('updateServerEntry edits, adds and removes one server and keeps the gateway-owned field', async (t) => {
  const { path, store } = await setup(t);
  await store.load();
  await store.setCredentialBlob('linear', 'gateway', 'enc:v1:AAAA');
  const changes: SettingsChange[] = [];
  store.on('change', (change) => void changes.push(change));

  await store.updateServerEntry('linear', (entry) => {
    assert.equal(entry?.gatehouse, undefined, 'the dashboard never sees gateway-owned fields');
    return { ...entry, url: 'https://mcp.linear.app/v2/mcp', gatehouse: { credentials: {} } };
  });
  let doc = await readDoc(path);
  assert.equal(doc.mcpServers.linear?.url, 'https://mcp.linear.app/v2/mcp');
  assert.deepEqual(doc.mcpServers.linear?.gatehouse, { credentials: { gateway: 'enc:v1:AAAA' } });
  assert.equal(
    (store.current.servers.get('linear') as HttpServerConfig).url,
    'https://mcp.linear.app/v2/mcp',
  );
  assert.deepEqual(changes.at(-1)?.diff.changed, ['linear']);

  await store.updateServerEntry('notes', (entry) => {
    assert.equal(entry, undefined);
    return { url: 'https://notes.example/mcp' };
  });
  assert.deepEqual(changes.at(-1)?.diff.added, ['notes']);

  await store.updateServerEntry('files', () => null);
  doc = await readDoc(path);
  assert.equal(doc.mcpServers.files, undefined);
  assert.deepEqual(doc.groups.dev.servers, ['linear'], 'removed from its groups too');
  assert.deepEqual(changes.at(-1)?.diff.removed, ['files']);
  assert.equal(changes.at(-1)?.diff.groupsChanged, true);
  assert.deepEqual(store.rawServerEntry('linear'), {
    type: 'streamable-http',
    url: 'https://mcp.linear.app/v2/mcp',
    description: 'kept',
  });
});

test('writes that touch only gateway-owned fields emit no change event', async (t) => {
  const { store } = await setup(t);
  await store.load();
  let events = 0;
  store.on('change', () => void events++);
  await store.setCredentialBlob('linear', 'gateway', 'enc:v1:AAAA');
  await store.setCredentialBlob('linear', 'gateway', undefined);
  assert.equal(events, 0);
});

test('interpolated values are written back as the person wrote them', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'mcp_settings.json');
  await writeJson(path, { mcpServers: { gh: { url: 'https://${HOST}/mcp' } } });
  const store = new SettingsStore({ path, env: { HOST: 'api.github.com' }, logger: silentLogger });
  await store.load();
  await store.setCredentialBlob('gh', 'gateway', 'enc:v1:AAAA');
  assert.equal((await readDoc(path)).mcpServers.gh?.url, 'https://${HOST}/mcp');
  assert.equal((store.current.servers.get('gh') as HttpServerConfig).url, 'https://api.github.com/mcp');
});
