/**
 * What Gatehouse's own authorization server refuses, and the person's side of it: PKCE `plain`, an
 * unregistered redirect URI (a loopback one may change its port, RFC 8252 §7.3), a resource that is
 * not Gatehouse's (RFC 8707), registration without the initial access token or too fast; the
 * sign-in page refusing a wrong admin token, the consent page's content, Deny → access_denied.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ADMIN_TOKEN, startGateway, type TestGateway } from '../fixtures/gateway.js';
import {
  actAsPerson,
  fetchTrusting,
  REDIRECT_URI,
  startCimdHost,
  type CimdHost,
  type PersonResult,
} from './oauth-client.js';

const SETTINGS = (oauth: Record<string, unknown> = {}) => ({
  mcpServers: { off: { command: 'never-started', enabled: false } },
  groups: { team: { servers: ['off'] } },
  systemConfig: { inboundAuth: { oauth: { enabled: true, ...oauth } } },
});

/** Registers a public client (RFC 7591) and answers its client_id. */
async function register(base: string, metadata: Record<string, unknown> = {}): Promise<string> {
  const response = await fetch(`${base}/oauth2/reg`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: 'Refusals client',
      redirect_uris: [REDIRECT_URI],
      token_endpoint_auth_method: 'none',
      ...metadata,
    }),
  });
  assert.equal(response.status, 201, await response.clone().text());
  return ((await response.json()) as { client_id: string }).client_id;
}

