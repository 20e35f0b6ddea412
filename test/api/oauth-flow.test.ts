import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { FAST_TIMEOUTS, startGateway, textOf, waitUntil, type TestGateway } from '../fixtures/gateway.js';
import { completeAuthorization, startAuthServer, type AuthServer } from '../fixtures/oidc-provider.js';
import { startProtectedMcp, type ProtectedMcp } from '../fixtures/protected-mcp.js';
import { startHttpUpstream, type HttpUpstream } from '../fixtures/mcp-upstream.js';

interface AuthDetail {
  auth: {
    stage: string;
    client: { method: string; issuer: string | null } | null;
    token: { expiresAt: number | null; scopes: string[]; lastRefreshAt: number | null } | null;
    authorizationUrl?: string;
    log: Array<{ stage: string }>;
  };
}

/** Plays the person: asks the gateway for the URL, consents at the AS, delivers the callback. */
async function authorizeAndConnect(gw: TestGateway, name: string): Promise<void> {
  const res = await gw.api(`/api/servers/${name}/authorize`, { method: 'POST' });
  const { authorizationUrl } = (await res.json()) as { authorizationUrl: string };
  const redirect = await completeAuthorization(authorizationUrl);
  // The redirect names localhost; the gateway listens on 127.0.0.1.
  assert.equal((await fetch(`${gw.base}/oauth/callback${redirect.search}`)).status, 200);
  await gw.waitForServer(name, (s) => s.status === 'connected', 'connected after consent');
}

