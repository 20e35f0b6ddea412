import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import type * as oauth from 'oauth4webapi';

import { AUTHORIZATION_TTL_MS, MAX_PENDING, addPending } from '../../server/oauth/authorize.js';
import { takePending } from '../../server/oauth/callback.js';
import {
  assertPkceS256,
  authorizationServerMetadataUrls,
  configuredMetadata,
  defaultMetadata,
  protectedResourceMetadataUrls,
} from '../../server/oauth/discovery.js';
import type { PendingAuthorization, RegisteredClient } from '../../server/oauth/record.js';
import {
  chooseClient,
  registrationAuthMethod,
  tokenEndpointAuthMethod,
} from '../../server/oauth/registration.js';
import { canonicalResource, resourceMatches } from '../../server/oauth/resource.js';
import { coversScopes, selectScopes, unionScopes, withOfflineAccess } from '../../server/oauth/scopes.js';
import { isStale, toStoredTokens } from '../../server/oauth/tokens.js';
import { rejectsWith } from './harness.js';

describe('scope selection', () => {
  const all = { configured: ['cfg'], challenged: ['ch'], resourceSupported: ['prm'], serverSupported: ['x'] };
  test('settings override the challenge, the challenge beats the resource metadata, else none', () => {
    assert.deepEqual(selectScopes(all), ['cfg']);
    assert.deepEqual(selectScopes({ ...all, configured: undefined }), ['ch']);
    assert.deepEqual(selectScopes({ ...all, configured: undefined, challenged: undefined }), ['prm']);
    assert.deepEqual(selectScopes({ serverSupported: ['x'] }), []);
  });
  test('offline_access is added only when the authorization server lists it, and never twice', () => {
    assert.deepEqual(selectScopes({ challenged: ['a'], serverSupported: ['openid', 'offline_access'] }), [
      'a',
      'offline_access',
    ]);
    assert.deepEqual(selectScopes({ challenged: ['a'], serverSupported: ['openid'] }), ['a']);
    assert.deepEqual(withOfflineAccess(['offline_access', 'a'], ['offline_access']), ['offline_access', 'a']);
    assert.deepEqual(withOfflineAccess(['a'], undefined), ['a']);
  });
  test('unions keep order and drop blanks and duplicates; coverage ignores offline_access', () => {
    assert.deepEqual(unionScopes(['a', 'b'], undefined, ['b', '', 'c']), ['a', 'b', 'c']);
    assert.equal(coversScopes(['a', 'b'], ['b', 'offline_access']), true);
    assert.equal(coversScopes(['a'], ['a', 'c']), false);
  });
});

describe('token endpoint authentication method', () => {
  test('the registration response wins when we can perform it', () => {
    assert.equal(
      tokenEndpointAuthMethod({ registered: 'client_secret_post', hasSecret: true }),
      'client_secret_post',
    );
    assert.equal(tokenEndpointAuthMethod({ registered: 'none', hasSecret: true }), 'none');
    assert.equal(
      tokenEndpointAuthMethod({
        registered: 'private_key_jwt',
        hasSecret: true,
        supported: ['client_secret_post'],
      }),
      'client_secret_post',
    );
  });
  test('with a secret: basic (the RFC 8414 default) unless the server lists only post; without: none', () => {
    assert.equal(tokenEndpointAuthMethod({ hasSecret: true }), 'client_secret_basic');
    assert.equal(
      tokenEndpointAuthMethod({ hasSecret: true, supported: ['client_secret_post', 'none'] }),
      'client_secret_post',
    );
    assert.equal(
      tokenEndpointAuthMethod({ hasSecret: true, supported: ['client_secret_post', 'client_secret_basic'] }),
      'client_secret_basic',
    );
    assert.equal(tokenEndpointAuthMethod({ hasSecret: false, supported: ['client_secret_basic'] }), 'none');
    assert.equal(tokenEndpointAuthMethod({ registered: 'client_secret_basic', hasSecret: false }), 'none');
  });
  test('registration asks for a confidential client when allowed', () => {
    assert.equal(registrationAuthMethod(undefined), 'client_secret_basic');
    assert.equal(registrationAuthMethod(['none', 'client_secret_post']), 'client_secret_post');
    assert.equal(registrationAuthMethod(['none']), 'none');
    assert.equal(registrationAuthMethod(['private_key_jwt']), 'client_secret_basic');
  });
});

