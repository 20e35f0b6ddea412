/**
 * Secrets typed into forms against a real gateway: stored encrypted in the settings file, handed
 * to the upstream decrypted, kept by `{ secret: true, keep: true }`, moved with a rename; a value
 * that does not decrypt is an error of that server alone, naming the field.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { entryVersion } from '../../server/settings/gateway-fields.js';
import { parseJsonText } from '../../server/settings/json-text.js';
import type { SettingsStatus } from '../../server/settings/status.js';
import { FAST_TIMEOUTS, startGateway, stdioFixture, textOf, type TestGateway } from '../fixtures/gateway.js';
import { startHttpUpstream, type HttpUpstream } from '../fixtures/mcp-upstream.js';
import { callApi } from './admin-session-client.js';

type Entry = { env?: Record<string, string>; headers?: Record<string, string> };

describe('secrets typed into forms', () => {
  let http: HttpUpstream;
  let gw: TestGateway;
  const doc = async () =>
    parseJsonText(await readFile(gw.settingsPath, 'utf8'), 'f') as { mcpServers: Record<string, Entry> };
  const childEnv = async (server: string) => {
    const client = await gw.client();
    const result = await client.callTool({ name: `${server}__env`, arguments: {} });
    return JSON.parse(textOf(result)) as Record<string, string>;
  };
  const form = (name: string) => {
    const entry = gw.store.rawServerEntry(name);
    assert.ok(entry);
    return { version: entryVersion(entry) };
  };

  before(async () => {
    http = await startHttpUpstream('http');
    gw = await startGateway({
      mcpServers: { web: { type: 'streamable-http', url: http.url } },
      systemConfig: { timeouts: FAST_TIMEOUTS },
    });
  });
  after(async () => {
    await gw?.close();
    await http?.stop();
  });

  test('typed secrets are encrypted in the file and reach the program decrypted', async () => {
    const answer = await callApi(gw, 'POST', '/api/servers', {
      name: 'kid',
      entry: stdioFixture('kid', {
        env: {
          API_TOKEN: 'typed-token-1',
          PLAIN: 'visible',
          MARKED: { secret: true, value: 'marked-value' },
        },
      }),
    });
    assert.equal(answer.status, 201, JSON.stringify(answer.body));
    const text = await readFile(gw.settingsPath, 'utf8');
    assert.doesNotMatch(text, /typed-token-1|marked-value/);
    const env = (await doc()).mcpServers.kid?.env;
    assert.match(env?.API_TOKEN ?? '', /^enc:v1:/);
    assert.match(env?.MARKED ?? '', /^enc:v1:/);
    assert.equal(env?.PLAIN, 'visible');
    await gw.waitForServer('kid', (s) => s.status === 'connected', 'kid connected');
    const seen = await childEnv('kid');
    assert.equal(seen.API_TOKEN, 'typed-token-1');
    assert.equal(seen.MARKED, 'marked-value');
  });

  test('keep leaves the stored value as it is; a new string replaces it', async () => {
    const stored = (await doc()).mcpServers.kid?.env;
    const since = (await gw.servers()).find((s) => s.name === 'kid')?.connectedSince;
    const answer = await callApi(gw, 'PUT', '/api/servers/kid', {
      entry: stdioFixture('kid', {
        env: {
          API_TOKEN: { secret: true, keep: true },
          MARKED: { secret: true, value: 'marked-value-2' },
          PLAIN: 'visible-2',
        },
      }),
      version: form('kid').version,
    });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const env = (await doc()).mcpServers.kid?.env;
    assert.equal(env?.API_TOKEN, stored?.API_TOKEN, 'the same bytes');
    assert.notEqual(env?.MARKED, stored?.MARKED);
    await gw.waitForServer(
      'kid',
      (s) => s.status === 'connected' && s.connectedSince !== since,
      'kid reconnected with its new environment',
    );
    const seen = await childEnv('kid');
    assert.deepEqual(
      [seen.API_TOKEN, seen.MARKED, seen.PLAIN],
      ['typed-token-1', 'marked-value-2', 'visible-2'],
    );
  });

  test('a renamed server’s secrets are encrypted again for its new name and still work', async () => {
    const answer = await callApi(gw, 'PUT', '/api/servers/kid', {
      entry: stdioFixture('kid', {
        env: {
          API_TOKEN: { secret: true, keep: true },
          MARKED: { secret: true, keep: true },
          PLAIN: 'visible-2',
        },
      }),
      version: form('kid').version,
      rename: 'child',
    });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    await gw.waitForServer('child', (s) => s.status === 'connected', 'child connected');
    const seen = await childEnv('child');
    assert.deepEqual([seen.API_TOKEN, seen.MARKED], ['typed-token-1', 'marked-value-2']);
  });

  test('a stored value copied to another field is an error of that server only, naming the field', async () => {
    const raw = parseJsonText(await readFile(gw.settingsPath, 'utf8'), 'f') as {
      mcpServers: Record<string, Record<string, unknown>>;
    };
    const copied = (raw.mcpServers.child?.env as Record<string, string>).API_TOKEN;
    raw.mcpServers.web = { ...raw.mcpServers.web, headers: { Authorization: copied } };
    await writeFile(gw.settingsPath, JSON.stringify(raw, null, 2));
    const web = await gw.waitForServer('web', (s) => s.status === 'error', 'web in error');
    assert.equal(web.error?.code, 'SECRETS_DECRYPT_FAILED');
    assert.match(
      web.error?.message ?? '',
      /mcpServers\.web\.headers\.Authorization: the stored secret could not be decrypted/,
    );
    assert.equal(
      (await gw.servers()).find((s) => s.name === 'child')?.status,
      'connected',
      'the others work',
    );
    const status = (await (await gw.api('/api/settings/status')).json()) as SettingsStatus;
    assert.equal(status.valid, true, 'the file itself is live');
    assert.deepEqual(
      status.warnings.filter((w) => w.kind === 'unreadable').map((w) => w.path),
      ['mcpServers.web.headers.Authorization'],
    );
    // Typing it again fixes it.
    const fixed = await callApi(gw, 'PUT', '/api/servers/web', {
      entry: { type: 'streamable-http', url: http.url, headers: { Authorization: 'Bearer typed-again' } },
      version: form('web').version,
    });
    assert.equal(fixed.status, 200);
    await gw.waitForServer('web', (s) => s.status === 'connected', 'web connected');
    const after = (await (await gw.api('/api/settings/status')).json()) as SettingsStatus;
    assert.deepEqual(
      after.warnings.filter((w) => w.kind === 'unreadable'),
      [],
    );
  });
});
