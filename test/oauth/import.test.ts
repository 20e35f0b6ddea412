import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  GATEWAY_OWNER,
  MemoryCredentialStore,
  type CredentialKey,
  type CredentialRecord,
} from '../../server/settings/credentials.js';
import { startAuthServer, type AuthServer } from '../fixtures/oidc-provider.js';
import { startProtectedMcp, type ProtectedMcp } from '../fixtures/protected-mcp.js';
import { REDIRECT_URI, authorizeOnFirstContact, connect, createEngine, textOf } from './harness.js';

/** A MemoryCredentialStore that records what was put (a real store, not a mock). */
class RecordingStore extends MemoryCredentialStore {
  readonly puts: CredentialRecord[] = [];
  override async put(key: CredentialKey, value: CredentialRecord): Promise<void> {
    this.puts.push(structuredClone(value));
    await super.put(key, value);
  }
}

const KEY = { server: 'upstream', owner: GATEWAY_OWNER };
const client = { clientId: 'gatehouse', clientSecret: 'configured-secret' };

describe('plaintext tokens in the settings', () => {
  let as: AuthServer;
  let mcp: ProtectedMcp;
  let tokens: { accessToken: string; refreshToken: string };
  before(async () => {
    as = await startAuthServer({
      registration: false,
      staticClient: { ...client, redirectUris: [REDIRECT_URI] },
    });
    mcp = await startProtectedMcp({ authServer: as });
    // Real tokens, as another tool (MCPHub) would have written them into the settings.
    const store = new MemoryCredentialStore();
    const engine = createEngine({ serverUrl: mcp.url, store, settings: client });
    await engine.init();
    await authorizeOnFirstContact(engine, mcp.url);
    engine.close();
    tokens = (await store.get(KEY))?.tokens as typeof tokens;
  });
  after(async () => {
    await mcp.close();
    await as.close();
  });

  test('are imported once through store.put and used without a new authorization', async () => {
    const store = new RecordingStore();
    const settings = { ...client, accessToken: tokens.accessToken, refreshToken: tokens.refreshToken };
    const engine = createEngine({ serverUrl: mcp.url, store, settings });
    await engine.init();
    assert.equal(store.puts.length, 1);
    const stored = store.puts[0]?.tokens as { accessToken?: string; refreshToken?: string };
    assert.equal(stored.accessToken, tokens.accessToken);
    assert.equal(stored.refreshToken, tokens.refreshToken);
    assert.equal(engine.stage.kind, 'authorized');
    assert.ok(engine.status().log.some((e) => e.detail === 'authorized (import)'));

    const mcpClient = await connect(engine, mcp.url);
    assert.equal(
      textOf(await mcpClient.callTool({ name: 'echo', arguments: { text: 'imported' } })),
      'echo: imported',
    );
    await mcpClient.close();
    engine.close();

    // The settings still hold the plaintext: a restart must not import them over newer tokens.
    const restarted = createEngine({ serverUrl: mcp.url, store, settings });
    const puts = store.puts.length;
    await restarted.init();
    assert.equal(store.puts.length, puts);
    restarted.close();
  });

  test('a refresh token alone is refreshed (after discovery) before the first request', async () => {
    const store = new RecordingStore();
    const refreshes = as.counts.refreshes;
    const engine = createEngine({
      serverUrl: mcp.url,
      store,
      settings: { ...client, refreshToken: tokens.refreshToken },
    });
    await engine.init();
    const mcpClient = await connect(engine, mcp.url);
    assert.equal(textOf(await mcpClient.callTool({ name: 'echo', arguments: { text: 'rt' } })), 'echo: rt');
    await mcpClient.close();
    assert.equal(as.counts.refreshes, refreshes + 1);
    const persisted = (await store.get(KEY))?.tokens as { refreshToken?: string };
    assert.equal(persisted.refreshToken, as.lastRefreshToken, 'the rotated refresh token is persisted');
    engine.close();
  });
});
