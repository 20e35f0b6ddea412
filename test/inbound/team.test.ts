/**
 * Team mode end to end: a real oidc-provider is the company's OpenID provider, Gatehouse registers
 * there by dynamic registration once it listens, and the `login` setting is written into the live
 * settings file (hot reload). Each person completes the whole MCP client flow (SDK `auth()`, the
 * sign-in page's company button, the provider's own pages, the callback, consent) and calls a tool
 * through /mcp as themselves. Refusals: a person outside `allowedDomains` (403 page, no code), an
 * unknown or replayed `state` at the callback, an ID token whose signature does not check out, and
 * failed callbacks from one address past the limit (429).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { exportJWK, generateKeyPair } from 'jose';
import { auth } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { decide, type OidcLoginConfig } from '../../server/inbound/login-oidc.js';
import type { TestGateway } from '../fixtures/gateway.js';
import { startHttpUpstream, type HttpUpstream } from '../fixtures/mcp-upstream.js';
import { startAuthServer, type AuthServer } from '../fixtures/oidc-provider.js';
import { actAsPerson, MemoryClientProvider, type PersonResult } from './oauth-client.js';
import { startTeamGateway } from './team-gateway.js';

/** The person's whole MCP client flow; `seen` collects every redirect target (the callback among them). */
async function signIn(local: string, account: string, seen: URL[] = []) {
  const provider = new MemoryClientProvider({ name: `${account}’s client` });
  const serverUrl = `${local}/mcp`;
  assert.equal(await auth(provider, { serverUrl }), 'REDIRECT');
  const person = await actAsPerson(provider.authorizationUrl!.href, {
    idpAccount: account,
    reach: (url) => (seen.push(url), url),
  });
  const code = person.redirect.searchParams.get('code');
  assert.ok(code, `a code for ${account}: ${person.redirect.search}`);
  assert.equal(await auth(provider, { serverUrl, authorizationCode: code }), 'AUTHORIZED');
  return { provider, pages: person.pages };
}

/** The flow of a person who does not get through: the page they are left on, and the redirects. */
async function refusedSignIn(local: string, account: string) {
  const provider = new MemoryClientProvider();
  assert.equal(await auth(provider, { serverUrl: `${local}/mcp` }), 'REDIRECT');
  const seen: URL[] = [];
  const error = await actAsPerson(provider.authorizationUrl!.href, {
    idpAccount: account,
    reach: (url) => (seen.push(url), url),
  }).then(
    (result) => assert.fail(`${account} got through: ${result.redirect.href}`),
    (err: { pages?: PersonResult['pages'] }) => err,
  );
  return { last: error.pages?.at(-1), seen };
}

