/**
 * Team sign-in: a real oidc-provider instance is the company's OpenID provider. Two people sign in
 * through it and each gets their own token (subject: their verified e-mail); a person the settings
 * do not allow is refused on the sign-in page. The allow rules themselves are a pure function.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decide, type OidcLoginConfig } from '../../server/inbound/login-oidc.js';
import { initializeStatus, startGateway, waitUntil, type TestGateway } from '../fixtures/gateway.js';
import { startAuthServer, type AuthServer } from '../fixtures/oidc-provider.js';
import { MemoryClientProvider, sdkSignIn, type PersonResult } from './oauth-client.js';

describe('sign-in through the company’s OpenID provider', () => {
  let gw: TestGateway;
  let idp: AuthServer;
  let local: string;

  before(async () => {
    const settings = (login?: Record<string, unknown>) => ({
      mcpServers: { off: { command: 'never-started', enabled: false } },
      systemConfig: { inboundAuth: { oauth: { enabled: true, ...(login ? { login } : {}) } } },
    });
    gw = await startGateway(settings());
    local = gw.base.replace('127.0.0.1', 'localhost');
    // Gatehouse's redirect URI at the provider is known once Gatehouse listens.
    idp = await startAuthServer({
      emailClaims: true,
      emailVerified: true,
      staticClient: {
        clientId: 'gatehouse',
        clientSecret: 'gatehouse-secret',
        redirectUris: [`${local}/oauth2/login/callback`],
      },
    });
    await gw.writeSettings(
      settings({
        issuer: idp.issuer,
        clientId: 'gatehouse',
        clientSecret: 'gatehouse-secret',
        allowedUsers: ['alice@example.com', 'bob'],
      }),
    );
    await waitUntil(
      () => gw.store.current.system.inboundAuth?.oauth?.login.type === 'oidc',
      () => 'the team sign-in settings applied',
    );
  });
  after(async () => {
    await gw.close();
    await idp.close();
  });

  const mcpStatus = (token: string) => initializeStatus(`${gw.base}/mcp`, token);

  test('two people sign in through the provider and each gets a token of their own', async () => {
    const alice = await sdkSignIn(`${local}/mcp`, new MemoryClientProvider({ name: 'Alice’s client' }), {
      idpAccount: 'alice',
    });
    const bob = await sdkSignIn(`${local}/mcp`, new MemoryClientProvider({ name: 'Bob’s client' }), {
      idpAccount: 'bob',
    });
    assert.ok(
      alice.pages.some((p) => p.html.includes('Administrator') && p.html.includes('Admin token')),
      'the admin sign-in stays offered, apart (for when the provider is down)',
    );
    assert.equal(await mcpStatus(alice.provider.saved!.access_token), 200);
    assert.equal(await mcpStatus(bob.provider.saved!.access_token), 200);
    const { clients } = (await (await gw.api('/api/clients')).json()) as {
      clients: { clientId: string; subject: string }[];
    };
    const subjectOf = (clientId: string) => clients.find((c) => c.clientId === clientId)?.subject;
    assert.equal(subjectOf(alice.provider.client!.client_id), 'alice@example.com');
    assert.equal(subjectOf(bob.provider.client!.client_id), 'bob@example.com');
  });

  test('a person the settings do not allow is refused on the sign-in page', async () => {
    let pages: PersonResult['pages'] = [];
    await assert.rejects(
      sdkSignIn(`${local}/mcp`, new MemoryClientProvider(), { idpAccount: 'carol' }).catch(
        (error: { pages?: PersonResult['pages'] }) => {
          pages = error.pages ?? [];
          throw error;
        },
      ),
      /stuck/,
    );
    const refused = pages.at(-1)!;
    assert.equal(refused.status, 403);
    assert.match(refused.html, /carol@example\.com may not sign in/);
  });
});

describe('who may sign in (decide)', () => {
  const config = (allowed: Partial<OidcLoginConfig>): OidcLoginConfig => ({
    type: 'oidc',
    issuer: 'https://id.example.com',
    clientId: 'gatehouse',
    scopes: ['openid', 'email'],
    allowedUsers: [],
    allowedDomains: [],
    ...allowed,
  });

  test('a verified e-mail in an allowed domain is the subject; another domain is refused', () => {
    const rules = config({ allowedDomains: ['acme.example'] });
    assert.deepEqual(decide({ sub: '1', email: 'Ann@Acme.example', email_verified: true }, rules), {
      kind: 'account',
      accountId: 'ann@acme.example',
    });
    assert.equal(
      decide({ sub: '2', email: 'eve@other.example', email_verified: true }, rules).kind,
      'refused',
    );
  });

  test('an unverified e-mail counts for nothing', () => {
    const rules = config({ allowedDomains: ['acme.example'], allowedUsers: ['ann@acme.example'] });
    assert.equal(decide({ sub: '1', email: 'ann@acme.example' }, rules).kind, 'refused');
    assert.equal(
      decide({ sub: '1', email: 'ann@acme.example', email_verified: false }, rules).kind,
      'refused',
    );
  });

  test('without any list, whoever the provider signs in; the subject is <issuer host>:<sub> without a verified e-mail', () => {
    assert.deepEqual(decide({ sub: 'u-42' }, config({})), {
      kind: 'account',
      accountId: 'id.example.com:u-42',
    });
    assert.equal(decide({}, config({})).kind, 'refused');
  });
});
