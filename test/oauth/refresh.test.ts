import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';

import { GATEWAY_OWNER, MemoryCredentialStore } from '../../server/settings/credentials.js';
import { startAuthServer, type AuthServer } from '../fixtures/oidc-provider.js';
import { startProtectedMcp, type ProtectedMcp } from '../fixtures/protected-mcp.js';
import {
  authorizationUrlOf,
  authorizeOnFirstContact,
  connect,
  createEngine,
  rejectsWith,
  textOf,
} from './harness.js';

const TTL_SECONDS = 2;

async function storedRefreshToken(store: MemoryCredentialStore): Promise<unknown> {
  const record = await store.get({ server: 'upstream', owner: GATEWAY_OWNER });
  return (record?.tokens as { refreshToken?: string } | undefined)?.refreshToken;
}

describe('short-lived tokens with rotating refresh tokens', () => {
  let as: AuthServer;
  let mcp: ProtectedMcp;
  before(async () => {
    as = await startAuthServer({ accessTokenTtl: TTL_SECONDS });
    mcp = await startProtectedMcp({ authServer: as });
  });
  after(async () => {
    await mcp.close();
    await as.close();
  });

  test('8 concurrent callers keep succeeding across several expiries; the newest refresh token is persisted', async () => {
    const store = new MemoryCredentialStore();
    const engine = createEngine({ serverUrl: mcp.url, store });
    await engine.init();
    await authorizeOnFirstContact(engine, mcp.url);
    const client = await connect(engine, mcp.url);

    const tokensBefore = mcp.seen.tokens.size;
    const until = Date.now() + TTL_SECONDS * 1000 * 3.5;
    const failures: unknown[] = [];
    let calls = 0;
    await Promise.all(
      Array.from({ length: 8 }, async (_, loop) => {
        while (Date.now() < until) {
          try {
            const result = await client.callTool({ name: 'echo', arguments: { text: `loop ${loop}` } });
            assert.equal(textOf(result), `echo: loop ${loop}`);
            calls++;
          } catch (err) {
            failures.push(err);
          }
          await sleep(25);
        }
      }),
    );
    await client.close();

    assert.deepEqual(failures, []);
    assert.ok(calls > 0);
    assert.ok(as.counts.refreshes >= 2, `refreshed ${as.counts.refreshes} times`);
    assert.ok(mcp.seen.tokens.size - tokensBefore >= 3, 'several access tokens were used');
    // A rotated refresh token used twice would revoke the grant with invalid_grant.
    assert.deepEqual(as.tokenErrors, []);
    assert.equal(await storedRefreshToken(store), as.lastRefreshToken);
    assert.equal(engine.stage.kind, 'authorized');
    assert.notEqual(engine.status().token?.lastRefreshAt, null);
    engine.close();
  });

  test('a revoked grant (invalid_grant on refresh) goes back to awaiting_user with a new authorization URL', async () => {
    const store = new MemoryCredentialStore();
    const engine = createEngine({ serverUrl: mcp.url, store });
    await engine.init();
    await authorizeOnFirstContact(engine, mcp.url);
    const client = await connect(engine, mcp.url);
    assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { text: 'a' } })), 'echo: a');
    const refreshToken = String(await storedRefreshToken(store));

    await as.revokeGrants();
    mcp.revokeSeenTokens();
    const err = await rejectsWith(
      client.callTool({ name: 'echo', arguments: { text: 'b' } }),
      'UPSTREAM_AUTH_REQUIRED',
    );
    for (let e: unknown = err; e instanceof Error; e = e.cause) {
      assert.ok(!`${e.message} ${JSON.stringify(e)}`.includes(refreshToken), 'no token in the error chain');
    }
    assert.ok(authorizationUrlOf(err).startsWith(`${as.issuer}/auth?`));
    assert.equal(engine.stage.kind, 'awaiting_user');
    assert.equal(engine.status().token, null, 'the rejected tokens are forgotten');
    assert.ok(engine.status().log.some((e) => e.detail.includes('revoked')));
    await client.close().catch(() => undefined);
    engine.close();
  });

  test('disconnect revokes at the server (RFC 7009), forgets the tokens and keeps the client', async () => {
    const engine = createEngine({ serverUrl: mcp.url });
    await engine.init();
    await authorizeOnFirstContact(engine, mcp.url);
    const revocations = as.counts.revocations;
    const refreshes = as.counts.refreshes;

    await engine.disconnect();
    assert.equal(as.counts.revocations, revocations + 1);
    assert.equal(engine.stage.kind, 'unauthenticated');
    assert.equal(engine.status().token, null);
    assert.equal(engine.status().client?.method, 'dynamic');

    const registrations = as.counts.registrations;
    await rejectsWith(connect(engine, mcp.url), 'UPSTREAM_AUTH_REQUIRED');
    assert.equal(engine.stage.kind, 'awaiting_user');
    assert.equal(as.counts.registrations, registrations, 'the registered client is reused');
    assert.equal(as.counts.refreshes, refreshes);
    engine.close();
  });
});