describe('team mode: people sign in through the company’s OpenID provider', () => {
  let idp: AuthServer;
  let upstream: HttpUpstream;
  let gw: TestGateway;
  let local: string;

  before(async () => {
    upstream = await startHttpUpstream('alpha');
    idp = await startAuthServer({ emailClaims: true, emailVerified: true });
    ({ gw, local } = await startTeamGateway(idp, upstream.url, { allowedDomains: ['example.com'] }));
    await gw.waitForServer('alpha', (s) => s.status === 'connected');
  });
  after(async () => {
    await gw.close();
    await idp.close();
    await upstream.stop();
  });

  test('the sign-in page (picked up from the hot-reloaded settings) offers the provider, and the admin apart', async () => {
    const provider = new MemoryClientProvider();
    assert.equal(await auth(provider, { serverUrl: `${local}/mcp` }), 'REDIRECT');
    // The authorization endpoint sends the browser to the sign-in page with its interaction cookie.
    const start = await fetch(provider.authorizationUrl!, { redirect: 'manual' });
    await start.body?.cancel();
    const cookie = start.headers
      .getSetCookie()
      .map((line) => line.split(';')[0])
      .join('; ');
    const page = await fetch(new URL(start.headers.get('location')!, provider.authorizationUrl), {
      headers: { cookie },
    });
    const html = await page.text();
    assert.equal(page.status, 200);
    assert.match(html, new RegExp(`Continue with ${new URL(idp.issuer).host.replaceAll('.', '\\.')}`));
    assert.match(html, /name="method" value="oidc"/);
    assert.match(html, /<h2 id="administrator">Administrator<\/h2>/);
    assert.match(html, /Admin token/);
  });

  test('alice and bob each complete the MCP client flow and call a tool through /mcp as themselves', async () => {
    const alice = await signIn(local, 'alice');
    const bob = await signIn(local, 'bob');
    assert.notEqual(alice.provider.saved!.access_token, bob.provider.saved!.access_token);

    const connect = async (provider: MemoryClientProvider) => {
      const client = new Client({ name: 'team', version: '1.0.0' });
      const transport = new StreamableHTTPClientTransport(new URL(`${local}/mcp`), {
        authProvider: provider,
      });
      await client.connect(transport);
      return { client, transport };
    };
    const a = await connect(alice.provider);
    const b = await connect(bob.provider);
    try {
      assert.deepEqual((await a.client.callTool({ name: 'alpha__echo', arguments: { text: 'a' } })).content, [
        { type: 'text', text: 'alpha:a' },
      ]);
      assert.deepEqual((await b.client.callTool({ name: 'alpha__echo', arguments: { text: 'b' } })).content, [
        { type: 'text', text: 'alpha:b' },
      ]);
      // Each token's principal is its own person: bob's token may not use alice's session.
      const borrowed = await fetch(`${local}/mcp`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${bob.provider.saved!.access_token}`,
          'mcp-session-id': a.transport.sessionId!,
          'mcp-protocol-version': '2025-06-18',
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' }),
      });
      await borrowed.body?.cancel();
      assert.equal(borrowed.status, 403, 'INBOUND_SESSION_MISMATCH');
    } finally {
      await a.client.close();
      await b.client.close();
    }

    const { clients } = (await (await gw.api('/api/clients')).json()) as {
      clients: { clientId: string; clientName?: string; subject: string }[];
    };
    const subjectOf = (provider: MemoryClientProvider) =>
      clients.find((c) => c.clientId === provider.client!.client_id)?.subject;
    assert.equal(subjectOf(alice.provider), 'alice@example.com');
    assert.equal(subjectOf(bob.provider), 'bob@example.com');
  });

  test('a person outside allowedDomains gets a 403 page that names them, and the client no code', async () => {
    const exchanges = idp.counts.codeExchanges;
    const { last, seen } = await refusedSignIn(local, 'mallory@other.test');
    assert.equal(last?.status, 403);
    assert.match(last.html, /mallory@other\.test may not sign in to Gatehouse; ask the administrator\./);
    assert.equal(idp.counts.codeExchanges, exchanges + 1, 'the provider did sign mallory in');
    assert.ok(seen.some((url) => url.pathname === '/oauth2/login/callback'));
    assert.ok(
      !seen.some((url) => url.href.startsWith(new URL(new MemoryClientProvider().redirectUrl).origin)),
      'never sent back to the client',
    );
  });

  test('a replayed or unknown state at the callback is refused, without a second code exchange', async () => {
    const seen: URL[] = [];
    await signIn(local, 'carol', seen);
    const callback = seen.find((url) => url.pathname === '/oauth2/login/callback');
    assert.ok(callback && callback.searchParams.get('state'), 'the provider came back with a state');
    const exchanges = idp.counts.codeExchanges;

    const replayed = await fetch(callback, { redirect: 'manual' });
    assert.equal(replayed.status, 400);
    assert.match(await replayed.text(), /This sign-in has expired/);

    const unknown = new URL(callback);
    unknown.searchParams.set('state', 'not-a-state-gatehouse-made');
    const forged = await fetch(unknown, { redirect: 'manual' });
    assert.equal(forged.status, 400);
    await forged.body?.cancel();
    assert.equal(idp.counts.codeExchanges, exchanges, 'no code was exchanged for either');
  });

  test('the admin token still signs in (as admin) in team mode', async () => {
    const provider = new MemoryClientProvider({ name: 'Admin’s client' });
    assert.equal(await auth(provider, { serverUrl: `${local}/mcp` }), 'REDIRECT');
    const { redirect } = await actAsPerson(provider.authorizationUrl!.href);
    const code = redirect.searchParams.get('code');
    assert.ok(code);
    assert.equal(await auth(provider, { serverUrl: `${local}/mcp`, authorizationCode: code }), 'AUTHORIZED');
    const { clients } = (await (await gw.api('/api/clients')).json()) as {
      clients: { clientId: string; subject: string }[];
    };
    assert.equal(clients.find((c) => c.clientId === provider.client!.client_id)?.subject, 'admin');
  });

  // Last: it uses up this address's failed sign-ins for the rest of the minute.
  test('failed callbacks from one address are limited: 429 with Retry-After', async () => {
    let status = 0;
    let retryAfter: string | null = null;
    for (let attempt = 0; attempt < 20 && status !== 429; attempt++) {
      const response = await fetch(`${local}/oauth2/login/callback?code=x&state=guess-${attempt}`);
      await response.body?.cancel();
      status = response.status;
      retryAfter = response.headers.get('retry-after');
    }
    assert.equal(status, 429);
    assert.match(retryAfter ?? '', /^[1-9]\d*$/);
  });
});

describe('team mode: the ID token’s signature is checked', () => {
  let idp: AuthServer;
  let upstream: HttpUpstream;
  let gw: TestGateway;
  let local: string;
  let tamper = false;

  before(async () => {
    upstream = await startHttpUpstream('alpha');
    idp = await startAuthServer({ emailClaims: true, emailVerified: true });
    // The provider's keys as a network attacker would serve them: same kid, another key.
    const { publicKey } = await generateKeyPair('RS256', { extractable: true });
    const forged = { keys: [{ ...(await exportJWK(publicKey)), kid: 'fixture', alg: 'RS256', use: 'sig' }] };
    const fetchImpl = (async (input: string | URL | Request, init?: RequestInit) => {
      const url = input instanceof Request ? input.url : String(input);
      if (tamper && url === idp.jwksUri) return Response.json(forged);
      return fetch(input, init);
    }) as typeof fetch;
    ({ gw, local } = await startTeamGateway(idp, upstream.url, {}, { fetch: fetchImpl }));
  });
  after(async () => {
    await gw.close();
    await idp.close();
    await upstream.stop();
  });

  test('an ID token that the provider’s published keys do not verify signs no one in', async () => {
    tamper = true;
    const { last } = await refusedSignIn(local, 'alice');
    assert.equal(last?.status, 403);
    assert.match(last.html, /Signing in with .* failed/);
    tamper = false;
  });
});

describe('team mode: the subject rule', () => {
  const rules = (allowedUsers: string[]): OidcLoginConfig => ({
    type: 'oidc',
    issuer: 'https://login.example.com/tenant',
    clientId: 'gatehouse',
    scopes: ['openid', 'email'],
    allowedUsers,
    allowedDomains: [],
  });

  test('without a verified e-mail the subject is <issuer host>:<sub>, never a bare sub such as admin', () => {
    assert.deepEqual(decide({ sub: 'admin' }, rules([])), {
      kind: 'account',
      accountId: 'login.example.com:admin',
    });
    assert.deepEqual(decide({ sub: 'x', email: 'ann@example.com', email_verified: false }, rules([])), {
      kind: 'account',
      accountId: 'login.example.com:x',
    });
  });

  test('allowedUsers: e-mails in any case, subjects bare or prefixed and exactly', () => {
    const allowed = rules(['Ann@Example.com', '00uAbC', 'login.example.com:42']);
    assert.equal(
      decide({ sub: 'a', email: 'ann@example.com', email_verified: true }, allowed).kind,
      'account',
    );
    assert.equal(decide({ sub: '00uAbC' }, allowed).kind, 'account');
    assert.equal(decide({ sub: '00uabc' }, allowed).kind, 'refused', 'a sub differs by its case');
    assert.equal(decide({ sub: '42' }, allowed).kind, 'account');
    const unverified = decide({ sub: 'b', email: 'ann@example.com' }, allowed);
    assert.deepEqual(unverified, {
      kind: 'refused',
      message: 'ann@example.com (not verified) may not sign in to Gatehouse; ask the administrator.',
    });
  });
});