describe('authorizing an OAuth upstream through the gateway', () => {
  let as: AuthServer;
  let protectedMcp: ProtectedMcp;
  let plain: HttpUpstream;
  let gw: TestGateway;
  const settings = () => ({
    mcpServers: {
      secure: { url: protectedMcp.url },
      plain: { type: 'streamable-http', url: plain.url },
    },
    systemConfig: { timeouts: FAST_TIMEOUTS },
  });

  before(async () => {
    as = await startAuthServer();
    protectedMcp = await startProtectedMcp({ authServer: as });
    plain = await startHttpUpstream('plain');
    gw = await startGateway(settings());
  });
  after(async () => {
    await gw?.close();
    await protectedMcp?.close();
    await as?.close();
    await plain?.stop();
  });

  test('a 401 upstream waits for a person, with an authorization URL, and calls fail naming it', async () => {
    const status = await gw.waitForServer(
      'secure',
      (s) => s.status === 'auth_required' && s.auth?.stage === 'awaiting_user',
      'auth_required + awaiting_user',
    );
    assert.equal(status.error?.code, 'UPSTREAM_AUTH_REQUIRED');
    await gw.waitForServer('plain', (s) => s.status === 'connected', 'connected');
    const client = await gw.client();
    await assert.rejects(
      client.callTool({ name: 'secure__echo', arguments: { text: 'x' } }),
      (error: Error) => {
        assert.match(error.message, /"secure" needs authorization/);
        assert.match(error.message, /authorize/i);
        // Said once: no "needs authorization: server "secure" needs authorization".
        assert.equal(error.message.match(/needs authorization/g)?.length, 1, error.message);
        assert.equal(error.message.match(/secure/g)?.length, 1, error.message);
        return true;
      },
    );
    // The other upstream is not affected.
    assert.equal(
      textOf(await client.callTool({ name: 'plain__echo', arguments: { text: 'ok' } })),
      'plain:ok',
    );
  });

  test('a forged callback state is refused and changes nothing', async () => {
    const res = await fetch(
      `${gw.base}/oauth/callback?code=abc&state=forged-state&iss=${encodeURIComponent(as.issuer)}`,
    );
    assert.equal(res.status, 400);
    assert.match(await res.text(), /OAUTH_STATE_INVALID/);
    const detail = (await (await gw.api('/api/servers/secure')).json()) as AuthDetail;
    assert.equal(detail.auth.stage, 'awaiting_user');
  });

  test('authorize → consent → callback connects the upstream; the callback cannot be replayed', async () => {
    const started = await gw.api('/api/servers/secure/authorize', { method: 'POST' });
    assert.equal(started.status, 200);
    const { authorizationUrl } = (await started.json()) as { authorizationUrl: string };
    const url = new URL(authorizationUrl);
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(url.searchParams.get('resource'), protectedMcp.resource);
    assert.match(url.searchParams.get('redirect_uri') ?? '', /^http:\/\/localhost:\d+\/oauth\/callback$/);

    const redirect = await completeAuthorization(authorizationUrl);
    // The redirect names localhost; the gateway listens on 127.0.0.1.
    const callback = new URL(`${gw.base}/oauth/callback${redirect.search}`);
    const res = await fetch(callback);
    assert.equal(res.status, 200, await res.clone().text());
    assert.match(await res.text(), /You can close this window/);

    await gw.waitForServer('secure', (s) => s.status === 'connected', 'connected after consent');
    const client = await gw.client();
    assert.match(textOf(await client.callTool({ name: 'secure__echo', arguments: { text: 'hi' } })), /hi/);

    const replay = await fetch(callback);
    assert.equal(replay.status, 400, 'a used state is refused');
    assert.equal((await gw.servers()).find((s) => s.name === 'secure')?.status, 'connected');
  });

  test('the status API shows the auth stage, client and token facts, and never a token', async () => {
    const listed = (await gw.servers()).find((s) => s.name === 'secure')!;
    assert.deepEqual(listed.auth, { stage: 'authorized', label: 'Signed in' });
    const raw = await (await gw.api('/api/servers/secure')).text();
    const detail = JSON.parse(raw) as AuthDetail;
    assert.equal(detail.auth.stage, 'authorized');
    assert.equal(detail.auth.client?.method, 'dynamic');
    assert.equal(detail.auth.client?.issuer, as.issuer);
    assert.equal(typeof detail.auth.token?.expiresAt, 'number');
    assert.ok(detail.auth.log.length > 0);
    for (const token of protectedMcp.seen.tokens)
      assert.ok(!raw.includes(token), 'no access token in the API');
    assert.ok(as.lastRefreshToken && !raw.includes(as.lastRefreshToken), 'no refresh token in the API');
  });

  test('tokens are persisted in the settings file encrypted, never in plaintext', async () => {
    const text = await readFile(gw.settingsPath, 'utf8');
    const file = JSON.parse(text) as {
      mcpServers: { secure: { gatehouse?: { credentials?: Record<string, string> } } };
    };
    const blob = file.mcpServers.secure.gatehouse?.credentials?.gateway;
    assert.match(blob ?? '', /^enc:v1:/);
    for (const token of protectedMcp.seen.tokens) assert.ok(!text.includes(token));
    assert.ok(as.lastRefreshToken && !text.includes(as.lastRefreshToken));
  });

  test('a restarted gateway uses the stored tokens: no new consent, no new registration', async () => {
    const authorizations = as.counts.authorizations;
    const registrations = as.counts.registrations;
    const dir = gw.dir;
    await gw.close({ keepFiles: true });
    gw = await startGateway(null, { dir });
    await gw.waitForServer('secure', (s) => s.status === 'connected', 'connected after restart');
    const client = await gw.client();
    assert.match(
      textOf(await client.callTool({ name: 'secure__echo', arguments: { text: 'again' } })),
      /again/,
    );
    assert.equal(as.counts.authorizations, authorizations);
    assert.equal(as.counts.registrations, registrations);
  });

  test('disconnect revokes at the AS and returns the upstream to awaiting_user; others are unaffected', async () => {
    const revocations = as.counts.revocations;
    const res = await gw.api('/api/servers/secure/disconnect', { method: 'POST' });
    assert.equal(res.status, 200);
    assert.ok(as.counts.revocations > revocations);
    protectedMcp.revokeSeenTokens();
    await gw.waitForServer(
      'secure',
      (s) => s.status === 'auth_required' && s.auth?.stage === 'awaiting_user',
      'auth_required after disconnect',
    );
    const client = await gw.client();
    await waitUntil(
      async () => (await client.listTools()).tools.every((t) => !t.name.startsWith('secure__')),
      'secure tools gone',
    );
    assert.equal(
      textOf(await client.callTool({ name: 'plain__echo', arguments: { text: 'still' } })),
      'plain:still',
    );
    const text = await readFile(gw.settingsPath, 'utf8');
    for (const token of protectedMcp.seen.tokens) assert.ok(!text.includes(token));
  });

  test('authorize on a stdio or unknown server is a clear error', async () => {
    const res = await gw.api('/api/servers/nope/authorize', { method: 'POST' });
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'SERVER_NOT_FOUND');
  });
});

