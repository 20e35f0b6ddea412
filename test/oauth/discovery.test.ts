import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';

import { startAuthServer } from '../fixtures/oidc-provider.js';
import { startProtectedMcp } from '../fixtures/protected-mcp.js';
import {
  REDIRECT_URI,
  authorizationUrlOf,
  authorizeOnFirstContact,
  connect,
  createEngine,
  rejectsWith,
  textOf,
} from './harness.js';
import { asMetadata, json, startTinyServer } from './tiny-server.js';

/** A pass-through fetch that records the URLs it was asked for (not a mock: it calls the real fetch). */
function recordingFetch(): { fetch: typeof fetch; urls: string[] } {
  const urls: string[] = [];
  return {
    urls,
    fetch: (input, init) => {
      urls.push(input instanceof Request ? input.url : String(input));
      return fetch(input, init);
    },
  };
}

describe('discovery and client choice against real servers', () => {
  const closers: Array<() => Promise<void>> = [];
  after(async () => {
    for (const close of closers.reverse()) await close();
  });

  test('a pre-registered confidential client on a server without a registration endpoint', async () => {
    const as = await startAuthServer({
      registration: false,
      staticClient: {
        clientId: 'gatehouse',
        clientSecret: 'configured-secret',
        redirectUris: [REDIRECT_URI],
      },
    });
    const mcp = await startProtectedMcp({ authServer: as });
    closers.push(as.close, mcp.close);
    const engine = createEngine({
      serverUrl: mcp.url,
      settings: { clientId: 'gatehouse', clientSecret: 'configured-secret' },
    });
    await engine.init();
    await authorizeOnFirstContact(engine, mcp.url);
    const client = await connect(engine, mcp.url);
    assert.equal(
      textOf(await client.callTool({ name: 'echo', arguments: { text: 'static' } })),
      'echo: static',
    );
    await client.close();
    assert.deepEqual(engine.status().client, { method: 'static', issuer: as.issuer });
    assert.equal(as.counts.registrations, 0);
    assert.equal(as.counts.codeExchanges, 1);
    engine.close();
  });

  test('without a registration endpoint or configured client: OAUTH_NO_CLIENT names oauth.clientId', async () => {
    const as = await startAuthServer({ registration: false });
    const mcp = await startProtectedMcp({ authServer: as });
    closers.push(as.close, mcp.close);
    const engine = createEngine({ serverUrl: mcp.url });
    await engine.init();
    const err = await rejectsWith(connect(engine, mcp.url), 'UPSTREAM_AUTH_REQUIRED');
    assert.equal(err.details?.code, 'OAUTH_NO_CLIENT');
    const stage = engine.stage;
    assert.equal(stage.kind, 'failed');
    assert.ok(
      stage.kind === 'failed' && stage.code === 'OAUTH_NO_CLIENT' && stage.message.includes('oauth.clientId'),
    );
    engine.close();
  });

  test('an issuer with a path whose metadata exists only at the OIDC path-appended URL', async () => {
    const as = await startAuthServer({ issuerPath: '/tenant1' });
    const mcp = await startProtectedMcp({ authServer: as });
    closers.push(as.close, mcp.close);
    const recorder = recordingFetch();
    const engine = createEngine({ serverUrl: mcp.url, fetch: recorder.fetch });
    await engine.init();
    await authorizeOnFirstContact(engine, mcp.url);
    const client = await connect(engine, mcp.url);
    assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { text: 'path' } })), 'echo: path');
    await client.close();
    const metadataUrls = recorder.urls.filter((u) => u.includes('/.well-known/') && u.startsWith(as.origin));
    assert.deepEqual(metadataUrls, [
      `${as.origin}/.well-known/oauth-authorization-server/tenant1`,
      `${as.origin}/.well-known/openid-configuration/tenant1`,
      `${as.origin}/tenant1/.well-known/openid-configuration`,
    ]);
    assert.equal(engine.status().client?.issuer, `${as.origin}/tenant1`);
    engine.close();
  });

  test('without resource_metadata in the challenge, the path-inserted well-known URL is used', async () => {
    const as = await startAuthServer();
    const mcp = await startProtectedMcp({ authServer: as, omitResourceMetadata: true });
    closers.push(as.close, mcp.close);
    const recorder = recordingFetch();
    const engine = createEngine({ serverUrl: mcp.url, fetch: recorder.fetch });
    await engine.init();
    await rejectsWith(connect(engine, mcp.url), 'UPSTREAM_AUTH_REQUIRED');
    assert.ok(recorder.urls.includes(mcp.metadataUrl));
    engine.close();
  });

  test('a server without any metadata gets the 2025-03-26 default endpoints at its origin', async () => {
    const upstream = await startTinyServer(() => ({
      '/mcp': (_req, res) => void res.writeHead(401).end(),
      '/register': json({ client_id: 'legacy-client', token_endpoint_auth_method: 'none' }, 201),
    }));
    closers.push(upstream.close);
    const engine = createEngine({ serverUrl: `${upstream.origin}/mcp` });
    await engine.init();
    const err = await rejectsWith(connect(engine, `${upstream.origin}/mcp`), 'UPSTREAM_AUTH_REQUIRED');
    const url = new URL(authorizationUrlOf(err));
    assert.equal(`${url.origin}${url.pathname}`, `${upstream.origin}/authorize`);
    assert.equal(url.searchParams.get('client_id'), 'legacy-client');
    assert.equal(url.searchParams.get('resource'), `${upstream.origin}/mcp`);
    engine.close();
  });

  test('a legacy as_uri hint names the authorization server when there is no resource metadata', async () => {
    const as = await startTinyServer((origin) => ({
      '/.well-known/oauth-authorization-server': json(
        asMetadata(origin, { registration_endpoint: `${origin}/reg` }),
      ),
      '/reg': json({ client_id: 'hinted-client' }, 201),
    }));
    const upstream = await startTinyServer(() => ({
      '/mcp': (_req, res) =>
        void res.writeHead(401, { 'www-authenticate': `Bearer realm="mcp", as_uri="${as.origin}"` }).end(),
    }));
    closers.push(as.close, upstream.close);
    const engine = createEngine({ serverUrl: `${upstream.origin}/mcp` });
    await engine.init();
    const err = await rejectsWith(connect(engine, `${upstream.origin}/mcp`), 'UPSTREAM_AUTH_REQUIRED');
    assert.ok(authorizationUrlOf(err).startsWith(`${as.origin}/authorize?`));
    engine.close();
  });

  test('a Client ID Metadata Document URL is the client_id when the server supports CIMD', async () => {
    const as = await startTinyServer((origin) => ({
      '/.well-known/oauth-authorization-server': json(
        asMetadata(origin, { client_id_metadata_document_supported: true }),
      ),
    }));
    const mcp = await startProtectedMcp({ authServer: { issuer: as.origin, jwksUri: `${as.origin}/jwks` } });
    closers.push(as.close, mcp.close);
    const cimd = 'https://gatehouse.example/oauth/client.json';
    const engine = createEngine({ serverUrl: mcp.url, settings: { clientMetadataUrl: cimd } });
    await engine.init();
    const { authorizationUrl } = await engine.startAuthorization();
    assert.equal(new URL(authorizationUrl).searchParams.get('client_id'), cimd);
    assert.deepEqual(engine.status().client, { method: 'cimd', issuer: as.origin });
    engine.close();
  });

  test('explicit endpoints in the settings skip discovery', async () => {
    const recorder = recordingFetch();
    const engine = createEngine({
      serverUrl: 'https://mcp.example.com/mcp',
      fetch: recorder.fetch,
      settings: {
        clientId: 'configured',
        authorizationEndpoint: 'https://login.example.com/oauth2/authorize',
        tokenEndpoint: 'https://login.example.com/oauth2/token',
        scopes: ['files:read'],
      },
    });
    await engine.init();
    const { authorizationUrl } = await engine.startAuthorization();
    const url = new URL(authorizationUrl);
    assert.equal(`${url.origin}${url.pathname}`, 'https://login.example.com/oauth2/authorize');
    assert.equal(url.searchParams.get('scope'), 'files:read');
    assert.equal(url.searchParams.get('resource'), 'https://mcp.example.com/mcp');
    assert.deepEqual(recorder.urls, []);
    engine.close();
  });
});
