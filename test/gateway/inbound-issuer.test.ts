/**
 * External-issuer mode (issue 13): `inboundAuth.oauth.issuer` names an existing authorization
 * server (here a real oidc-provider minting RFC 9068 JWT access tokens with resource indicators);
 * its tokens for Gatehouse's audience are accepted with their scopes, others are refused with 401
 * and `error="invalid_token"`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  FAST_TIMEOUTS,
  initializeWith,
  startGateway,
  textOf,
  waitUntil,
  type TestGateway,
} from '../fixtures/gateway.js';
import { startHttpUpstream, type HttpUpstream } from '../fixtures/mcp-upstream.js';
import { completeAuthorization, startAuthServer, type AuthServer } from '../fixtures/oidc-provider.js';

const REDIRECT = 'http://127.0.0.1:9/callback';

/** Gets an access token from the fixture for `resource` with `scope` (authorization code + PKCE). */
async function tokenFor(as: AuthServer, resource: string, scope: string): Promise<string> {
  const verifier = randomBytes(32).toString('base64url');
  const url = new URL(`${as.issuer}/auth`);
  url.search = new URLSearchParams({
    client_id: 'company-agent',
    response_type: 'code',
    redirect_uri: REDIRECT,
    scope,
    resource,
    state: 'x',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  const redirect = await completeAuthorization(url.href);
  const code = redirect.searchParams.get('code');
  assert.ok(code, redirect.href);
  const response = await fetch(`${as.issuer}/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT,
      code_verifier: verifier,
      client_id: 'company-agent',
      resource,
    }),
  });
  const body = (await response.json()) as { access_token?: string };
  assert.ok(body.access_token, JSON.stringify(body));
  return body.access_token;
}

const call = (gw: TestGateway, token: string) => initializeWith(`${gw.base}/mcp`, token);

describe('tokens of an external issuer', () => {
  let as: AuthServer;
  let shortLived: AuthServer;
  let alpha: HttpUpstream;
  let beta: HttpUpstream;
  let gw: TestGateway;

  before(async () => {
    const client = { clientId: 'company-agent', redirectUris: [REDIRECT] };
    as = await startAuthServer({ staticClient: client, resourceScopes: ['mcp:server:alpha'] });
    shortLived = await startAuthServer({
      staticClient: client,
      resourceScopes: ['mcp:all'],
      accessTokenTtl: 5,
    });
    alpha = await startHttpUpstream('alpha');
    beta = await startHttpUpstream('beta');
    gw = await startGateway({
      mcpServers: {
        alpha: { type: 'streamable-http', url: alpha.url },
        beta: { type: 'streamable-http', url: beta.url },
      },
      systemConfig: { timeouts: FAST_TIMEOUTS, inboundAuth: { oauth: { issuer: as.issuer } } },
    });
    await gw.waitForServer('alpha', (s) => s.status === 'connected');
    await gw.waitForServer('beta', (s) => s.status === 'connected');
  });
  after(async () => {
    await gw?.close();
    await as?.close();
    await shortLived?.close();
    await alpha?.stop();
    await beta?.stop();
  });

  test("the resource metadata names the issuer; its token for Gatehouse's audience works, within its scopes", async () => {
    const metadata = (await (await fetch(`${gw.base}/.well-known/oauth-protected-resource/mcp`)).json()) as {
      authorization_servers: string[];
    };
    assert.deepEqual(metadata.authorization_servers, [as.issuer]);

    const token = await tokenFor(as, `${gw.base}/mcp`, 'mcp:server:alpha');
    assert.equal(token.split('.').length, 3, 'a JWT');
    const client = new Client({ name: 'agent', version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${gw.base}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    const names = (await client.listTools()).tools.map((t) => t.name);
    assert.ok(names.length > 0 && names.every((n) => n.startsWith('alpha__')), names.join());
    assert.equal(textOf(await client.callTool({ name: 'alpha__whoami' })), 'alpha');
    await client.close();
  });

  test('a token for another audience, with a bad signature or a changed payload, or of another issuer is refused', async () => {
    const refusedWith = async (token: string, what: string) => {
      const response = await call(gw, token);
      assert.equal(response.status, 401, what);
      assert.match(response.headers.get('www-authenticate') ?? '', /^Bearer error="invalid_token"/, what);
      await response.body?.cancel();
    };
    await refusedWith(
      await tokenFor(as, 'https://other.example/mcp', 'mcp:server:alpha'),
      'another audience',
    );

    const good = await tokenFor(as, `${gw.base}/mcp`, 'mcp:server:alpha');
    const [header, payload, signature] = good.split('.') as [string, string, string];
    const flipped = `${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`;
    await refusedWith(`${header}.${payload}.${flipped}`, 'a bad signature');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const widened = Buffer.from(JSON.stringify({ ...claims, scope: 'mcp:all' })).toString('base64url');
    await refusedWith(`${header}.${widened}.${signature}`, 'a payload changed after signing');

    // Signed by another issuer (a server Gatehouse does not trust), for the right audience.
    await refusedWith(await tokenFor(shortLived, `${gw.base}/mcp`, 'mcp:all'), 'another issuer');
  });

  test('an expired token is refused', async () => {
    // An issuer of 5-second tokens, and a gateway that trusts it.
    const trusting = await startGateway({
      mcpServers: { alpha: { type: 'streamable-http', url: alpha.url } },
      systemConfig: { timeouts: FAST_TIMEOUTS, inboundAuth: { oauth: { issuer: shortLived.issuer } } },
    });
    try {
      const token = await tokenFor(shortLived, `${trusting.base}/mcp`, 'mcp:all');
      const first = await call(trusting, token);
      assert.equal(first.status, 200, 'accepted while fresh');
      await first.body?.cancel();
      await waitUntil(async () => {
        const response = await call(trusting, token);
        await response.body?.cancel();
        return response.status === 401;
      }, 'the expired token to be refused');
    } finally {
      await trusting.close();
    }
  });
});