describe('token staleness', () => {
  test('refresh when less than min(60 s, max(10 %, min(1.5 s, half the lifetime))) is left', () => {
    const hour = { issuedAt: 0, expiresAt: 3_600_000 };
    assert.equal(isStale(hour, 3_600_000 - 61_000), false);
    assert.equal(isStale(hour, 3_600_000 - 60_000), true);
    // A 5 s token keeps 1.5 s in hand: its JWT exp may be up to a second earlier than we think.
    const five = { issuedAt: 0, expiresAt: 5_000 };
    assert.equal(isStale(five, 3_400), false);
    assert.equal(isStale(five, 3_500), true);
    const short = { issuedAt: 0, expiresAt: 2_000 };
    assert.equal(isStale(short, 900), false);
    assert.equal(isStale(short, 1_000), true);
    assert.equal(isStale({ issuedAt: 0, expiresAt: null }, 1e12), false);
  });
  test('a refresh response without refresh_token or scope keeps the old ones (RFC 6749 §5.1, §6)', () => {
    const previous = toStoredTokens(
      { access_token: 'a1', token_type: 'bearer', refresh_token: 'r1', expires_in: 60, scope: 'x y' },
      { now: 0, requestedScopes: ['x'], issuer: 'i', resource: 'r', generation: 1, refreshed: false },
    );
    assert.deepEqual(previous.scopes, ['x', 'y']);
    assert.equal(previous.expiresAt, 60_000);
    const next = toStoredTokens(
      { access_token: 'a2', token_type: 'bearer' },
      { now: 10, requestedScopes: [], previous, issuer: 'i', resource: 'r', generation: 2, refreshed: true },
    );
    assert.equal(next.refreshToken, 'r1');
    assert.deepEqual(next.scopes, ['x', 'y']);
    assert.equal(next.expiresAt, null);
    assert.equal(next.lastRefreshAt, 10);
  });
});

describe('resource identifiers', () => {
  test('canonical form: lowercase scheme and host, no fragment, no trailing slash', () => {
    assert.equal(canonicalResource('HTTPS://MCP.Example.com/'), 'https://mcp.example.com');
    assert.equal(canonicalResource('https://mcp.example.com/mcp/#x'), 'https://mcp.example.com/mcp');
    assert.equal(
      canonicalResource('https://mcp.example.com:8443/Server/mcp'),
      'https://mcp.example.com:8443/Server/mcp',
    );
  });
  test('metadata may name the server itself or a same-origin parent path, nothing else', () => {
    const server = 'https://mcp.example.com/public/mcp';
    assert.equal(resourceMatches(server, 'https://mcp.example.com/public/mcp/'), true);
    assert.equal(resourceMatches(server, 'https://mcp.example.com'), true);
    assert.equal(resourceMatches(server, 'https://mcp.example.com/public'), true);
    assert.equal(resourceMatches(server, 'https://mcp.example.com/pub'), false);
    assert.equal(resourceMatches(server, 'https://mcp.example.com/public/mcp/other'), false);
    assert.equal(resourceMatches(server, 'https://elsewhere.example/public/mcp'), false);
    assert.equal(resourceMatches(server, 'http://mcp.example.com/public/mcp'), false);
    assert.equal(resourceMatches(server, 'not a url'), false);
  });
});

describe('metadata locations', () => {
  test('protected resource metadata: header URL, path-inserted, root', () => {
    assert.deepEqual(protectedResourceMetadataUrls('https://h.example/public/mcp', 'https://h.example/prm'), [
      'https://h.example/prm',
      'https://h.example/.well-known/oauth-protected-resource/public/mcp',
      'https://h.example/.well-known/oauth-protected-resource',
    ]);
    assert.deepEqual(protectedResourceMetadataUrls('https://h.example/'), [
      'https://h.example/.well-known/oauth-protected-resource',
    ]);
  });
  test('authorization server metadata in the MCP spec order', () => {
    assert.deepEqual(authorizationServerMetadataUrls('https://auth.example/tenant1/'), [
      'https://auth.example/.well-known/oauth-authorization-server/tenant1',
      'https://auth.example/.well-known/openid-configuration/tenant1',
      'https://auth.example/tenant1/.well-known/openid-configuration',
    ]);
    assert.deepEqual(authorizationServerMetadataUrls('https://auth.example'), [
      'https://auth.example/.well-known/oauth-authorization-server',
      'https://auth.example/.well-known/openid-configuration',
    ]);
  });
  test('defaults and configured endpoints', () => {
    assert.deepEqual(defaultMetadata('https://h.example/x/mcp'), {
      issuer: 'https://h.example',
      authorization_endpoint: 'https://h.example/authorize',
      token_endpoint: 'https://h.example/token',
      registration_endpoint: 'https://h.example/register',
      code_challenge_methods_supported: ['S256'],
    });
    assert.equal(configuredMetadata({ authorizationEndpoint: 'https://a.example/auth' }), undefined);
    assert.equal(
      configuredMetadata({
        authorizationEndpoint: 'https://a.example/auth',
        tokenEndpoint: 'https://a.example/t',
      })?.issuer,
      'https://a.example',
    );
  });
  test('PKCE S256 must be advertised', async () => {
    const as = (methods?: string[]): oauth.AuthorizationServer => ({
      issuer: 'https://a.example',
      ...(methods ? { code_challenge_methods_supported: methods } : {}),
    });
    assert.doesNotThrow(() => assertPkceS256(as(['plain', 'S256'])));
    await rejectsWith(
      Promise.resolve().then(() => assertPkceS256(as(['plain']))),
      'OAUTH_PKCE_UNSUPPORTED',
    );
    await rejectsWith(
      Promise.resolve().then(() => assertPkceS256(as())),
      'OAUTH_PKCE_UNSUPPORTED',
    );
  });
});

