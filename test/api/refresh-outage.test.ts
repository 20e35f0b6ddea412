/**
 * An OAuth upstream and its authorization server both unreachable while the access token expires
 * (issue 11, item 1): the refresh fails with a network error, and that must never send the server
 * to a person. The tokens are kept, the server shows `error` with its next retry, and it connects
 * again by itself, without consent, once both are back.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';

import type { AuthStatus } from '../../server/oauth/engine.js';
import type { ServerStatus } from '../../server/api/status.js';
import { startGateway, textOf, waitUntil, type TestGateway } from '../fixtures/gateway.js';
import { completeAuthorization, startAuthServer, type AuthServer } from '../fixtures/oidc-provider.js';
import { startProtectedMcp, type ProtectedMcp } from '../fixtures/protected-mcp.js';

type Detail = ServerStatus & { auth: AuthStatus };

const TTL_SECONDS = 2;

describe('a refresh that fails for a network error', () => {
  let as: AuthServer;
  let mcp: ProtectedMcp;
  let gw: TestGateway | undefined;

  before(async () => {
    as = await startAuthServer({ accessTokenTtl: TTL_SECONDS });
    mcp = await startProtectedMcp({ authServer: as });
  });
  afterEach(async () => {
    as.setReachable(true);
    mcp.setReachable(true);
    await gw?.close();
    gw = undefined;
  });
  after(async () => {
    await mcp.close();
    await as.close();
  });

  const detail = async (): Promise<Detail> => (await (await gw!.api('/api/servers/secure')).json()) as Detail;

  /** Starts a gateway with the protected upstream and authorizes it once, as a person would. */
  async function authorizedGateway(timeouts: Record<string, number>): Promise<TestGateway> {
    gw = await startGateway({
      mcpServers: { secure: { url: mcp.url } },
      systemConfig: { timeouts: { connectMs: 3000, requestMs: 5000, ...timeouts } },
    });
    await gw.waitForServer('secure', (s) => s.status === 'auth_required', 'waiting for a person');
    const res = await gw.api('/api/servers/secure/authorize', { method: 'POST' });
    const { authorizationUrl } = (await res.json()) as { authorizationUrl: string };
    const redirect = await completeAuthorization(authorizationUrl);
    assert.equal((await fetch(`${gw.base}/oauth/callback${redirect.search}`)).status, 200);
    await gw.waitForServer('secure', (s) => s.status === 'connected', 'connected after consent');
    return gw;
  }

  /**
   * Takes both down, waits for the access token to expire, then calls until a refresh has been
   * tried (and failed) during the outage.
   */
  async function outageUntilRefreshFails(gateway: TestGateway): Promise<Detail> {
    as.setReachable(false);
    mcp.setReachable(false);
    const expiresAt = (await detail()).auth.token?.expiresAt ?? 0;
    await waitUntil(() => Date.now() > expiresAt, 'the access token to expire');
    const client = await gateway.client();
    let last: Detail | undefined;
    await waitUntil(
      async () => {
        await client.callTool({ name: 'secure__echo', arguments: { text: 'x' } }).catch(() => undefined);
        last = await detail();
        return (last.auth.token?.refreshFailures ?? 0) > 0 && last.status === 'error';
      },
      () =>
        `a failed refresh during the outage (last: ${JSON.stringify(last && { s: last.status, a: last.auth })})`,
    );
    return last!;
  }

  test('keeps the tokens, shows error with the next retry, and reconnects without consent', async () => {
    const gateway = await authorizedGateway({ initialBackoffMs: 100, maxBackoffMs: 400 });
    const consents = as.counts.authorizations;
    const waits = (d: Detail) => d.auth.log.filter((e) => e.stage === 'awaiting_user').length;
    const waitsBefore = waits(await detail());

    const during = await outageUntilRefreshFails(gateway);
    assert.equal(during.status, 'error');
    assert.equal(typeof during.nextRetryAt, 'number', 'the next retry time is shown');
    assert.equal(during.auth.stage, 'authorized', 'the stage does not become failed');
    assert.notEqual(during.auth.token, null, 'the tokens are kept');
    assert.equal(during.auth.token?.lastRefreshError?.code, 'OAUTH_REFRESH_FAILED');

    as.setReachable(true);
    mcp.setReachable(true);
    await gateway.waitForServer('secure', (s) => s.status === 'connected', 'connected again');
    const client = await gateway.client();
    assert.equal(
      textOf(await client.callTool({ name: 'secure__echo', arguments: { text: 'back' } })),
      'echo: back',
    );

    const after = await detail();
    assert.equal(as.counts.authorizations, consents, 'nobody was asked to consent again');
    assert.equal(after.auth.token?.refreshFailures, 0);
    assert.ok(!after.auth.log.some((e) => e.stage === 'failed'), 'the auth stage never failed');
    assert.equal(waits(after), waitsBefore, 'no new authorization was prepared for a person');
  });

  test('after the outage the next call tries at once instead of waiting out the backoff', async () => {
    // A long backoff: the timer's next retry is 10–20 s away, so a quick recovery is the call's doing.
    const gateway = await authorizedGateway({ initialBackoffMs: 20_000, maxBackoffMs: 60_000 });
    const during = await outageUntilRefreshFails(gateway);
    const scheduled = during.nextRetryAt ?? 0;

    as.setReachable(true);
    mcp.setReachable(true);
    const client = await gateway.client();
    let answer = '';
    await waitUntil(async () => {
      const result = await client
        .callTool({ name: 'secure__echo', arguments: { text: 'now' } })
        .catch(() => undefined);
      answer = result ? textOf(result) : '';
      return answer !== '';
    }, 'a call that goes through');
    assert.equal(answer, 'echo: now');
    assert.ok(Date.now() < scheduled, 'connected before the backoff timer was due');
  });

  test('only the token endpoint down (the MCP server up): the same, and it recovers', async () => {
    const gateway = await authorizedGateway({ initialBackoffMs: 100, maxBackoffMs: 400 });
    as.setReachable(false);
    const expiresAt = (await detail()).auth.token?.expiresAt ?? 0;
    await waitUntil(() => Date.now() > expiresAt, 'the access token to expire');
    const client = await gateway.client();
    await assert.rejects(client.callTool({ name: 'secure__echo', arguments: { text: 'x' } }), /refresh/i);
    const during = await detail();
    assert.equal(during.auth.stage, 'authorized');
    assert.notEqual(during.auth.token, null);

    as.setReachable(true);
    await gateway.waitForServer('secure', (s) => s.status === 'connected', 'connected again');
    assert.equal(
      textOf(await client.callTool({ name: 'secure__echo', arguments: { text: 'ok' } })),
      'echo: ok',
    );
  });
});
