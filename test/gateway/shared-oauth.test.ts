/**
 * Upstream OAuth across replicas on one Redis (issue 15): an authorization started on replica A
 * completes with the browser's callback on replica B, A follows without a consent of its own, and a
 * replica started afterwards serves the upstream at once. The same for a person's own authorization
 * of a per-user server. Real parts: a redis-server, an oidc-provider, a protected SDK MCP server,
 * and the gateways in this process.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FAST_TIMEOUTS, startGateway, textOf, waitUntil, type TestGateway } from '../fixtures/gateway.js';
import { completeAuthorization, startAuthServer, type AuthServer } from '../fixtures/oidc-provider.js';
import { startProtectedMcp, type ProtectedMcp } from '../fixtures/protected-mcp.js';
import { startRedis, type TestRedis } from '../fixtures/redis.js';
import { startRoundRobinProxy, type RoundRobinProxy } from '../fixtures/replicas.js';

describe('upstream OAuth across replicas', () => {
  let redis: TestRedis;
  /** The one public address (systemConfig.baseUrl): the callback goes where the test points it. */
  let proxy: RoundRobinProxy;
  let as: AuthServer;
  let linear: ProtectedMcp;
  let notes: ProtectedMcp;
  const gateways: TestGateway[] = [];
  let settings: object;

  const start = async () => {
    const gw = await startGateway(settings);
    gateways.push(gw);
    return gw;
  };

  before(async () => {
    redis = await startRedis();
    proxy = await startRoundRobinProxy();
    as = await startAuthServer();
    linear = await startProtectedMcp({ authServer: as });
    notes = await startProtectedMcp({ authServer: as });
    settings = {
      mcpServers: {
        linear: { url: linear.url },
        notes: { url: notes.url, credentials: 'perUser' },
      },
      systemConfig: {
        timeouts: FAST_TIMEOUTS,
        baseUrl: proxy.url,
        store: { type: 'redis', url: redis.url },
      },
    };
  });
  after(async () => {
    for (const gw of gateways) await gw.close();
    await linear?.close();
    await notes?.close();
    await as?.close();
    await redis?.close();
    await proxy?.close();
  });

  test('an authorization started on A completes on B; A follows, and C starts authorized', async () => {
    const a = await start();
    const b = await start();
    for (const gw of [a, b]) await gw.waitForServer('linear', (s) => s.status === 'auth_required');

    const started = await a.api('/api/servers/linear/authorize', { method: 'POST' });
    assert.equal(started.status, 200);
    const { authorizationUrl } = (await started.json()) as { authorizationUrl: string };
    const redirect = await completeAuthorization(authorizationUrl);
    // The browser comes back through the load balancer: here, to B, which never saw this state.
    assert.equal(redirect.origin, proxy.url);
    proxy.setTarget(0, b.base);
    const callback = await fetch(redirect);
    assert.equal(callback.status, 200, await callback.text());

    await b.waitForServer('linear', (s) => s.status === 'connected', 'B connected');
    // A hears B's write through the store's feed, takes the tokens and connects: no second consent.
    await a.waitForServer('linear', (s) => s.status === 'connected', 'A connected');
    const c = await start();
    await c.waitForServer('linear', (s) => s.status === 'connected', 'C connected without consent');
    assert.equal(linear.seen.tokensBySubject.get('alice')?.size, 1, 'one token, used by all three');

    // The state was single use: replayed on A (whose engine also knows it now), it is refused.
    proxy.setTarget(0, a.base);
    const replay = await fetch(redirect);
    assert.equal(replay.status, 400);
  });

  test("a person's authorization started on A completes on B, and their calls on A go through", async () => {
    const [a, b] = gateways;
    const { authorizationUrl } = await a!.manager.authorizeFor('notes', 'bob', {});
    const state = new URL(authorizationUrl).searchParams.get('state');
    // Filed where every replica finds it, expiring with the authorization.
    assert.deepEqual(await b!.manager.pendingOf(state), { server: 'notes', person: 'bob' });
    const redirect = await completeAuthorization(authorizationUrl, 'bob');
    // (The callback route's browser binding is tested in per-user.test.ts; here the manager's part.)
    await b!.manager.completeCallback(redirect.searchParams);

    await waitUntil(
      async () => (await a!.manager.personStatus('notes', 'bob')).auth?.stage === 'authorized',
      "A to take bob's tokens",
    );
    const result = await a!.manager.use('notes', 'bob', (connection) =>
      connection.request((client) => client.callTool({ name: 'whoami', arguments: {} })),
    );
    assert.equal(textOf(result), 'bob');
    assert.equal(notes.seen.tokensBySubject.get('bob')?.size, 1, "one token of bob's, from B's exchange");
  });

  test('a state nobody handed out is refused on every replica', async () => {
    const [, b] = gateways;
    assert.equal(await b!.manager.pendingOf('made-up-state'), undefined);
    const response = await fetch(`${b!.base}/oauth/callback?state=made-up-state&code=x`);
    assert.equal(response.status, 400);
  });
});

describe('an authorization across a restart (the file store)', () => {
  test('the callback of an authorization started before a restart completes after it', async () => {
    const as = await startAuthServer();
    const linear = await startProtectedMcp({ authServer: as });
    let gw: TestGateway | undefined;
    try {
      const first = await startGateway({
        mcpServers: { linear: { url: linear.url } },
        systemConfig: { timeouts: FAST_TIMEOUTS },
      });
      await first.waitForServer('linear', (s) => s.status === 'auth_required');
      const started = await first.api('/api/servers/linear/authorize', { method: 'POST' });
      const { authorizationUrl } = (await started.json()) as { authorizationUrl: string };
      const redirect = await completeAuthorization(authorizationUrl);
      await first.close({ keepFiles: true });

      gw = await startGateway(null, { dir: first.dir });
      // The redirect URI named the first process's port; the same path on the new one.
      const callback = await fetch(`${gw.base}/oauth/callback${redirect.search}`);
      assert.equal(callback.status, 200, await callback.text());
      await gw.waitForServer('linear', (s) => s.status === 'connected', 'connected after the restart');
    } finally {
      await gw?.close();
      await linear.close();
      await as.close();
    }
  });
});
