import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { PendingStateIndex } from '../../server/oauth/pending-index.js';
import { MemoryCredentialStore } from '../../server/settings/credentials.js';
import { startAuthServer, type AuthServer } from '../fixtures/oidc-provider.js';
import { startProtectedMcp, type ProtectedMcp } from '../fixtures/protected-mcp.js';
import { authorizationUrlOf, connect, consent, createEngine, rejectsWith, textOf } from './harness.js';

describe('dynamic client registration, end to end', () => {
  let as: AuthServer;
  let mcp: ProtectedMcp;
  before(async () => {
    as = await startAuthServer();
    mcp = await startProtectedMcp({ authServer: as });
  });
  after(async () => {
    await mcp.close();
    await as.close();
  });

  test('a 401 leads to discovery, registration and an authorization URL; consent makes calls succeed', async () => {
    const store = new MemoryCredentialStore();
    const stages: string[] = [];
    const engine = createEngine({ serverUrl: mcp.url, store, onStageChange: (s) => stages.push(s.kind) });
    await engine.init();
    assert.equal(engine.stage.kind, 'unauthenticated');

    const err = await rejectsWith(connect(engine, mcp.url), 'UPSTREAM_AUTH_REQUIRED');
    assert.equal(err.message, 'server "upstream" needs authorization');
    const url = new URL(authorizationUrlOf(err));
    assert.equal(url.searchParams.get('resource'), mcp.resource);
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
    // The challenge's scope, plus offline_access because the server lists it (SEP-2207).
    assert.equal(url.searchParams.get('scope'), 'mcp:read offline_access');
    assert.deepEqual(stages, ['discovering', 'registering', 'awaiting_user']);
    assert.equal(as.counts.registrations, 1);

    await consent(engine, url.href);
    assert.equal(engine.stage.kind, 'authorized');
    const client = await connect(engine, mcp.url);
    assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { text: 'hi' } })), 'echo: hi');
    await client.close();

    const status = engine.status();
    assert.deepEqual(status.client, { method: 'dynamic', issuer: as.issuer });
    assert.deepEqual(status.token?.scopes, ['mcp:read']);
    assert.equal(
      JSON.stringify(status).includes(String(as.lastRefreshToken)),
      false,
      'status shows no token',
    );
    assert.deepEqual(
      status.log.map((e) => e.stage),
      ['discovering', 'registering', 'awaiting_user', 'exchanging', 'authorized'],
    );
    engine.close();

    // A new engine over the same store (a restart): no consent, no new registration.
    const restarted = createEngine({ serverUrl: mcp.url, store });
    await restarted.init();
    assert.equal(restarted.stage.kind, 'authorized');
    const again = await connect(restarted, mcp.url);
    assert.equal(textOf(await again.callTool({ name: 'echo', arguments: { text: 'back' } })), 'echo: back');
    await again.close();
    assert.equal(as.counts.authorizations, 1);
    assert.equal(as.counts.registrations, 1);

    // A new authorization reuses the client registered for this issuer.
    await restarted.startAuthorization();
    assert.equal(as.counts.registrations, 1);
    restarted.close();
  });

  test('a restart between consent and callback still completes the authorization', async () => {
    const store = new MemoryCredentialStore();
    const first = createEngine({ serverUrl: mcp.url, store });
    await first.init();
    const { authorizationUrl } = await first.startAuthorization();
    first.close();

    const pendingStates = new PendingStateIndex();
    const second = createEngine({ serverUrl: mcp.url, store, pendingStates });
    await second.init();
    const state = new URL(authorizationUrl).searchParams.get('state') ?? '';
    assert.equal(pendingStates.serverOf(state), 'upstream', 'the restarted engine files the stored state');
    await consent(second, authorizationUrl);
    const client = await connect(second, mcp.url);
    assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { text: 'x' } })), 'echo: x');
    await client.close();
    second.close();
  });

  test('registration at start-up when dynamicRegistration is enabled with an issuer', async () => {
    const before = as.counts.registrations;
    const engine = createEngine({
      serverUrl: mcp.url,
      settings: {
        dynamicRegistration: { enabled: true, issuer: as.issuer, metadata: { client_name: 'Configured' } },
      },
    });
    await engine.init();
    assert.equal(as.counts.registrations, before + 1);
    assert.equal(engine.stage.kind, 'unauthenticated');
    assert.deepEqual(engine.status().client, { method: 'dynamic', issuer: as.issuer });
    engine.close();
  });

  test('a person asking for the URL while a 401 is preparing one gets the same registration, once', async () => {
    const registrations = as.counts.registrations;
    const engine = createEngine({ serverUrl: mcp.url, store: new MemoryCredentialStore() });
    await engine.init();
    const [first, asked] = await Promise.all([
      connect(engine, mcp.url).then(
        () => undefined,
        (err: unknown) => err,
      ),
      // Give the 401 a head start so its preparation is under way.
      new Promise((resolve) => setTimeout(resolve, 5)).then(() => engine.startAuthorization()),
    ]);
    assert.ok(first, 'the first contact needs authorization');
    assert.equal(as.counts.registrations, registrations + 1);
    await consent(engine, asked.authorizationUrl);
    const client = await connect(engine, mcp.url);
    assert.match(textOf(await client.callTool({ name: 'echo', arguments: { text: 'once' } })), /once/);
    await client.close();
  });
});