describe('refusals of the authorization endpoint', () => {
  let gw: TestGateway;
  let local: string;
  let clientId: string;
  before(async () => {
    gw = await startGateway(SETTINGS());
    local = gw.base.replace('127.0.0.1', 'localhost');
    clientId = await register(gw.base);
  });
  after(() => gw.close());

  /** An authorization URL with S256 PKCE and Gatehouse's /mcp as resource, `overrides` applied. */
  const authorizationUrl = (overrides: Record<string, string> = {}) => {
    const verifier = randomBytes(32).toString('base64url');
    const url = new URL(`${local}/oauth2/auth`);
    const params: Record<string, string> = {
      response_type: 'code',
      client_id: clientId,
      redirect_uri: REDIRECT_URI,
      scope: 'mcp:server:off',
      state: 'st4te',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      resource: `${local}/mcp`,
      ...overrides,
    };
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    return url.href;
  };
  const first = async (url: string) => {
    const response = await fetch(url, { redirect: 'manual' });
    const body = await response.text();
    return { response, body, location: response.headers.get('location') ?? '' };
  };

  test('PKCE plain is refused (S256 only)', async () => {
    const { location } = await first(
      authorizationUrl({ code_challenge_method: 'plain', code_challenge: 'x'.repeat(43) }),
    );
    const redirect = new URL(location);
    assert.equal(redirect.searchParams.get('error'), 'invalid_request');
    assert.equal(redirect.searchParams.get('state'), 'st4te');
  });

  test('a request without PKCE is refused', async () => {
    const url = new URL(authorizationUrl());
    url.searchParams.delete('code_challenge');
    url.searchParams.delete('code_challenge_method');
    const { location } = await first(url.href);
    assert.equal(new URL(location).searchParams.get('error'), 'invalid_request');
  });

  test('an unregistered redirect URI gets an error page, never a redirect, with the security headers', async () => {
    const { response, body } = await first(authorizationUrl({ redirect_uri: 'http://attacker.example/cb' }));
    assert.equal(response.status, 400);
    assert.equal(response.headers.get('location'), null);
    assert.match(body, /redirect_uri/);
    assert.match(response.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.doesNotMatch(body, /<script/);
  });

  test('a loopback redirect URI may use another port, not another path', async () => {
    const moved = await first(authorizationUrl({ redirect_uri: 'http://127.0.0.1:50999/callback' }));
    assert.equal(moved.response.status, 303);
    assert.match(moved.location, /\/oauth2\/interaction\//);
    const otherPath = await first(authorizationUrl({ redirect_uri: 'http://127.0.0.1:50999/elsewhere' }));
    assert.equal(otherPath.response.status, 400);
  });

  test('a resource that is not one of Gatehouse’s MCP endpoints is invalid_target', async () => {
    for (const resource of ['https://other.example/mcp', `${local}/api`, `${local}/mcp/nosuchserver`]) {
      const { location } = await first(authorizationUrl({ resource }));
      assert.equal(new URL(location).searchParams.get('error'), 'invalid_target', resource);
    }
    for (const resource of [`${local}/mcp/off`, `${local}/mcp/team`, `${local}/sse`]) {
      const { response, location } = await first(authorizationUrl({ resource }));
      assert.equal(response.status, 303, resource);
      assert.match(location, /\/oauth2\/interaction\//, resource);
    }
  });

  test('consent shows the client’s name, its redirect host and the scopes; Deny answers access_denied', async () => {
    const { redirect, pages } = await actAsPerson(
      authorizationUrl({ scope: 'mcp:server:off mcp:group:team' }),
      {
        decision: 'deny',
      },
    );
    assert.equal(redirect.searchParams.get('error'), 'access_denied');
    assert.equal(redirect.searchParams.get('state'), 'st4te');
    const consent = pages.find((p) => p.html.includes('Allow access?'));
    assert.ok(consent);
    assert.match(consent.html, /<strong class="client-name">Refusals client<\/strong>/);
    assert.match(consent.html, /<strong class="redirect-host">127\.0\.0\.1:47123<\/strong>/);
    assert.match(consent.html, /<code>mcp:server:off<\/code>/);
    assert.match(consent.html, /<code>mcp:group:team<\/code>/);
    assert.match(consent.headers.get('content-security-policy') ?? '', /form-action 'self'/);
    assert.doesNotMatch(consent.html, /<script/);
  });

  test('a wrong admin token on the sign-in form is refused and no code is issued', async () => {
    let pages: PersonResult['pages'] = [];
    await assert.rejects(
      actAsPerson(authorizationUrl(), { token: 'wrong-token' }).catch(
        (error: { pages?: PersonResult['pages'] }) => {
          pages = error.pages ?? [];
          throw error;
        },
      ),
      /stuck/,
    );
    const refused = pages.at(-1)!;
    assert.equal(refused.status, 403);
    assert.match(refused.html, /not the admin token/);
    assert.ok(!refused.html.includes(ADMIN_TOKEN));
  });

  test('a sign-in form posted from another site is refused', async () => {
    const start = await fetch(authorizationUrl(), { redirect: 'manual' });
    const cookies = start.headers
      .getSetCookie()
      .map((line) => line.split(';')[0])
      .join('; ');
    const interaction = new URL(start.headers.get('location')!, gw.base);
    await start.body?.cancel();
    const response = await fetch(`${gw.base}${interaction.pathname}/login`, {
      method: 'POST',
      headers: { cookie: cookies, 'sec-fetch-site': 'cross-site', origin: 'https://attacker.example' },
      body: new URLSearchParams({ method: 'token', token: ADMIN_TOKEN }),
    });
    assert.equal(response.status, 403);
    assert.match(await response.text(), /must be sent from Gatehouse itself/);
  });

  test('the dashboard’s session cookie signs the person in without the form', async () => {
    const signIn = await fetch(`${gw.base}/api/session`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0]!;
    const { redirect, pages } = await actAsPerson(authorizationUrl(), { cookie, token: 'never-typed' });
    assert.ok(redirect.searchParams.get('code'));
    assert.ok(!pages.some((p) => p.html.includes('Admin token')), 'no sign-in page was shown');
  });
});

describe('registration with an initial access token', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway(SETTINGS({ initialAccessToken: 'iat-0123456789abcdef' }));
  });
  after(() => gw.close());

  test('DCR needs Authorization: Bearer <initialAccessToken>', async () => {
    const attempt = (authorization?: string) =>
      fetch(`${gw.base}/oauth2/reg`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
        body: JSON.stringify({ redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none' }),
      });
    assert.equal((await attempt()).status, 401);
    assert.equal((await attempt('Bearer wrong-value')).status, 401);
    assert.equal((await attempt('Bearer iat-0123456789abcdef')).status, 201);
  });
});

describe('registration rate limit', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway(SETTINGS());
  });
  after(() => gw.close());

  test('registrations from one address beyond the limit get 429 with Retry-After', async () => {
    let created = 0;
    let limited: Response | undefined;
    for (let i = 0; i < 60 && !limited; i++) {
      const response = await fetch(`${gw.base}/oauth2/reg`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none' }),
      });
      if (response.status === 429) limited = response;
      else {
        assert.equal(response.status, 201);
        created++;
      }
      await response.body?.cancel();
    }
    assert.ok(limited, 'a registration was refused');
    assert.ok(created >= 20, `${created} registrations went through first`);
    assert.match(limited.headers.get('retry-after') ?? '', /^\d+$/);
  });
});

describe('Client ID Metadata Documents and the SSRF guard', () => {
  let gw: TestGateway;
  let cimd: CimdHost;
  before(async () => {
    cimd = await startCimdHost((url) => ({
      client_id: url,
      client_name: 'Loopback CIMD',
      redirect_uris: [REDIRECT_URI],
    }));
    // The fetch would trust the document's certificate: only the guard stands in the way.
    gw = await startGateway(SETTINGS(), { fetch: fetchTrusting(cimd.ca) });
  });
  after(async () => {
    await gw.close();
    await cimd.close();
  });

  test('a document on a loopback host not named in allowedPrivateHosts is never fetched', async () => {
    const url = new URL(`${gw.base}/oauth2/auth`);
    for (const [k, v] of Object.entries({
      response_type: 'code',
      client_id: cimd.url,
      redirect_uri: REDIRECT_URI,
      code_challenge: createHash('sha256').update('v'.repeat(43)).digest('base64url'),
      code_challenge_method: 'S256',
    }))
      url.searchParams.set(k, v);
    const response = await fetch(url, { redirect: 'manual' });
    assert.equal(response.status, 400);
    assert.match(await response.text(), /invalid_client/);
    assert.equal(cimd.fetches, 0);
  });
});
