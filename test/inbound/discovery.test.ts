/**
 * Gatehouse's own authorization server announces itself where MCP clients look: RFC 8414 with the
 * issuer's path inserted, OpenID discovery below the issuer, and every other URL the MCP SDK tries
 * for an issuer with a path. Registration is announced only when dynamic registration is on.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildDiscoveryUrls } from '@modelcontextprotocol/sdk/client/auth.js';
import { startGateway, type TestGateway } from '../fixtures/gateway.js';

const SETTINGS = (oauth: Record<string, unknown>) => ({
  mcpServers: { off: { command: 'never-started', enabled: false } },
  systemConfig: { inboundAuth: { oauth: { enabled: true, ...oauth } } },
});

describe('authorization server metadata', () => {
  let gw: TestGateway;
  let base: string;
  before(async () => {
    gw = await startGateway(SETTINGS({}));
    base = gw.base.replace('127.0.0.1', 'localhost');
  });
  after(() => gw.close());

  test('RFC 8414 path-inserted URL and OpenID discovery answer the same issuer and endpoints', async () => {
    const issuer = `${base}/oauth2`;
    for (const path of [
      '/.well-known/oauth-authorization-server/oauth2',
      '/oauth2/.well-known/openid-configuration',
    ]) {
      const response = await fetch(`${gw.base}${path}`);
      assert.equal(response.status, 200, path);
      const metadata = (await response.json()) as Record<string, unknown>;
      assert.equal(metadata.issuer, issuer, path);
      assert.equal(metadata.authorization_endpoint, `${issuer}/auth`);
      assert.equal(metadata.token_endpoint, `${issuer}/token`);
      assert.equal(metadata.revocation_endpoint, `${issuer}/token/revocation`);
      assert.equal(metadata.registration_endpoint, `${issuer}/reg`);
      assert.deepEqual(metadata.code_challenge_methods_supported, ['S256']);
      assert.equal(metadata.authorization_response_iss_parameter_supported, true);
      assert.equal(metadata.client_id_metadata_document_supported, true);
      assert.deepEqual(metadata.response_types_supported, ['code']);
      assert.ok((metadata.grant_types_supported as string[]).includes('refresh_token'));
    }
  });

  test('every URL the MCP SDK tries for the issuer answers the metadata', async () => {
    const urls = buildDiscoveryUrls(`${gw.base}/oauth2`);
    assert.ok(urls.length >= 3);
    for (const { url } of urls) {
      const response = await fetch(url);
      assert.equal(response.status, 200, url.href);
      assert.equal(((await response.json()) as { issuer: string }).issuer, `${base}/oauth2`);
    }
  });

  test('CORS answers go only to the origin of a client’s redirect URI (browser-based clients)', async () => {
    const registration = await fetch(`${gw.base}/oauth2/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        redirect_uris: ['http://127.0.0.1:47123/callback'],
        token_endpoint_auth_method: 'none',
      }),
    });
    const { client_id } = (await registration.json()) as { client_id: string };
    const allowOrigin = async (origin: string) => {
      const response = await fetch(`${gw.base}/oauth2/token`, {
        method: 'POST',
        headers: { origin },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'unknown', client_id }),
      });
      await response.body?.cancel();
      return response.headers.get('access-control-allow-origin');
    };
    assert.equal(await allowOrigin('http://127.0.0.1:47123'), 'http://127.0.0.1:47123');
    assert.equal(await allowOrigin('https://evil.example'), null);
  });

  test('the issuer follows systemConfig.baseUrl, trailing slashes stripped', async () => {
    const settings = SETTINGS({});
    const other = await startGateway({
      ...settings,
      systemConfig: { ...settings.systemConfig, baseUrl: 'https://gatehouse.example.com/' },
    });
    try {
      const metadata = (await (
        await fetch(`${other.base}/.well-known/oauth-authorization-server/oauth2`, {
          headers: { host: 'evil.example', 'x-forwarded-host': 'evil.example' },
        })
      ).json()) as Record<string, string>;
      assert.equal(metadata.issuer, 'https://gatehouse.example.com/oauth2');
      assert.equal(metadata.token_endpoint, 'https://gatehouse.example.com/oauth2/token');
    } finally {
      await other.close();
    }
  });
});

describe('without dynamic registration', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway(SETTINGS({ dynamicRegistration: false }));
  });
  after(() => gw.close());

  test('the metadata has no registration endpoint and the endpoint does not exist', async () => {
    const metadata = (await (
      await fetch(`${gw.base}/.well-known/oauth-authorization-server/oauth2`)
    ).json()) as Record<string, unknown>;
    assert.equal(metadata.registration_endpoint, undefined);
    const response = await fetch(`${gw.base}/oauth2/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: ['http://127.0.0.1:1/cb'] }),
    });
    assert.equal(response.status, 404);
  });
});
