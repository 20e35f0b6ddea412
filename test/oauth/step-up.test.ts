import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { startAuthServer, type AuthServer } from '../fixtures/oidc-provider.js';
import { startProtectedMcp, type ProtectedMcp } from '../fixtures/protected-mcp.js';
import { AUTHORIZATION_TTL_MS } from '../../server/oauth/authorize.js';
import { STEP_UP_LIMIT } from '../../server/oauth/step-up.js';
import {
  authorizationUrlOf,
  authorizeOnFirstContact,
  connect,
  consent,
  createEngine,
  rejectsWith,
  textOf,
} from './harness.js';

describe('step-up authorization on 403 insufficient_scope', () => {
  let as: AuthServer;
  let mcp: ProtectedMcp;
  before(async () => {
    // The server never grants mcp:admin: asking for it cannot succeed.
    as = await startAuthServer({ resourceScopes: ['mcp:read', 'mcp:write'] });
    mcp = await startProtectedMcp({
      authServer: as,
      toolScopes: { write: ['mcp:write'], admin: ['mcp:admin'] },
    });
  });
  after(async () => {
    await mcp.close();
    await as.close();
  });

  test('re-authorizes with the union of granted and challenged scopes, then the call succeeds', async () => {
    const engine = createEngine({ serverUrl: mcp.url });
    await engine.init();
    await authorizeOnFirstContact(engine, mcp.url);
    const client = await connect(engine, mcp.url);
    assert.deepEqual(engine.status().token?.scopes, ['mcp:read']);

    const err = await rejectsWith(
      client.callTool({ name: 'write', arguments: { text: 'w' } }),
      'OAUTH_INSUFFICIENT_SCOPE',
    );
    assert.deepEqual(err.details?.scopes, ['mcp:read', 'mcp:write']);
    assert.match(err.message, /^server "upstream" needs scopes mcp:read mcp:write, /);
    const url = new URL(authorizationUrlOf(err));
    assert.equal(url.searchParams.get('scope'), 'mcp:read mcp:write offline_access');
    assert.equal(engine.stage.kind, 'awaiting_user');

    // The current token keeps working meanwhile, and asking again hands out the same URL.
    assert.equal(
      textOf(await client.callTool({ name: 'echo', arguments: { text: 'still' } })),
      'echo: still',
    );
    const again = await rejectsWith(
      client.callTool({ name: 'write', arguments: { text: 'w' } }),
      'OAUTH_INSUFFICIENT_SCOPE',
    );
    assert.equal(authorizationUrlOf(again), url.href);

    // A person asking for the URL (POST /api/servers/<name>/authorize) gets the same step-up.
    assert.equal((await engine.startAuthorization()).authorizationUrl, url.href);

    await consent(engine, url.href);
    assert.deepEqual(engine.status().token?.scopes, ['mcp:read', 'mcp:write']);
    assert.equal(textOf(await client.callTool({ name: 'write', arguments: { text: 'w' } })), 'write: w');
    await client.close();
    engine.close();
  });

  test('once the step-up URL has expired, a person asking for one gets a new one with the same scopes', async () => {
    let skew = 0;
    const engine = createEngine({ serverUrl: mcp.url, now: () => Date.now() + skew });
    await engine.init();
    await authorizeOnFirstContact(engine, mcp.url);
    const client = await connect(engine, mcp.url);
    const err = await rejectsWith(
      client.callTool({ name: 'write', arguments: { text: 'w' } }),
      'OAUTH_INSUFFICIENT_SCOPE',
    );
    skew = AUTHORIZATION_TTL_MS; // the engine's clock only: the authorization server still accepts it
    const { authorizationUrl } = await engine.startAuthorization();
    assert.notEqual(authorizationUrl, authorizationUrlOf(err));
    assert.equal(new URL(authorizationUrl).searchParams.get('scope'), 'mcp:read mcp:write offline_access');
    await consent(engine, authorizationUrl);
    assert.equal(textOf(await client.callTool({ name: 'write', arguments: { text: 'w' } })), 'write: w');
    await client.close();
    engine.close();
  });

  test(`gives up with OAUTH_STEP_UP_LIMIT after 3 step-ups that do not get the scope`, async () => {
    const engine = createEngine({ serverUrl: mcp.url });
    await engine.init();
    await authorizeOnFirstContact(engine, mcp.url);
    const client = await connect(engine, mcp.url);
    for (let attempt = 1; attempt <= 3; attempt++) {
      const err = await rejectsWith(
        client.callTool({ name: 'admin', arguments: { text: 'a' } }),
        'OAUTH_INSUFFICIENT_SCOPE',
      );
      await consent(engine, authorizationUrlOf(err));
    }
    await rejectsWith(client.callTool({ name: 'admin', arguments: { text: 'a' } }), 'OAUTH_STEP_UP_LIMIT');
    assert.equal(engine.status().error?.code, 'OAUTH_STEP_UP_LIMIT');
    // Tools that need nothing more still work.
    assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { text: 'ok' } })), 'echo: ok');
    await client.close();
    engine.close();
  });

  test(`a request refused with 401, then 403, gets ${STEP_UP_LIMIT} authorizations in all, the first one included`, async () => {
    // Every request needs mcp:admin too, which the authorization server never grants.
    const adminOnly = await startProtectedMcp({ authServer: as, requiredScopes: ['mcp:read', 'mcp:admin'] });
    try {
      const engine = createEngine({ serverUrl: adminOnly.url });
      await engine.init();
      const before = as.counts.authorizations;
      let err = await rejectsWith(connect(engine, adminOnly.url), 'UPSTREAM_AUTH_REQUIRED');
      for (let attempt = 1; attempt <= STEP_UP_LIMIT; attempt++) {
        // As the dashboard does: ask for the URL; it is the one already prepared.
        const { authorizationUrl } = await engine.startAuthorization();
        assert.equal(authorizationUrl, authorizationUrlOf(err));
        await consent(engine, authorizationUrl);
        const expected = attempt < STEP_UP_LIMIT ? 'OAUTH_INSUFFICIENT_SCOPE' : 'OAUTH_STEP_UP_LIMIT';
        err = await rejectsWith(connect(engine, adminOnly.url), expected);
      }
      assert.equal(as.counts.authorizations - before, STEP_UP_LIMIT);
      assert.deepEqual(err.details?.scopes, ['mcp:read', 'mcp:admin']);
      assert.equal(err.details?.authorizationUrl, undefined, 'no new URL is handed out');
      assert.equal(engine.status().error?.code, 'OAUTH_STEP_UP_LIMIT');
      // Until a person starts over, the request keeps failing without a new authorization.
      await rejectsWith(connect(engine, adminOnly.url), 'OAUTH_STEP_UP_LIMIT');
      assert.equal(engine.stage.kind, 'failed');
      // A person starting over gets a fresh URL asking for the missing scope.
      const { authorizationUrl } = await engine.startAuthorization();
      assert.match(new URL(authorizationUrl).searchParams.get('scope') ?? '', /\bmcp:admin\b/);
      assert.equal(engine.stage.kind, 'awaiting_user');
      engine.close();
    } finally {
      await adminOnly.close();
    }
  });
});
