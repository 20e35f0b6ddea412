/**
 * The raw editor against a real gateway: the text comes without gateway fields and with stored
 * secrets as markers; a valid save keeps both on disk and only the edited server reconnects; an
 * invalid save is answered with each problem's path, line and column and leaves the file as it
 * was; a stale save is a conflict, a credential write meanwhile is not.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SettingsCredentialStore } from '../../server/settings/file-credentials.js';
import { settingAad } from '../../server/settings/form-secrets.js';
import { parseJsonText } from '../../server/settings/json-text.js';
import { SecretBox } from '../../server/settings/secrets.js';
import { FAST_TIMEOUTS, startGateway, waitUntil, type TestGateway } from '../fixtures/gateway.js';
import { startHttpUpstream, type HttpUpstream } from '../fixtures/mcp-upstream.js';
import { callApi } from './admin-session-client.js';

type RawView = { text: string; version: string };
// The gateway fixture's key: values encrypted here decrypt there.
const box = new SecretBox({ key: Buffer.alloc(32, 7) });

describe('the raw settings editor', () => {
  let a: HttpUpstream;
  let b: HttpUpstream;
  let gw: TestGateway;
  let storedHeader: string;
  const disk = () => readFile(gw.settingsPath, 'utf8');
  const view = async () => {
    const answer = await callApi<RawView>(gw, 'GET', '/api/settings/raw');
    assert.equal(answer.status, 200);
    return answer.body;
  };

  before(async () => {
    [a, b] = await Promise.all([startHttpUpstream('a'), startHttpUpstream('b')]);
    storedHeader = await box.encrypt('Bearer typed-in-form', settingAad('a', ['headers', 'Authorization']));
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-raw-'));
    await writeFile(
      join(dir, 'mcp_settings.json'),
      `{
  // hand-written
  "mcpServers": {
    "a": {
      "type": "streamable-http",
      "url": "${a.url}",
      "headers": { "Authorization": "${storedHeader}" }
    },
    "b": { "type": "streamable-http", "url": "${b.url}" } // second
  },
  "systemConfig": { "timeouts": ${JSON.stringify(FAST_TIMEOUTS)} }
}
`,
    );
    gw = await startGateway(null, { dir });
    await new SettingsCredentialStore({ store: gw.store }).put(
      { server: 'a', owner: 'gateway' },
      { tokens: { accessToken: 'raw-test-token' } },
    );
    await gw.waitForServer('a', (s) => s.status === 'connected', 'a connected');
    await gw.waitForServer('b', (s) => s.status === 'connected', 'b connected');
  });
  after(async () => {
    await gw?.close();
    await Promise.all([a?.stop(), b?.stop()]);
  });

  test('GET gives the text without gateway fields, stored secrets as markers, comments kept', async () => {
    assert.match(await disk(), /"gatehouse"/);
    const { text, version } = await view();
    assert.match(version, /^[0-9a-f]{32}$/);
    assert.doesNotMatch(text, /gatehouse|enc:v1|raw-test-token|typed-in-form/);
    assert.match(text, /"headers": \{ "Authorization": "<secret: set>" \}/);
    assert.match(text, /\/\/ hand-written/);
    assert.match(text, /\/\/ second/);
  });

  test('a valid save keeps the gateway fields and stored secrets; only the edited server reconnects', async () => {
    const aSince = (await gw.servers()).find((s) => s.name === 'a')?.connectedSince;
    const { text, version } = await view();
    const edited = text.replace(
      `"url": "${b.url}" } // second`,
      `"url": "${b.url}?raw=1" } // second, edited`,
    );
    const answer = await callApi<{ version: string }>(gw, 'PUT', '/api/settings/raw', {
      text: edited,
      version,
    });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.version, (await view()).version);
    const now = await disk();
    assert.match(now, /\/\/ second, edited/);
    assert.ok(now.includes(storedHeader), 'the stored secret is back, unchanged');
    assert.match(now, /"gatehouse"/);
    const credentials = new SettingsCredentialStore({ store: gw.store });
    await waitUntil(() => gw.store.rawServerEntry('b')?.url === `${b.url}?raw=1`, 'the save to load');
    assert.deepEqual(await credentials.get({ server: 'a', owner: 'gateway' }), {
      tokens: { accessToken: 'raw-test-token' },
    });
    await gw.waitForServer('b', (s) => s.status === 'connected', 'b connected');
    assert.equal((await gw.servers()).find((s) => s.name === 'a')?.connectedSince, aSince, 'a untouched');
  });

  test('an invalid save is answered with each problem’s path, line and column; the file is unchanged', async () => {
    const before = await disk();
    const { text, version } = await view();
    const edited = text.replace(`"url": "${b.url}?raw=1"`, '"url": "not a url", "cwd": 5');
    const answer = await callApi(gw, 'PUT', '/api/settings/raw', { text: edited, version });
    assert.equal(answer.status, 400);
    assert.equal(answer.error?.code, 'SETTINGS_INVALID');
    const line = edited.split('\n').findIndex((l) => l.includes('not a url')) + 1;
    assert.deepEqual(
      answer.error?.problems
        ?.map(({ path, line }) => ({ path, line }))
        .sort((x, y) => x.path.localeCompare(y.path)),
      [
        { path: 'mcpServers.b.cwd', line },
        { path: 'mcpServers.b.url', line },
      ],
    );
    assert.ok(answer.error?.problems?.every((p) => typeof p.column === 'number'));
    assert.equal(await disk(), before);
  });

  test('a syntax error is answered with its line and column; the file is unchanged', async () => {
    const before = await disk();
    const { text, version } = await view();
    const edited = text.replace('"mcpServers": {', '"mcpServers": {\n    "oops": ,');
    const answer = await callApi(gw, 'PUT', '/api/settings/raw', { text: edited, version });
    assert.equal(answer.status, 400);
    assert.equal(answer.error?.code, 'SETTINGS_INVALID_JSON');
    const line = edited.split('\n').findIndex((l) => l.includes('"oops"')) + 1;
    assert.equal(answer.error?.problems?.[0]?.line, line);
    assert.equal(await disk(), before);
  });

  test('a marker moved to a renamed server is a problem, not an empty secret', async () => {
    const before = await disk();
    const { text, version } = await view();
    const answer = await callApi(gw, 'PUT', '/api/settings/raw', {
      text: text.replace('"a": {', '"a2": {'),
      version,
    });
    assert.equal(answer.status, 400);
    assert.deepEqual(
      answer.error?.problems?.map((p) => p.path),
      ['mcpServers.a2.headers.Authorization'],
    );
    assert.equal(await disk(), before);
  });

  test('a hand edit since the text was loaded is a conflict; a credential write is not', async () => {
    const { text, version } = await view();
    await new SettingsCredentialStore({ store: gw.store }).put(
      { server: 'a', owner: 'gateway' },
      { tokens: { accessToken: 'refreshed-meanwhile' } },
    );
    const withComment = text.replace('// hand-written', '// hand-written, twice');
    const saved = await callApi<{ version: string }>(gw, 'PUT', '/api/settings/raw', {
      text: withComment,
      version,
    });
    assert.equal(saved.status, 200, 'the gateway’s own write is not a conflict');
    assert.deepEqual(
      await new SettingsCredentialStore({ store: gw.store }).get({ server: 'a', owner: 'gateway' }),
      {
        tokens: { accessToken: 'refreshed-meanwhile' },
      },
    );
    const handEdited = (await disk()).replace('// hand-written, twice', '// by hand');
    await writeFile(gw.settingsPath, handEdited);
    const stale = await callApi(gw, 'PUT', '/api/settings/raw', {
      text: withComment.replace('// second', '// lost'),
      version: saved.body.version,
    });
    assert.equal(stale.status, 409);
    assert.equal(stale.error?.code, 'SETTINGS_CONFLICT');
    assert.equal(await disk(), handEdited);
  });

  test('while the file on disk does not parse, GET says where instead of showing it', async () => {
    const good = await disk();
    await writeFile(gw.settingsPath, good.replace('"mcpServers": {', '"mcpServers": {{'));
    const answer = await callApi(gw, 'GET', '/api/settings/raw');
    assert.equal(answer.status, 400);
    assert.equal(answer.error?.code, 'SETTINGS_INVALID_JSON');
    assert.equal(answer.error?.problems?.[0]?.line, 3);
    assert.doesNotMatch(JSON.stringify(answer.body), /enc:v1/);
    await writeFile(gw.settingsPath, good);
    assert.deepEqual(parseJsonText((await view()).text, 'f') !== undefined, true);
  });
});
