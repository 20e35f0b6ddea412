/**
 * Team sign-in across replicas (issue 15): two gateways in this process on one real Redis, both in
 * team mode with the same company OpenID provider (a real oidc-provider) and the same public URL
 * (a round-robin proxy in front of them, test/fixtures/replicas.ts). A sign-in started on one
 * replica completes when the provider sends the browser back to the other, once; an MCP client's
 * whole sign-in through the proxy, each request on the next replica, ends with a token both
 * accept; with Redis down the return is a clear 503 page.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { initializeStatus, startGateway, waitUntil, type TestGateway } from '../fixtures/gateway.js';
import { completeAuthorization, startAuthServer, type AuthServer } from '../fixtures/oidc-provider.js';
import { startRedis, type TestRedis } from '../fixtures/redis.js';
import { startRoundRobinProxy, type RoundRobinProxy } from '../fixtures/replicas.js';
import { MemoryClientProvider, sdkSignIn } from './oauth-client.js';

describe('team sign-in on two replicas sharing Redis', () => {
  let redis: TestRedis;
  let proxy: RoundRobinProxy;
  let idp: AuthServer;
  let a: TestGateway;
  let b: TestGateway;

  before(async () => {
    redis = await startRedis();
    // The public URL first: it is the redirect URI registered at the provider and both baseUrls.
    proxy = await startRoundRobinProxy();
    idp = await startAuthServer({
      emailClaims: true,
      emailVerified: true,
      staticClient: {
        clientId: 'gatehouse',
        clientSecret: 'gatehouse-secret',
        redirectUris: [`${proxy.url}/oauth2/login/callback`],
      },
    });
    const settings = {
      mcpServers: { off: { command: 'never-started', enabled: false } },
      systemConfig: {
        baseUrl: proxy.url,
        store: { type: 'redis', url: redis.url },
        inboundAuth: {
          oauth: {
            enabled: true,
            login: {
              issuer: idp.issuer,
              clientId: 'gatehouse',
              clientSecret: 'gatehouse-secret',
              allowedDomains: ['example.com'],
            },
          },
        },
      },
    };
    a = await startGateway(settings);
    b = await startGateway(settings);
    proxy.setTarget(0, a.base);
    proxy.setTarget(1, b.base);
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await proxy?.close();
    await idp?.close();
    await redis?.close();
  });

  /** Starts a dashboard sign-in on `gw` and plays the person at the provider: the return's URL. */
  async function providerReturn(gw: TestGateway, account: string): Promise<URL> {
    const start = await fetch(`${gw.base}/api/session/team`, { redirect: 'manual' });
    assert.equal(start.status, 302, await start.text());
    return completeAuthorization(start.headers.get('location')!, account);
  }

  /** The return delivered to `gw` (as a load balancer might route it), not to the public URL. */
  const deliverTo = (gw: TestGateway, back: URL) =>
    fetch(`${gw.base}${back.pathname}${back.search}`, { redirect: 'manual' });

  test('a dashboard sign-in started on A completes on B, once', async () => {
    const back = await providerReturn(a, 'alice');
    assert.equal(back.origin, proxy.url);
    const answer = await deliverTo(b, back);
    assert.equal(answer.status, 303, await answer.clone().text());
    const id = /^gatehouse_session=([^;]+)/.exec(answer.headers.get('set-cookie') ?? '')?.[1];
    assert.ok(id, 'a session cookie');
    const session = await fetch(`${b.base}/api/session`, { headers: { cookie: `gatehouse_session=${id}` } });
    assert.deepEqual(await session.json(), { signedIn: true, subject: 'alice@example.com', role: 'user' });

    // Single use across replicas: the same return replayed on A finds no pending sign-in.
    const replay = await deliverTo(a, back);
    assert.equal(replay.status, 400);
    assert.match(await replay.text(), /This sign-in has expired/);
  });

  test('an MCP client’s sign-in through the proxy, each request on the next replica, gives a token both accept', async () => {
    const before = proxy.counts();
    const { provider } = await sdkSignIn(
      `${proxy.url}/mcp`,
      new MemoryClientProvider({ name: 'Alice’s agent' }),
      {
        idpAccount: 'alice',
      },
    );
    const token = provider.saved?.access_token;
    assert.ok(token, 'an access token');
    const after = proxy.counts();
    assert.ok(after[0]! > before[0]! && after[1]! > before[1]!, `both replicas served the flow: ${after}`);
    assert.equal(await initializeStatus(`${a.base}/mcp`, token), 200);
    assert.equal(await initializeStatus(`${b.base}/mcp`, token), 200);
  });

  test('with Redis down the provider’s return is a 503 page naming STORE_UNAVAILABLE, and a new sign-in says why it cannot start', async () => {
    const back = await providerReturn(a, 'bob');
    await redis.stop();
    try {
      await waitUntil(async () => (await fetch(`${b.base}/readyz`)).status === 503, 'B to see Redis down');
      const answer = await deliverTo(b, back);
      assert.equal(answer.status, 503);
      const html = await answer.text();
      assert.match(html, /Signing in is unavailable for a moment/);
      assert.match(html, /STORE_UNAVAILABLE/);
      assert.equal(answer.headers.get('set-cookie'), null);

      const start = await fetch(`${a.base}/api/session/team`, { redirect: 'manual' });
      assert.equal(start.status, 502);
      assert.match(await start.text(), /Signing in cannot start now[\s\S]*STORE_UNAVAILABLE/);
    } finally {
      await redis.start();
      await waitUntil(
        async () =>
          (await fetch(`${a.base}/readyz`)).status === 200 &&
          (await fetch(`${b.base}/readyz`)).status === 200,
        'both ready again',
      );
    }
  });
});
