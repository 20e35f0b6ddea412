/**
 * Auth facts (issue 12): what each step of the flow learned, the step a failure belongs to, token
 * health (next refresh) and who the tokens belong to. Pure parts first, then the engine against a
 * real oidc-provider and a real protected MCP server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { UnsecuredJWT } from 'jose';
import type * as oauth from 'oauth4webapi';

import { accountName } from '../../server/oauth/facts.js';
import { entryFacts } from '../../server/oauth/stage.js';
import { isStale, refreshDueAt } from '../../server/oauth/tokens.js';
import { MemoryCredentialStore, type CredentialRecord } from '../../server/settings/credentials.js';
import { startAuthServer, type AuthServer } from '../fixtures/oidc-provider.js';
import { startProtectedMcp, type ProtectedMcp } from '../fixtures/protected-mcp.js';
import {
  authorizationUrlOf,
  authorizeOnFirstContact,
  connect,
  createEngine,
  REDIRECT_URI,
  rejectsWith,
} from './harness.js';

const jwt = (claims: Record<string, unknown>) => new UnsecuredJWT(claims).encode();
const response = (fields: Partial<oauth.TokenEndpointResponse>) =>
  ({ access_token: 'opaque', token_type: 'bearer', ...fields }) as oauth.TokenEndpointResponse;

/** What the engine keeps for `server` in a memory store (a copy), to look for things it must not keep. */
async function storedRecord(store: MemoryCredentialStore): Promise<CredentialRecord | undefined> {
  return store.get({ server: 'upstream', owner: 'gateway' });
}

describe('auth facts (pure)', () => {
  test('the next refresh is due exactly when the tokens turn stale', () => {
    for (const lifetime of [2_000, 30_000, 600_000, 86_400_000]) {
      const tokens = { issuedAt: 1_000_000, expiresAt: 1_000_000 + lifetime };
      const due = refreshDueAt(tokens);
      assert.ok(due !== null && due < tokens.expiresAt && due > tokens.issuedAt, `lifetime ${lifetime}`);
      assert.equal(isStale(tokens, due - 1), false, `not stale just before (lifetime ${lifetime})`);
      assert.equal(isStale(tokens, due), true, `stale at the due time (lifetime ${lifetime})`);
    }
    assert.equal(refreshDueAt({ issuedAt: 0, expiresAt: null }), null, 'unknown expiry: no due time');
  });

  test("the account is the ID token's name, else a JWT access token's, else nobody", () => {
    assert.equal(
      accountName(response({ access_token: jwt({ sub: 'u1', email: 'a@example.com' }) })),
      'a@example.com',
    );
    assert.equal(
      accountName(response({ access_token: jwt({ sub: 'u1', preferred_username: 'alice' }) })),
      'alice',
    );
    assert.equal(accountName(response({ access_token: jwt({ sub: 'u1' }) })), 'u1');
    assert.equal(accountName(response({ access_token: 'an-opaque-token' })), undefined);
    assert.equal(
      accountName(response({ access_token: jwt({ sub: '' }) })),
      undefined,
      'an empty name is none',
    );
    // An ID token that did not come through oauth4webapi's processing is not read.
    assert.equal(accountName(response({ id_token: jwt({ sub: 'forged' }) })), undefined);
    assert.equal(accountName(response({ access_token: jwt({ sub: 'x'.repeat(1000) }) }))?.length, 256);
  });

  test("a failure's log entry names its step; a refresh that failed belongs to the refresh step", () => {
    assert.deepEqual(
      entryFacts(
        { type: 'fail', code: 'OAUTH_NO_CLIENT', message: 'x', step: 'registration' },
        { issuer: 'i' },
      ),
      { issuer: 'i', errorStep: 'registration' },
    );
    assert.deepEqual(
      entryFacts(
        { type: 'refresh_failed', expiresAt: 1, code: 'OAUTH_REFRESH_FAILED', message: 'x' },
        undefined,
      ),
      { errorStep: 'refresh' },
    );
    assert.equal(entryFacts({ type: 'discover' }, undefined), undefined, 'nothing learned, no facts');
    assert.equal(entryFacts({ type: 'discover' }, {}), undefined);
  });
});

