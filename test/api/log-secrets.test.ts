/**
 * Secrets never reach the log: a whole OAuth flow (authorization, callback, token exchange,
 * calls, a refresh with rotation) at debug level, then every log line is searched for each secret.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FAST_TIMEOUTS, startGateway, waitUntil } from '../fixtures/gateway.js';
import { completeAuthorization, startAuthServer } from '../fixtures/oidc-provider.js';
import { startProtectedMcp } from '../fixtures/protected-mcp.js';

test('a full OAuth flow logged at debug level shows no code, state, access or refresh token', async () => {
  const lines: string[] = [];
  const as = await startAuthServer({ accessTokenTtl: 3 });
  const mcp = await startProtectedMcp({ authServer: as });
  const gw = await startGateway(
    { mcpServers: { secure: { url: mcp.url } }, systemConfig: { timeouts: FAST_TIMEOUTS } },
    { logger: { level: 'debug', stream: { write: (line: string) => void lines.push(line) } } },
  );
  try {
    await gw.waitForServer('secure', (s) => s.auth?.stage === 'awaiting_user', 'awaiting_user');
    const res = await gw.api('/api/servers/secure/authorize', { method: 'POST' });
    const { authorizationUrl } = (await res.json()) as { authorizationUrl: string };
    const redirect = await completeAuthorization(authorizationUrl);
    assert.equal((await fetch(`${gw.base}/oauth/callback${redirect.search}`)).status, 200);
    await gw.waitForServer('secure', (s) => s.status === 'connected', 'connected');

    // Calls until the 3 s access token has been refreshed (and the refresh token rotated).
    const client = await gw.client();
    await waitUntil(async () => {
      await client.callTool({ name: 'secure__echo', arguments: { text: 'x' } });
      return as.counts.refreshes > 0;
    }, 'a refresh');
    await client.callTool({ name: 'secure__echo', arguments: { text: 'after refresh' } });

    const secrets = [
      redirect.searchParams.get('code'),
      redirect.searchParams.get('state'),
      as.lastRefreshToken,
      ...mcp.seen.tokens,
    ].filter((s): s is string => typeof s === 'string' && s.length > 0);
    assert.ok(mcp.seen.tokens.size >= 2, 'an access token before and after the refresh');
    assert.ok(
      lines.some((line) => line.includes('"path":"/oauth/callback"')),
      'the callback request is logged at debug, without its query',
    );
    for (const secret of secrets) {
      const leaked = lines.find((line) => line.includes(secret));
      assert.equal(leaked, undefined, `a log line contains a secret: ${leaked?.slice(0, 200)}`);
    }
  } finally {
    await gw.close();
    await mcp.close();
    await as.close();
  }
});
