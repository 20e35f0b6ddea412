/**
 * Which refresh failures send a server back to a person (issue 11, item 1): only `invalid_grant`
 * and the token endpoint refusing the client's own credentials. Everything else keeps the tokens.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import type { OAuthHttp } from '../../server/oauth/http.js';
import { refreshTokens } from '../../server/oauth/tokens.js';
import type { ResolvedClient } from '../../server/oauth/registration.js';
import { GATEWAY_OWNER, MemoryCredentialStore } from '../../server/settings/credentials.js';
import { waitUntil } from '../fixtures/gateway.js';
import { startAuthServer, type AuthServer } from '../fixtures/oidc-provider.js';
import { startProtectedMcp, type ProtectedMcp } from '../fixtures/protected-mcp.js';
import { authorizeOnFirstContact, connect, createEngine, rejectsWith } from './harness.js';
import { asMetadata, json, startTinyServer, type Route, type TinyServer } from './tiny-server.js';

describe('a refresh refused by the token endpoint', () => {
  const answers: Record<string, Route> = {
    '/unavailable': json({ error: 'temporarily_unavailable' }, 503),
    '/bad-gateway': (_req, res) =>
      void res.writeHead(502, { 'content-type': 'text/html' }).end('<h1>502</h1>'),
    '/invalid-grant': json({ error: 'invalid_grant' }, 400),
    '/invalid-client': json({ error: 'invalid_client' }, 401),
    '/bare-401': (_req, res) => void res.writeHead(401).end(),
    '/invalid-request': json({ error: 'invalid_request' }, 400),
    '/garbled': (_req, res) =>
      void res.writeHead(200, { 'content-type': 'application/json' }).end('{not json'),
    '/silent': () => undefined,
  };
  let tiny: TinyServer;
  const http: OAuthHttp = { fetch, timeoutMs: 300, closed: new AbortController().signal };
  const client: ResolvedClient = {
    method: 'dynamic',
    issuer: '',
    clientId: 'gatehouse',
    clientSecret: 'secret',
    authMethod: 'client_secret_basic',
  };
  before(async () => {
    tiny = await startTinyServer(() => answers);
  });
  after(() => tiny.close());

  const refreshAt = (path: string) =>
    refreshTokens({
      http,
      metadata: asMetadata(tiny.origin, { token_endpoint: `${tiny.origin}${path}` }) as never,
      client: { ...client, issuer: tiny.origin },
      refreshToken: 'refresh-token',
      resource: null,
    });

  for (const [path, code] of [
    ['/invalid-grant', 'OAUTH_INVALID_GRANT'],
    ['/invalid-client', 'OAUTH_CLIENT_REJECTED'],
    ['/bare-401', 'OAUTH_CLIENT_REJECTED'],
    ['/unavailable', 'OAUTH_REFRESH_FAILED'],
    ['/bad-gateway', 'OAUTH_REFRESH_FAILED'],
    ['/invalid-request', 'OAUTH_REFRESH_FAILED'],
    ['/garbled', 'OAUTH_REFRESH_FAILED'],
    ['/silent', 'OAUTH_TIMEOUT'],
  ] as const) {
    test(`${path.slice(1)} → ${code}`, async () => {
      const err = await rejectsWith(refreshAt(path), code);
      assert.doesNotMatch(err.message, /refresh-token|secret/);
    });
  }
});

describe('the token endpoint refusing a registered client on refresh', () => {
  let as: AuthServer;
  let mcp: ProtectedMcp;
  before(async () => {
    as = await startAuthServer({ accessTokenTtl: 2 });
    mcp = await startProtectedMcp({ authServer: as });
  });
  after(async () => {
    await mcp.close();
    await as.close();
  });

  test('goes back to a person with a new registration; the old client and tokens are forgotten', async () => {
    const store = new MemoryCredentialStore();
    const engine = createEngine({ serverUrl: mcp.url, store });
    await engine.init();
    await authorizeOnFirstContact(engine, mcp.url);
    const key = { server: 'upstream', owner: GATEWAY_OWNER };
    const record = (await store.get(key))!;
    const registered = record.client as { clientId: string; clientSecret: string };
    // The authorization server no longer knows this secret (the client was rotated or deleted there).
    await store.put(key, { ...record, client: { ...registered, clientSecret: 'not-the-secret' } });
    const restarted = createEngine({ serverUrl: mcp.url, store });
    await restarted.init();
    const registrations = as.counts.registrations;

    // Once the 2 s token has expired, the refresh gets 401 invalid_client.
    const expiresAt = restarted.status().token?.expiresAt ?? 0;
    await waitUntil(() => Date.now() > expiresAt, 'the access token to expire');
    const err = await rejectsWith(connect(restarted, mcp.url), 'UPSTREAM_AUTH_REQUIRED');
    assert.ok(err.details?.authorizationUrl, 'a new authorization URL is handed out');
    assert.equal(restarted.stage.kind, 'awaiting_user');
    assert.equal(restarted.status().token, null);
    assert.equal(as.counts.registrations, registrations + 1, 'a new client was registered');
    const after = (await store.get(key))!.client as { clientId: string };
    assert.notEqual(after.clientId, registered.clientId);
    engine.close();
    restarted.close();
  });
});
