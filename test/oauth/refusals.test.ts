import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { PendingStateIndex } from '../../server/oauth/pending-index.js';
import { completeAuthorization, startAuthServer, type AuthServer } from '../fixtures/oidc-provider.js';
import { startProtectedMcp, type ProtectedMcp } from '../fixtures/protected-mcp.js';
import { connect, createEngine, rejectsWith, textOf } from './harness.js';
import { asMetadata, json, startTinyServer } from './tiny-server.js';

describe('what the engine refuses', () => {
  const closers: Array<() => Promise<void>> = [];
  after(async () => {
    for (const close of closers.reverse()) await close();
  });

  /** A protected MCP server whose authorization server is a tiny one serving `metadata`. */
  async function upstreamWithServer(metadata: (origin: string) => Record<string, unknown>) {
    const as = await startTinyServer((origin) => ({
      '/.well-known/oauth-authorization-server': json(metadata(origin)),
    }));
    const mcp = await startProtectedMcp({ authServer: { issuer: as.origin, jwksUri: `${as.origin}/jwks` } });
    closers.push(as.close, mcp.close);
    return mcp;
  }

  for (const [label, methods] of [
    ['absent', undefined],
    ['without S256', ['plain']],
  ] as const) {
    test(`an authorization server with code_challenge_methods_supported ${label} is refused (PKCE)`, async () => {
      const mcp = await upstreamWithServer((origin) =>
        asMetadata(origin, {
          code_challenge_methods_supported: methods,
          registration_endpoint: `${origin}/reg`,
        }),
      );
      const engine = createEngine({ serverUrl: mcp.url });
      await engine.init();
      const err = await rejectsWith(connect(engine, mcp.url), 'UPSTREAM_AUTH_REQUIRED');
      assert.equal(err.details?.code, 'OAUTH_PKCE_UNSUPPORTED');
      assert.equal(engine.status().error?.code, 'OAUTH_PKCE_UNSUPPORTED');
      engine.close();
    });
  }

  test('metadata naming another issuer is refused', async () => {
    const mcp = await upstreamWithServer((origin) => asMetadata(origin, { issuer: 'https://evil.example' }));
    const engine = createEngine({ serverUrl: mcp.url });
    await engine.init();
    const err = await rejectsWith(connect(engine, mcp.url), 'UPSTREAM_AUTH_REQUIRED');
    assert.equal(err.details?.code, 'OAUTH_ISSUER_MISMATCH');
    engine.close();
  });

  test('an authorization endpoint over plain HTTP to a non-loopback host is refused', async () => {
    const mcp = await upstreamWithServer((origin) =>
      asMetadata(origin, { authorization_endpoint: 'http://login.example.com/authorize' }),
    );
    const engine = createEngine({ serverUrl: mcp.url, settings: { clientId: 'configured' } });
    await engine.init();
    await rejectsWith(engine.startAuthorization(), 'OAUTH_INSECURE_ENDPOINT');
    engine.close();
  });

  test('protected resource metadata for another resource is refused', async () => {
    const as = await startAuthServer();
    const mcp = await startProtectedMcp({ authServer: as, resource: 'https://elsewhere.example/mcp' });
    closers.push(as.close, mcp.close);
    const engine = createEngine({ serverUrl: mcp.url });
    await engine.init();
    const err = await rejectsWith(connect(engine, mcp.url), 'UPSTREAM_AUTH_REQUIRED');
    assert.equal(err.details?.code, 'OAUTH_RESOURCE_MISMATCH');
    assert.equal(as.counts.registrations, 0, 'nothing was registered');
    engine.close();
  });

  describe('callbacks', () => {
    let as: AuthServer;
    let mcp: ProtectedMcp;
    before(async () => {
      as = await startAuthServer();
      mcp = await startProtectedMcp({ authServer: as });
      closers.push(as.close, mcp.close);
    });

    test('forged and replayed state are rejected and change nothing', async () => {
      const pendingStates = new PendingStateIndex();
      const engine = createEngine({ serverUrl: mcp.url, pendingStates });
      await engine.init();
      const { authorizationUrl } = await engine.startAuthorization();
      const redirect = await completeAuthorization(authorizationUrl);
      assert.equal(pendingStates.serverOf(redirect.searchParams.get('state')), 'upstream');

      const forged = new URLSearchParams(redirect.searchParams);
      forged.set('state', 'forged-state');
      assert.equal(pendingStates.serverOf('forged-state'), undefined);
      await rejectsWith(engine.handleCallback(forged), 'OAUTH_STATE_INVALID');
      assert.equal(engine.status().stage, 'awaiting_user');
      assert.equal(as.counts.codeExchanges, 0);

      await engine.handleCallback(redirect.searchParams);
      assert.equal(engine.status().stage, 'authorized');
      const state = redirect.searchParams.get('state') ?? '';
      assert.equal(pendingStates.serverOf(state), undefined, 'a used state is gone');
      await rejectsWith(engine.handleCallback(redirect.searchParams), 'OAUTH_STATE_INVALID');
      assert.equal(engine.status().stage, 'authorized');
      assert.equal(as.counts.codeExchanges, 1);
      engine.close();
    });

    test('a state older than 10 minutes is rejected', async () => {
      let now = Date.now();
      const engine = createEngine({ serverUrl: mcp.url, now: () => now });
      await engine.init();
      const { authorizationUrl } = await engine.startAuthorization();
      const redirect = await completeAuthorization(authorizationUrl);
      now += 10 * 60_000 + 1;
      const err = await rejectsWith(engine.handleCallback(redirect.searchParams), 'OAUTH_STATE_INVALID');
      assert.match(err.message, /expired/);
      engine.close();
    });

    test('a response with another iss (RFC 9207) is rejected', async () => {
      const engine = createEngine({ serverUrl: mcp.url });
      await engine.init();
      const { authorizationUrl } = await engine.startAuthorization();
      const redirect = await completeAuthorization(authorizationUrl);
      const mixedUp = new URLSearchParams(redirect.searchParams);
      mixedUp.set('iss', 'https://evil.example');
      await rejectsWith(engine.handleCallback(mixedUp), 'OAUTH_ISS_MISMATCH');
      assert.equal(engine.status().error?.code, 'OAUTH_ISS_MISMATCH');
      engine.close();
    });

    test('an error response from the authorization server is reported with its code only', async () => {
      const engine = createEngine({ serverUrl: mcp.url });
      await engine.init();
      const { authorizationUrl } = await engine.startAuthorization();
      const state = new URL(authorizationUrl).searchParams.get('state') ?? '';
      const params = new URLSearchParams({
        error: 'access_denied',
        error_description: '<script>alert(1)</script>',
        state,
        iss: as.issuer,
      });
      const err = await rejectsWith(engine.handleCallback(params), 'OAUTH_CALLBACK_ERROR');
      assert.match(err.message, /access_denied/);
      assert.doesNotMatch(err.message, /script/);
      engine.close();
    });

    test('a token minted for one MCP server is never sent to another', async () => {
      const other = await startProtectedMcp({ authServer: as });
      closers.push(other.close);
      const first = createEngine({ server: 'first', serverUrl: mcp.url });
      const second = createEngine({ server: 'second', serverUrl: other.url });
      for (const [engine, server] of [
        [first, mcp],
        [second, other],
      ] as const) {
        await engine.init();
        const { authorizationUrl } = await engine.startAuthorization();
        const redirect = await completeAuthorization(authorizationUrl);
        await engine.handleCallback(redirect.searchParams);
        const client = await connect(engine, server.url);
        assert.equal(
          textOf(await client.callTool({ name: 'echo', arguments: { text: 'mine' } })),
          'echo: mine',
        );
        await client.close();
      }
      // Point the first engine's fetch at the second server: it is not its origin, so no token goes.
      const seenBefore = new Set(other.seen.tokens);
      const response = await first.fetch(other.url, { method: 'POST', body: '{}' });
      assert.equal(response.status, 401);
      assert.deepEqual(other.seen.tokens, seenBefore);
      for (const token of mcp.seen.tokens) assert.equal(other.seen.tokens.has(token), false);
      assert.deepEqual([...other.seen.audiences], [other.resource]);
      assert.ok(!mcp.seen.audiences.has(other.resource));
      first.close();
      second.close();
    });
  });
});
