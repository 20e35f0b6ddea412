/**
 * The MCP SDK's client signs in at Gatehouse's own authorization server, with dynamic registration
 * and with a Client ID Metadata Document, the person's sign-in and consent played with fetch; then
 * the token works on /mcp, refresh tokens rotate, and revocation (RFC 7009, or the admin's
 * DELETE /api/clients/:grantId) makes the token fail at once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startHttpUpstream, type HttpUpstream } from '../fixtures/mcp-upstream.js';
import { initializeStatus, startGateway, waitUntil, type TestGateway } from '../fixtures/gateway.js';
import {
  actAsPerson,
  fetchTrusting,
  MemoryClientProvider,
  REDIRECT_URI,
  sdkSignIn,
  startCimdHost,
  type CimdHost,
} from './oauth-client.js';

describe('the MCP SDK client at Gatehouse’s own authorization server', () => {
  let gw: TestGateway;
  let upstream: HttpUpstream;
  let cimd: CimdHost;
  let issuer: string;
  // Without baseUrl, Gatehouse names itself http://localhost:<port>: the resource the SDK checks.
  const mcp = () => `${gw.base.replace('127.0.0.1', 'localhost')}/mcp`;

  before(async () => {
    upstream = await startHttpUpstream('alpha');
    cimd = await startCimdHost((url) => ({
      client_id: url,
      client_name: 'Metadata document client',
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    }));
    gw = await startGateway(
      {
        mcpServers: { alpha: { type: 'streamable-http', url: upstream.url } },
        systemConfig: {
          inboundAuth: { oauth: { enabled: true } },
          // The CIMD host is on loopback: the SSRF guard lets it through only because it is named.
          allowedPrivateHosts: ['127.0.0.1'],
        },
      },
      { fetch: fetchTrusting(cimd.ca) },
    );
    issuer = `${gw.base.replace('127.0.0.1', 'localhost')}/oauth2`;
    await gw.waitForServer('alpha', (s) => s.status === 'connected');
  });
  after(async () => {
    await gw.close();
    await upstream.stop();
    await cimd.close();
  });

  const mcpStatus = (token: string) => initializeStatus(mcp(), token);

  const tokenRequest = (params: Record<string, string>) =>
    fetch(`${gw.base}/oauth2/token`, { method: 'POST', body: new URLSearchParams(params) });

  test('dynamic registration: access and refresh tokens, iss in the redirect, the token works on /mcp', async () => {
    const { provider, redirect } = await sdkSignIn(mcp(), new MemoryClientProvider());
    assert.match(provider.client?.client_id ?? '', /.+/);
    assert.equal(redirect.searchParams.get('iss'), issuer, 'RFC 9207');
    assert.equal(provider.saved?.token_type, 'Bearer');
    assert.ok(provider.saved?.access_token);
    assert.ok(provider.saved?.refresh_token, 'the SDK client gets a refresh token');
    assert.equal(await mcpStatus(provider.saved.access_token), 200);
    assert.equal(await mcpStatus('not-a-token'), 401);
  });

  test('refresh tokens rotate: the old one is refused after use', async () => {
    const { provider } = await sdkSignIn(mcp(), new MemoryClientProvider());
    const clientId = provider.client!.client_id;
    const old = provider.saved!.refresh_token!;
    const first = await tokenRequest({
      grant_type: 'refresh_token',
      refresh_token: old,
      client_id: clientId,
    });
    assert.equal(first.status, 200);
    const rotated = (await first.json()) as { access_token: string; refresh_token: string };
    assert.ok(rotated.refresh_token);
    assert.notEqual(rotated.refresh_token, old);
    assert.equal(await mcpStatus(rotated.access_token), 200);
    const replay = await tokenRequest({
      grant_type: 'refresh_token',
      refresh_token: old,
      client_id: clientId,
    });
    assert.equal(replay.status, 400);
    assert.equal(((await replay.json()) as { error: string }).error, 'invalid_grant');
  });

  test('revocation (RFC 7009): the access token is refused at once', async () => {
    const { provider } = await sdkSignIn(mcp(), new MemoryClientProvider());
    const token = provider.saved!.access_token;
    assert.equal(await mcpStatus(token), 200);
    const revoked = await fetch(`${gw.base}/oauth2/token/revocation`, {
      method: 'POST',
      body: new URLSearchParams({
        token,
        token_type_hint: 'access_token',
        client_id: provider.client!.client_id,
      }),
    });
    assert.equal(revoked.status, 200);
    assert.equal(await mcpStatus(token), 401);
  });

  test('Client ID Metadata Document: the client_id is the document’s URL, fetched through the guard', async () => {
    const provider = new MemoryClientProvider({ clientMetadataUrl: cimd.url });
    const { pages } = await sdkSignIn(mcp(), provider);
    assert.equal(provider.client?.client_id, cimd.url);
    assert.ok(cimd.fetches >= 1);
    const consent = pages.find((p) => p.html.includes('Allow access?'));
    assert.ok(consent, 'a consent page was shown');
    assert.match(consent.html, /Metadata document client/);
    assert.ok(provider.saved?.refresh_token);
    assert.equal(await mcpStatus(provider.saved.access_token), 200);
  });

  test('GET /api/clients lists the grant; DELETE revokes it and its token at once', async () => {
    const { provider } = await sdkSignIn(mcp(), new MemoryClientProvider({ name: 'Listed client' }));
    const token = provider.saved!.access_token;
    assert.equal(await mcpStatus(token), 200);
    const list = (await (await gw.api('/api/clients')).json()) as {
      clients: {
        grantId: string;
        clientId: string;
        clientName?: string;
        redirectHost?: string;
        subject: string;
        scopes: string[];
      }[];
    };
    const entry = list.clients.find((c) => c.clientId === provider.client!.client_id);
    assert.ok(entry, 'the grant is listed');
    assert.equal(entry.clientName, 'Listed client');
    assert.equal(entry.redirectHost, new URL(REDIRECT_URI).host);
    assert.equal(entry.subject, 'admin');
    assert.ok(entry.scopes.includes('mcp:all'), JSON.stringify(entry.scopes));
    assert.ok(!JSON.stringify(list).includes(token), 'never a token');
    const deleted = await gw.api(`/api/clients/${entry.grantId}`, { method: 'DELETE' });
    assert.equal(deleted.status, 204);
    assert.equal(await mcpStatus(token), 401);
    const refresh = await tokenRequest({
      grant_type: 'refresh_token',
      refresh_token: provider.saved!.refresh_token!,
      client_id: provider.client!.client_id,
    });
    assert.equal(refresh.status, 400, 'the refresh token went with the grant');
    assert.equal((await gw.api(`/api/clients/${entry.grantId}`, { method: 'DELETE' })).status, 404);
  });

  test('end to end: 401 → discovery → registration → consent → token → tools/call; the SDK refreshes on a 401 (rotation); revocation → 401 and a new consent', async () => {
    const provider = new MemoryClientProvider({ name: 'End-to-end client' });
    const connect = async () => {
      const client = new Client({ name: 'e2e', version: '1.0.0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(mcp()), { authProvider: provider }));
      return client;
    };
    await assert.rejects(connect(), UnauthorizedError);
    assert.ok(provider.authorizationUrl, 'the 401 led the SDK to an authorization URL');
    const { redirect } = await actAsPerson(provider.authorizationUrl.href);
    const transport = new StreamableHTTPClientTransport(new URL(mcp()), { authProvider: provider });
    await transport.finishAuth(redirect.searchParams.get('code')!);
    const client = await connect();
    try {
      const echoed = await client.callTool({ name: 'alpha__echo', arguments: { text: 'hi' } });
      assert.deepEqual(echoed.content, [{ type: 'text', text: 'alpha:hi' }]);

      // A token Gatehouse does not know (as an expired one): the SDK's 401 handling refreshes,
      // and the refresh token rotates.
      const before = provider.saved!;
      provider.saved = { ...before, access_token: 'no-longer-valid' };
      const again = await connect();
      const whoami = await again.callTool({ name: 'alpha__whoami', arguments: {} });
      assert.deepEqual(whoami.content, [{ type: 'text', text: 'alpha' }]);
      assert.notEqual(provider.saved.access_token, before.access_token);
      assert.notEqual(provider.saved.refresh_token, before.refresh_token, 'rotated');
      await again.close();

      // RFC 7009: revoking the access token ends every token of its grant (oidc-provider revokes
      // them together): /mcp answers 401 and the SDK has to ask the person again.
      const current = provider.saved;
      const revoked = await fetch(`${gw.base}/oauth2/token/revocation`, {
        method: 'POST',
        body: new URLSearchParams({ token: current.access_token, client_id: provider.client!.client_id }),
      });
      assert.equal(revoked.status, 200);
      assert.equal(await mcpStatus(current.access_token), 401);
      provider.authorizationUrl = undefined;
      await assert.rejects(connect(), UnauthorizedError);
      assert.ok(provider.authorizationUrl, 'the client has to ask the person again');
    } finally {
      await client.close();
    }
  });

  test('a settings edit (a new group, hence new scopes) keeps issued tokens valid and offers the new scope', async () => {
    const { provider } = await sdkSignIn(mcp(), new MemoryClientProvider());
    const settings = await gw.readSettings();
    await gw.writeSettings({ ...settings, groups: { later: { servers: ['alpha'] } } });
    await waitUntil(
      () => gw.store.current.groups.has('later'),
      () => 'the group applied',
    );
    assert.equal(await mcpStatus(provider.saved!.access_token), 200);
    const metadata = (await (await fetch(`${gw.base}/oauth2/.well-known/openid-configuration`)).json()) as {
      scopes_supported: string[];
    };
    assert.ok(
      metadata.scopes_supported.includes('mcp:group:later'),
      JSON.stringify(metadata.scopes_supported),
    );
  });
});