describe('client choice', () => {
  const metadata: oauth.AuthorizationServer = {
    issuer: 'https://a.example',
    registration_endpoint: 'https://a.example/reg',
  };
  const stored: RegisteredClient = {
    issuer: 'https://a.example',
    clientId: 'dyn',
    authMethod: 'none',
    redirectUri: 'http://127.0.0.1:3000/oauth/callback',
    registeredAt: 0,
  };
  const base = { metadata, stored, redirectUri: stored.redirectUri, now: 1 };
  test('pre-registered, then CIMD when supported, then the stored registration, then register, else none', () => {
    assert.equal(
      chooseClient({ ...base, settings: { clientId: 'c', clientMetadataUrl: 'https://x/c.json' } }).kind,
      'static',
    );
    const cimd = { ...base, settings: { clientMetadataUrl: 'https://x/c.json' } };
    assert.equal(chooseClient(cimd).kind, 'reuse', 'CIMD needs the server to say it supports it');
    assert.equal(
      chooseClient({ ...cimd, metadata: { ...metadata, client_id_metadata_document_supported: true } }).kind,
      'cimd',
    );
    assert.equal(chooseClient({ ...base, settings: undefined }).kind, 'reuse');
    assert.equal(chooseClient({ ...base, settings: undefined, stored: undefined }).kind, 'register');
    assert.equal(
      chooseClient({
        ...base,
        settings: undefined,
        stored: undefined,
        metadata: { issuer: 'https://a.example' },
      }).kind,
      'none',
    );
  });
  test('a registration for another issuer, redirect URI or with an expired secret is not reused', () => {
    const settings = undefined;
    assert.equal(
      chooseClient({ ...base, settings, metadata: { ...metadata, issuer: 'https://b.example' } }).kind,
      'register',
    );
    assert.equal(
      chooseClient({ ...base, settings, redirectUri: 'http://127.0.0.1:4000/oauth/callback' }).kind,
      'register',
    );
    assert.equal(
      chooseClient({ ...base, settings, stored: { ...stored, clientSecretExpiresAt: 1 } }).kind,
      'register',
    );
  });
});

describe('pending authorizations', () => {
  const pending = (state: string, expiresAt: number): PendingAuthorization => ({
    state,
    codeVerifier: 'v',
    redirectUri: 'r',
    clientId: 'c',
    issuer: 'i',
    resource: 'res',
    scopes: [],
    createdAt: expiresAt - AUTHORIZATION_TTL_MS,
    expiresAt,
  });
  test('a state is found once, an expired one is reported and removed, an unknown one changes nothing', () => {
    const list = [pending('a', 100), pending('b', 50)];
    const found = takePending(list, 'a', 60);
    assert.equal(found.kind, 'found');
    assert.deepEqual(found.kind === 'found' && found.rest.map((p) => p.state), ['b']);
    const expired = takePending(list, 'b', 60);
    assert.deepEqual(expired.kind === 'expired' && expired.rest.map((p) => p.state), ['a']);
    assert.deepEqual(takePending(list, 'zzz', 60), { kind: 'unknown' });
    assert.deepEqual(takePending(list, null, 60), { kind: 'unknown' });
  });
  test('adding drops expired ones and keeps the newest few', () => {
    let list: PendingAuthorization[] = [pending('old', 5)];
    for (let i = 0; i < MAX_PENDING + 2; i++) list = addPending(list, pending(`s${i}`, 100 + i), 10);
    assert.deepEqual(
      list.map((p) => p.state),
      ['s2', 's3', 's4', 's5', 's6'],
    );
  });
});