describe('auth facts from a real authorization server', () => {
  let as: AuthServer;
  let mcp: ProtectedMcp;
  before(async () => {
    as = await startAuthServer({ emailClaims: true });
    mcp = await startProtectedMcp({ authServer: as });
  });
  after(async () => {
    await mcp.close();
    await as.close();
  });

  test('each step says what it learned: metadata URL, issuer, endpoints, registration, scopes', async () => {
    const store = new MemoryCredentialStore();
    const engine = createEngine({ serverUrl: mcp.url, store });
    await engine.init();
    await authorizeOnFirstContact(engine, mcp.url);
    const status = engine.status();
    const entry = (stage: string) => status.log.find((e) => e.stage === stage);

    const endpoints = {
      resourceMetadataUrl: mcp.metadataUrl,
      issuer: as.issuer,
      authorizationEndpoint: `${as.issuer}/auth`,
      tokenEndpoint: `${as.issuer}/token`,
    };
    assert.equal(entry('discovering')?.facts, undefined, 'discovery has learned nothing yet when it starts');
    assert.deepEqual(entry('registering')?.facts, endpoints, 'what discovery found led to registering');
    assert.deepEqual(entry('awaiting_user')?.facts, {
      ...endpoints,
      registration: 'dynamic',
      scopesRequested: ['mcp:read', 'offline_access'],
    });
    assert.deepEqual(entry('authorized')?.facts, { scopesGranted: ['mcp:read'] });
    for (const e of status.log) assert.equal(typeof e.detail, 'string', 'the words stay our own');

    // Token health and the account: the fixture's JWT access token names the login.
    assert.ok(status.token);
    assert.equal(
      status.token.nextRefreshAt,
      refreshDueAt({ ...status.token, issuedAt: status.token.expiresAt! - 600_000 }),
    );
    assert.ok(status.token.nextRefreshAt! < status.token.expiresAt!);
    assert.deepEqual(status.account, { name: 'alice' });

    const record = JSON.stringify(await storedRecord(store));
    assert.ok(record.includes('"account":"alice"'), 'the name is kept with the tokens');
    engine.close();
  });

  test('with openid and email granted, the ID token names the account; the ID token is not kept', async () => {
    const store = new MemoryCredentialStore();
    const engine = createEngine({
      serverUrl: mcp.url,
      store,
      settings: { scopes: ['openid', 'email', 'mcp:read', 'offline_access'] },
    });
    await engine.init();
    await authorizeOnFirstContact(engine, mcp.url);
    assert.equal(engine.stage.kind, 'authorized');
    assert.deepEqual(engine.status().account, { name: 'alice@example.com' });

    const record = (await storedRecord(store)) as { tokens?: Record<string, unknown> };
    assert.deepEqual(Object.keys(record.tokens ?? {}).sort(), [
      'accessToken',
      'account',
      'expiresAt',
      'generation',
      'issuedAt',
      'issuer',
      'lastRefreshAt',
      'refreshToken',
      'resource',
      'scopes',
    ]);
    // The only JWT the record holds is the access token.
    const jwts = JSON.stringify(record).match(/eyJ[\w-]+\.[\w-]+\.[\w-]*/g) ?? [];
    assert.deepEqual(jwts, [record.tokens?.accessToken]);
    engine.close();
  });

  test("a person's refusal at the authorization server fails the authorization step", async () => {
    const engine = createEngine({ serverUrl: mcp.url });
    await engine.init();
    const err = await rejectsWith(connect(engine, mcp.url), 'UPSTREAM_AUTH_REQUIRED');
    const state = new URL(authorizationUrlOf(err)).searchParams.get('state')!;
    await rejectsWith(
      engine.handleCallback(new URLSearchParams({ state, error: 'access_denied', iss: as.issuer })),
      'OAUTH_CALLBACK_ERROR',
    );
    const status = engine.status();
    assert.equal(status.stage, 'failed');
    assert.equal(status.error?.code, 'OAUTH_CALLBACK_ERROR');
    assert.equal(status.error?.step, 'authorization');
    assert.equal(status.log.at(-1)?.facts?.errorStep, 'authorization');
    engine.close();
  });
});

describe('the step a failure belongs to', () => {
  test('a resource metadata mismatch fails discovery', async () => {
    const as = await startAuthServer();
    const mcp = await startProtectedMcp({ authServer: as, resource: 'http://127.0.0.1:1/elsewhere' });
    try {
      const engine = createEngine({ serverUrl: mcp.url });
      await engine.init();
      await rejectsWith(connect(engine, mcp.url), 'UPSTREAM_AUTH_REQUIRED');
      const status = engine.status();
      assert.equal(status.error?.code, 'OAUTH_RESOURCE_MISMATCH');
      assert.equal(status.error?.step, 'discovery');
      assert.deepEqual(status.log.at(-1)?.facts, { errorStep: 'discovery' });
      engine.close();
    } finally {
      await mcp.close();
      await as.close();
    }
  });

  test('no way to get a client fails registration, with what discovery had found', async () => {
    const as = await startAuthServer({ registration: false });
    const mcp = await startProtectedMcp({ authServer: as });
    try {
      const engine = createEngine({ serverUrl: mcp.url });
      await engine.init();
      await rejectsWith(connect(engine, mcp.url), 'UPSTREAM_AUTH_REQUIRED');
      const status = engine.status();
      assert.equal(status.error?.code, 'OAUTH_NO_CLIENT');
      assert.equal(status.error?.step, 'registration');
      assert.equal(status.log.at(-1)?.facts?.errorStep, 'registration');
      assert.equal(status.log.at(-1)?.facts?.issuer, as.issuer);
      engine.close();
    } finally {
      await mcp.close();
      await as.close();
    }
  });

  test('a configured client is named static, and no registration step is logged', async () => {
    const as = await startAuthServer({
      staticClient: { clientId: 'configured', clientSecret: 's3cret', redirectUris: [REDIRECT_URI] },
    });
    const mcp = await startProtectedMcp({ authServer: as });
    try {
      const engine = createEngine({
        serverUrl: mcp.url,
        settings: { clientId: 'configured', clientSecret: 's3cret' },
      });
      await engine.init();
      await authorizeOnFirstContact(engine, mcp.url);
      const status = engine.status();
      assert.equal(status.log.find((e) => e.stage === 'awaiting_user')?.facts?.registration, 'static');
      assert.equal(
        status.log.some((e) => e.stage === 'registering'),
        false,
      );
      assert.ok(!JSON.stringify(status).includes('s3cret'), 'no client secret in the status');
      engine.close();
    } finally {
      await mcp.close();
      await as.close();
    }
  });
});
