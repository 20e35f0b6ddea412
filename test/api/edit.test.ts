/**
 * Editing the settings through the admin API against a real gateway and real upstreams: add, edit
 * (only that server reconnects), conflicts with a hand edit of the same server, merges with a
 * hand edit of another, rename (place, groups, credentials), switches for servers and tools,
 * groups, remove. Every write keeps the person's comments and layout.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SettingsCredentialStore } from '../../server/settings/file-credentials.js';
import { parseJsonText } from '../../server/settings/json-text.js';
import { FAST_TIMEOUTS, startGateway, waitUntil, type TestGateway } from '../fixtures/gateway.js';
import { startHttpUpstream, type HttpUpstream } from '../fixtures/mcp-upstream.js';
import { callApi } from './admin-session-client.js';

interface Detail {
  entry: Record<string, unknown>;
  version: string;
}
type Doc = {
  mcpServers: Record<string, Record<string, unknown>>;
  groups?: Record<string, { servers: string[] }>;
};

describe('editing servers through the admin API', () => {
  let a: HttpUpstream;
  let b: HttpUpstream;
  let c: HttpUpstream;
  let gw: TestGateway;
  const text = () => readFile(gw.settingsPath, 'utf8');
  const doc = async () => parseJsonText(await text(), 'f') as Doc;
  /** What the edit form is loaded with: the entry as written and its version. */
  const formOf = async (name: string): Promise<Detail> => {
    const { entryVersion } = await import('../../server/settings/gateway-fields.js');
    const entry = gw.store.rawServerEntry(name);
    assert.ok(entry, `${name} is in the settings`);
    return { entry, version: entryVersion(entry) };
  };
  const connectedSince = async (name: string) =>
    (await gw.waitForServer(name, (s) => s.status === 'connected', `${name} connected`)).connectedSince;

  before(async () => {
    [a, b, c] = await Promise.all([startHttpUpstream('a'), startHttpUpstream('b'), startHttpUpstream('c')]);
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-edit-'));
    await writeFile(
      join(dir, 'mcp_settings.json'),
      `{
  // my servers, in my order
  "mcpServers": {
    "a": { "type": "streamable-http", "url": "${a.url}" }, // first
    "b": {
      // the second one
      "type": "streamable-http",
      "url": "${b.url}"
    }
  },
  "groups": { "dev": { "servers": ["a", "b"] } },
  "systemConfig": { "timeouts": ${JSON.stringify(FAST_TIMEOUTS)} }
}
`,
    );
    gw = await startGateway(null, { dir });
    await connectedSince('a');
    await connectedSince('b');
  });
  after(async () => {
    await gw?.close();
    await Promise.all([a?.stop(), b?.stop(), c?.stop()]);
  });

  test('POST /api/servers adds a server that connects; the others stay as they were; comments stay', async () => {
    const aSince = await connectedSince('a');
    const added = await callApi(gw, 'POST', '/api/servers', {
      name: 'c',
      entry: { type: 'streamable-http', url: c.url },
    });
    assert.equal(added.status, 201);
    assert.equal(added.body.name, 'c');
    assert.equal(added.body.version, (await formOf('c')).version);
    await connectedSince('c');
    assert.equal(await connectedSince('a'), aSince, 'a did not reconnect');
    const now = await text();
    assert.match(now, /\/\/ my servers, in my order/);
    assert.match(now, /\/\/ the second one/);
    assert.match(now, /"a": \{ "type": "streamable-http", "url": "[^"]+" \}, \/\/ first/);
  });

  test('a name already used by a server or a group is refused with SERVER_EXISTS', async () => {
    for (const name of ['a', 'dev']) {
      const answer = await callApi(gw, 'POST', '/api/servers', { name, entry: { url: c.url } });
      assert.equal(answer.status, 409, name);
      assert.equal(answer.error?.code, 'SERVER_EXISTS');
    }
    const badName = await callApi(gw, 'POST', '/api/servers', { name: 'a/b', entry: { url: c.url } });
    assert.equal(badName.error?.code, 'BAD_REQUEST');
  });

  test('an entry that would not load is refused with its problems, and nothing is written', async () => {
    const before = await text();
    const answer = await callApi(gw, 'POST', '/api/servers', { name: 'bad', entry: { url: 'not a url' } });
    assert.equal(answer.status, 400);
    assert.equal(answer.error?.code, 'SETTINGS_INVALID');
    assert.deepEqual(answer.error?.problems, [
      { path: 'mcpServers.bad.url', message: 'must be an absolute http(s) URL' },
    ]);
    const missing = await callApi(gw, 'POST', '/api/servers', {
      name: 'env',
      entry: { url: 'https://x.example/mcp', headers: { 'X-Team': '${GATEHOUSE_TEST_UNSET_VAR}' } },
    });
    assert.equal(missing.error?.code, 'SETTINGS_MISSING_ENV');
    assert.match(missing.error?.problems?.[0]?.message ?? '', /GATEHOUSE_TEST_UNSET_VAR is not set/);
    assert.equal(await text(), before);
  });

  test('PUT changes one server: only it reconnects', async () => {
    const aSince = await connectedSince('a');
    const cSince = await connectedSince('c');
    const bSince = await connectedSince('b');
    const form = await formOf('b');
    const answer = await callApi(gw, 'PUT', '/api/servers/b', {
      entry: { ...form.entry, url: `${b.url}?edited=1` },
      version: form.version,
    });
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body, { name: 'b', version: (await formOf('b')).version });
    await gw.waitForServer(
      'b',
      (s) => s.status === 'connected' && s.connectedSince !== bSince,
      'b reconnected to its new URL',
    );
    assert.equal((await doc()).mcpServers.b?.url, `${b.url}?edited=1`);
    assert.equal(await connectedSince('a'), aSince);
    assert.equal(await connectedSince('c'), cSince);
    assert.match(await text(), /\/\/ the second one/);
  });

  test('a hand edit of the same server meanwhile: 409 SETTINGS_CONFLICT, the hand edit stays', async () => {
    const form = await formOf('b');
    const handEdited = (await text()).replace(
      '"type": "streamable-http",\n      "url"',
      '"type": "sse",\n      "url"',
    );
    assert.notEqual(handEdited, await text());
    await writeFile(gw.settingsPath, handEdited);
    const answer = await callApi(gw, 'PUT', '/api/servers/b', {
      entry: { ...form.entry, url: `${b.url}?lost=1` },
      version: form.version,
    });
    assert.equal(answer.status, 409);
    assert.equal(answer.error?.code, 'SETTINGS_CONFLICT');
    assert.match(answer.error?.message ?? '', /reload/);
    assert.equal(await text(), handEdited);
    // Reloaded, the form edits the hand-edited entry (and puts the transport back).
    await waitUntil(() => gw.store.rawServerEntry('b')?.type === 'sse', 'the hand edit to load');
    const again = await formOf('b');
    assert.notEqual(again.version, form.version);
    const restored = await callApi(gw, 'PUT', '/api/servers/b', {
      entry: { ...again.entry, type: 'streamable-http' },
      version: again.version,
    });
    assert.equal(restored.status, 200);
  });

  test('a hand edit of another server meanwhile merges with the form’s edit', async () => {
    const form = await formOf('c');
    const handEdited = (await text()).replace(
      /("a": \{ "type": "streamable-http", "url": "[^"]+)"/,
      '$1?hand=1"',
    );
    await writeFile(gw.settingsPath, handEdited);
    const answer = await callApi(gw, 'PUT', '/api/servers/c', {
      entry: { ...form.entry, url: `${c.url}?form=1` },
      version: form.version,
    });
    assert.equal(answer.status, 200);
    const now = await doc();
    assert.equal(now.mcpServers.a?.url, `${a.url}?hand=1`, 'the hand edit is kept');
    assert.equal(now.mcpServers.c?.url, `${c.url}?form=1`);
  });

  test('rename: the entry keeps its place, its group memberships and its credentials follow', async () => {
    // A credential as the OAuth engine stores it, encrypted for "b".
    const credentials = new SettingsCredentialStore({ store: gw.store });
    await credentials.put({ server: 'b', owner: 'gateway' }, { tokens: { accessToken: 'kept-token' } });
    const form = await formOf('b');
    const answer = await callApi(gw, 'PUT', '/api/servers/b', {
      entry: form.entry,
      version: form.version,
      rename: 'bee',
    });
    assert.equal(answer.status, 200);
    assert.equal(answer.body.name, 'bee');
    const now = await text();
    assert.deepEqual(Object.keys((await doc()).mcpServers), ['a', 'bee', 'c'], 'same place');
    assert.match(now, /"bee": \{\n {6}\/\/ the second one/, 'its comment came along');
    assert.deepEqual((await doc()).groups?.dev?.servers, ['a', 'bee']);
    assert.deepEqual(await credentials.get({ server: 'bee', owner: 'gateway' }), {
      tokens: { accessToken: 'kept-token' },
    });
    await gw.waitForServer('bee', (s) => s.status === 'connected', 'bee connected');
    assert.equal(
      (await gw.servers()).find((s) => s.name === 'b'),
      undefined,
    );
    const clash = await callApi(gw, 'PUT', '/api/servers/bee', {
      entry: form.entry,
      version: (await formOf('bee')).version,
      rename: 'a',
    });
    assert.equal(clash.error?.code, 'SERVER_EXISTS');
  });

  test('PATCH switches a server off and on, in the words of its entry', async () => {
    assert.equal((await callApi(gw, 'PATCH', '/api/servers/c', { enabled: false })).status, 204);
    await gw.waitForServer('c', (s) => s.status === 'disabled', 'c disabled');
    assert.equal((await doc()).mcpServers.c?.enabled, false);
    assert.equal((await callApi(gw, 'PATCH', '/api/servers/c', { enabled: true })).status, 204);
    await gw.waitForServer('c', (s) => s.status === 'connected', 'c connected again');
    assert.equal((await doc()).mcpServers.c?.enabled, true);
    const missing = await callApi(gw, 'PATCH', '/api/servers/nope', { enabled: true });
    assert.equal(missing.status, 404);
    const bad = await callApi(gw, 'PATCH', '/api/servers/c', { enabled: 'perhaps' });
    assert.equal(bad.status, 400);
  });

  test('PATCH of one tool: it leaves tools/list on /mcp without a reconnect, and comes back', async () => {
    const aSince = await connectedSince('a');
    const client = await gw.client();
    const names = async () => (await client.listTools()).tools.map((t) => t.name);
    assert.ok((await names()).includes('a__echo'));
    assert.equal((await callApi(gw, 'PATCH', '/api/servers/a/tools/echo', { enabled: false })).status, 204);
    await waitUntil(async () => !(await names()).includes('a__echo'), 'a__echo to vanish');
    assert.deepEqual((await doc()).mcpServers.a?.tools, { echo: { enabled: false } });
    assert.equal(
      (await gw.servers()).find((s) => s.name === 'a')?.tools.find((t) => t.name === 'echo')?.enabled,
      false,
    );
    assert.equal((await callApi(gw, 'PATCH', '/api/servers/a/tools/echo', { enabled: true })).status, 204);
    await waitUntil(async () => (await names()).includes('a__echo'), 'a__echo back');
    assert.equal((await doc()).mcpServers.a?.tools, undefined);
    assert.equal(await connectedSince('a'), aSince, 'no reconnect');
  });

  test('groups: list, set, refuse unknown members with the problem, remove', async () => {
    const listed = await callApi<Array<{ name: string; servers: string[] }>>(gw, 'GET', '/api/groups');
    assert.deepEqual(listed.body, [{ name: 'dev', servers: ['a', 'bee'] }]);
    assert.equal((await callApi(gw, 'PUT', '/api/groups/ops', { servers: ['c'] })).status, 204);
    assert.deepEqual((await doc()).groups, { dev: { servers: ['a', 'bee'] }, ops: { servers: ['c'] } });
    const unknown = await callApi(gw, 'PUT', '/api/groups/ops', { servers: ['ghost'] });
    assert.equal(unknown.status, 400);
    assert.deepEqual(
      unknown.error?.problems?.map((p) => p.path),
      ['groups.ops.servers[0]'],
    );
    const serverName = await callApi(gw, 'PUT', '/api/groups/a', { servers: ['c'] });
    assert.equal(serverName.error?.code, 'SETTINGS_INVALID');
    assert.equal((await callApi(gw, 'DELETE', '/api/groups/ops')).status, 204);
    assert.equal((await callApi(gw, 'DELETE', '/api/groups/ops')).status, 404);
    assert.deepEqual((await doc()).groups, { dev: { servers: ['a', 'bee'] } });
  });

  test('DELETE removes the server, its stored credentials and its group memberships', async () => {
    assert.ok((await text()).includes('"gatehouse"'), 'bee has a stored credential');
    const answer = await callApi(gw, 'DELETE', '/api/servers/bee');
    assert.equal(answer.status, 204);
    const now = await doc();
    assert.deepEqual(Object.keys(now.mcpServers), ['a', 'c']);
    assert.deepEqual(now.groups?.dev?.servers, ['a']);
    assert.doesNotMatch(await text(), /gatehouse|enc:v1/);
    await waitUntil(async () => !(await gw.servers()).some((s) => s.name === 'bee'), 'bee gone');
    assert.equal((await callApi(gw, 'DELETE', '/api/servers/bee')).status, 404);
  });
});