describe('an SSE upstream with OAuth through the gateway', () => {
  let as: AuthServer;
  let sse: ProtectedMcp;
  let gw: TestGateway;
  before(async () => {
    as = await startAuthServer();
    sse = await startProtectedMcp({ authServer: as, transport: 'sse' });
    gw = await startGateway({
      mcpServers: { legacy: { type: 'sse', url: sse.url } },
      systemConfig: { timeouts: FAST_TIMEOUTS },
    });
  });
  after(async () => {
    await gw?.close();
    await sse?.close();
    await as?.close();
  });

  test('waits in auth_required (no retry loop), then connects once authorized', async () => {
    const waiting = await gw.waitForServer('legacy', (s) => s.status === 'auth_required', 'auth_required');
    assert.equal(waiting.nextRetryAt, undefined, 'no retry is scheduled while waiting for a person');
    await authorizeAndConnect(gw, 'legacy');
    const client = await gw.client();
    assert.match(textOf(await client.callTool({ name: 'legacy__echo', arguments: { text: 'sse' } })), /sse/);
  });
});

describe('revocation at the authorization server', () => {
  let as: AuthServer;
  let one: ProtectedMcp;
  let two: ProtectedMcp;
  let gw: TestGateway;
  before(async () => {
    as = await startAuthServer({ accessTokenTtl: 600 });
    one = await startProtectedMcp({ authServer: as });
    two = await startProtectedMcp({ authServer: as });
    gw = await startGateway({
      mcpServers: { one: { url: one.url }, two: { url: two.url } },
      systemConfig: { timeouts: FAST_TIMEOUTS },
    });
    for (const name of ['one', 'two']) {
      await gw.waitForServer(name, (s) => s.auth?.stage === 'awaiting_user', 'awaiting_user');
      await authorizeAndConnect(gw, name);
    }
  });
  after(async () => {
    await gw?.close();
    await one?.close();
    await two?.close();
    await as?.close();
  });

  test('a grant revoked at the AS takes that upstream back to awaiting_user; the other keeps working', async () => {
    const client = await gw.client();
    assert.match(textOf(await client.callTool({ name: 'one__echo', arguments: { text: 'a' } })), /a/);
    // The AS revokes everything it issued for "one"'s grant, and "one" stops accepting its tokens.
    one.revokeSeenTokens();
    await as.revokeGrants();
    await assert.rejects(
      client.callTool({ name: 'one__echo', arguments: { text: 'b' } }),
      /needs authorization/,
    );
    const status = await gw.waitForServer('one', (s) => s.auth?.stage === 'awaiting_user', 'awaiting_user');
    assert.equal(status.status, 'auth_required');
    // "two" still holds a valid access token (JWTs stay valid until they expire), so it is unaffected.
    assert.match(textOf(await client.callTool({ name: 'two__echo', arguments: { text: 'c' } })), /c/);
    // Each upstream only ever saw its own tokens.
    for (const token of one.seen.tokens) assert.ok(!two.seen.tokens.has(token));
  });
});
