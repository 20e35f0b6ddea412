/**
 * Servers that bend the RFCs the way real ones (and the MCP conformance suite's mocks) do: a
 * registration without `client_secret_expires_at`, token endpoints that never decode Basic
 * credentials, and 2025-03-26 servers whose metadata at the origin names an issuer with a path.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';

import { basicCredentials } from '../../server/oauth/client-auth.js';
import { withSecretExpiry } from '../../server/oauth/registration.js';
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
import { asMetadata, json, startTinyServer, type Route } from './tiny-server.js';

const decodeBasic = (header: string | undefined) =>
  Buffer.from((header ?? '').replace(/^Basic /, ''), 'base64').toString('utf8');

describe('client_secret_basic credentials', () => {
  test('ids and secrets of unreserved characters go out raw, as servers that never decode expect', () => {
    assert.equal(
      decodeBasic(basicCredentials('pre-registered-client', 'a_b.c~d-9')),
      'pre-registered-client:a_b.c~d-9',
    );
  });
  test('anything else is percent-encoded (RFC 6749 §2.3.1), a space as %20', () => {
    assert.equal(
      decodeBasic(basicCredentials('id:1', "s+/= %!*'()é")),
      'id%3A1:s%2B%2F%3D%20%25%21%2A%27%28%29%C3%A9',
    );
  });
});

describe('a registration response without client_secret_expires_at', () => {
  const registered = () =>
    new Response(JSON.stringify({ client_id: 'c', client_secret: 's' }), {
      status: 201,
      headers: { 'content-type': 'application/json' },
    });
  test('reads as a secret that never expires (0)', async () => {
    assert.deepEqual(await (await withSecretExpiry(registered())).json(), {
      client_id: 'c',
      client_secret: 's',
      client_secret_expires_at: 0,
    });
  });
  test('anything else passes through untouched', async () => {
    for (const body of [
      { client_id: 'c' },
      { client_id: 'c', client_secret: 's', client_secret_expires_at: 9 },
    ]) {
      const response = new Response(JSON.stringify(body), { status: 201 });
      assert.equal(await withSecretExpiry(response), response);
    }
    const error = new Response('{"error":"invalid_client_metadata"}', { status: 400 });
    assert.equal(await withSecretExpiry(error), error);
  });
});

describe('lenient servers, end to end', () => {
  const closers: Array<() => Promise<void>> = [];
  after(async () => {
    for (const close of closers.reverse()) await close();
  });

  /** An MCP endpoint that answers 401 (with `challenge`) and the resource metadata naming `issuer`. */
  async function protectedUpstream(issuer: string | undefined, challenge = '') {
    const routes = (origin: string): Record<string, Route> => ({
      '/mcp': (_req, res) =>
        void res.writeHead(401, { 'www-authenticate': `Bearer ${challenge}`.trim() }).end(),
      ...(issuer
        ? {
            '/.well-known/oauth-protected-resource/mcp': json({
              resource: `${origin}/mcp`,
              authorization_servers: [issuer],
            }),
          }
        : {}),
    });
    const upstream = await startTinyServer(routes);
    closers.push(upstream.close);
    return upstream;
  }

  test('a dynamically registered secret without expiry is used, raw, at the token endpoint', async () => {
    const seen: { authorization?: string | undefined } = {};
    const as = await startTinyServer((origin) => ({
      '/.well-known/oauth-authorization-server': json(
        asMetadata(origin, {
          registration_endpoint: `${origin}/register`,
          token_endpoint_auth_methods_supported: ['client_secret_basic'],
        }),
      ),
      // RFC 7591 says client_secret_expires_at is REQUIRED with a secret; this server leaves it out.
      '/register': json({ client_id: 'dyn-client_1.x~', client_secret: 'dyn-secret' }, 201),
      '/token': (req, res) => {
        seen.authorization = req.headers.authorization;
        json({ access_token: 'opaque', token_type: 'Bearer', expires_in: 3600 })(req, res, origin);
      },
    }));
    closers.push(as.close);
    const upstream = await protectedUpstream(as.origin);
    const engine = createEngine({ serverUrl: `${upstream.origin}/mcp` });
    await engine.init();
    const { authorizationUrl } = await engine.startAuthorization();
    const url = new URL(authorizationUrl);
    assert.equal(url.searchParams.get('client_id'), 'dyn-client_1.x~');
    await engine.handleCallback(
      new URLSearchParams({ code: 'code', state: url.searchParams.get('state') ?? '' }),
    );
    assert.equal(engine.stage.kind, 'authorized');
    assert.equal(decodeBasic(seen.authorization), 'dyn-client_1.x~:dyn-secret');
    // The secret never expires: a new authorization reuses the registration.
    await engine.startAuthorization();
    assert.equal(as.requests.filter((p) => p === '/register').length, 1);
    engine.close();
  });

  test('a static secret with reserved characters still works with a server that decodes (oidc-provider)', async () => {
    const clientId = 'gatehouse-static.client_1~';
    const clientSecret = "p+ss/word=with:reserved chars!*'()";
    const as = await startAuthServer({
      registration: false,
      staticClient: { clientId, clientSecret, redirectUris: [REDIRECT_URI] },
    });
    const mcp = await startProtectedMcp({ authServer: as });
    closers.push(as.close, mcp.close);
    const engine = createEngine({ serverUrl: mcp.url, settings: { clientId, clientSecret } });
    await engine.init();
    await authorizeOnFirstContact(engine, mcp.url);
    const client = await connect(engine, mcp.url);
    assert.equal(
      textOf(await client.callTool({ name: 'echo', arguments: { text: 'basic' } })),
      'echo: basic',
    );
    await client.close();
    assert.equal(as.counts.codeExchanges, 1);
    engine.close();
  });

  test('2025-03-26: metadata at the origin may name an issuer with a path; its endpoints are used', async () => {
    const upstream = await startTinyServer((origin) => ({
      '/mcp': (_req, res) => void res.writeHead(401).end(),
      '/.well-known/oauth-authorization-server': json(
        asMetadata(`${origin}/oauth`, { registration_endpoint: `${origin}/oauth/register` }),
      ),
      '/oauth/register': json({ client_id: 'legacy-client', token_endpoint_auth_method: 'none' }, 201),
    }));
    closers.push(upstream.close);
    const engine = createEngine({ serverUrl: `${upstream.origin}/mcp` });
    await engine.init();
    const err = await rejectsWith(connect(engine, `${upstream.origin}/mcp`), 'UPSTREAM_AUTH_REQUIRED');
    const url = new URL(authorizationUrlOf(err));
    assert.equal(`${url.origin}${url.pathname}`, `${upstream.origin}/oauth/authorize`);
    assert.equal(url.searchParams.get('client_id'), 'legacy-client');
    assert.deepEqual(engine.status().client, { method: 'dynamic', issuer: `${upstream.origin}/oauth` });
    engine.close();
  });

  test('an issuer someone named (an as_uri hint) must still match its metadata (RFC 8414 §3.3)', async () => {
    const as = await startTinyServer((origin) => ({
      '/.well-known/oauth-authorization-server': json(asMetadata(`${origin}/elsewhere`)),
    }));
    closers.push(as.close);
    const upstream = await protectedUpstream(undefined, `as_uri="${as.origin}"`);
    const engine = createEngine({ serverUrl: `${upstream.origin}/mcp` });
    await engine.init();
    const err = await rejectsWith(connect(engine, `${upstream.origin}/mcp`), 'UPSTREAM_AUTH_REQUIRED');
    assert.equal(err.details?.code, 'OAUTH_ISSUER_MISMATCH');
    engine.close();
  });
});
