/**
 * Nothing secret leaves through the admin API, and a removed server takes its credentials along:
 * with an upstream authorized through a real oidc-provider (tokens and a registered client in the
 * file) and secrets typed into forms, every GET route, the event stream and the answers of the
 * editing routes are searched for every token, secret and session id; then the OAuth server is
 * removed: its tokens are revoked at the authorization server and nothing of it is left in the file.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { SettingsCredentialStore } from '../../server/settings/file-credentials.js';
import { entryVersion } from '../../server/settings/gateway-fields.js';
import {
  ADMIN_TOKEN,
  FAST_TIMEOUTS,
  startGateway,
  waitUntil,
  type TestGateway,
} from '../fixtures/gateway.js';
import { completeAuthorization, startAuthServer, type AuthServer } from '../fixtures/oidc-provider.js';
import { startProtectedMcp, type ProtectedMcp } from '../fixtures/protected-mcp.js';
import { callApi, routesOf, signIn, type CookieClient } from './admin-session-client.js';
import { openEventStream } from './sse-client.js';

const TYPED = ['typed-client-secret-0001', 'typed-header-secret-0002', 'typed-initial-token-0003'];

/** The values of secret fields (tokens, client secrets, PKCE verifiers, states) in a stored record. */
const SECRET_KEYS = new Set([
  'accessToken',
  'refreshToken',
  'idToken',
  'clientSecret',
  'registrationAccessToken',
  'codeVerifier',
  'state',
]);
function secretValues(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(secretValues);
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, item]) =>
    typeof item === 'string' ? (SECRET_KEYS.has(key) ? [item] : []) : secretValues(item),
  );
}

describe('the admin API keeps secrets in', () => {
  let as: AuthServer;
  let mcp: ProtectedMcp;
  let gw: TestGateway;
  let tab: CookieClient;
  const secrets = new Set<string>();

  before(async () => {
    as = await startAuthServer();
    mcp = await startProtectedMcp({ authServer: as });
    gw = await startGateway({
      mcpServers: { secure: { url: mcp.url } },
      groups: { all: { servers: ['secure'] } },
      systemConfig: { timeouts: FAST_TIMEOUTS },
    });
    await gw.waitForServer('secure', (s) => s.auth?.stage === 'awaiting_user', 'awaiting_user');
    const started = await callApi<{ authorizationUrl: string }>(gw, 'POST', '/api/servers/secure/authorize');
    const redirect = await completeAuthorization(started.body.authorizationUrl);
    assert.equal((await fetch(`${gw.base}/oauth/callback${redirect.search}`)).status, 200);
    await gw.waitForServer('secure', (s) => s.status === 'connected', 'connected after consent');
    // A form with typed secrets (the server itself is off: only its settings matter here).
    const added = await callApi(gw, 'POST', '/api/servers', {
      name: 'typed',
      entry: {
        url: 'https://typed.example/mcp',
        enabled: false,
        headers: { 'X-Api-Key': TYPED[1] },
        oauth: { clientSecret: TYPED[0], dynamicRegistration: { initialAccessToken: TYPED[2] } },
      },
    });
    assert.equal(added.status, 201);
    tab = await signIn(gw.base);

    const record = await new SettingsCredentialStore({ store: gw.store }).get({
      server: 'secure',
      owner: 'gateway',
    });
    const text = await readFile(gw.settingsPath, 'utf8');
    for (const secret of [
      ...TYPED,
      ...mcp.seen.tokens,
      as.lastRefreshToken,
      ...secretValues(record),
      ...(text.match(/enc:v1:[A-Za-z0-9_-]+/g) ?? []),
      ADMIN_TOKEN,
      tab.sessionId,
    ]) {
      if (secret) secrets.add(secret);
    }
    assert.ok(secretValues(record).length >= 3, 'access and refresh token, client secret');
    assert.ok(secrets.size >= 10, `secrets collected: ${secrets.size}`);
  });
  after(async () => {
    await gw?.close();
    await mcp?.close();
    await as?.close();
  });

  const leaks = (what: string, body: string) => {
    for (const secret of secrets)
      assert.ok(!body.includes(secret), `${what} contains a secret (${secret.slice(0, 6)}…)`);
  };

  test('no GET route, the event stream, or an editing answer shows a token, a secret or a session id', async () => {
    const routes = routesOf(gw.app.printRoutes({ commonPrefix: false })).filter(
      ([method, path]) => method === 'GET' && path.startsWith('/api/') && path !== '/api/events',
    );
    assert.ok(routes.length >= 6, JSON.stringify(routes));
    let checked = 0;
    for (const [, pattern] of routes) {
      for (const name of pattern.includes(':name') ? ['secure', 'typed'] : ['']) {
        const path = pattern.replace(':name', name);
        for (const response of [await gw.api(path), await tab.fetch(path)]) {
          assert.ok(response.status < 500, `${path}: ${response.status}`);
          const headers: string[] = [];
          response.headers.forEach((value, key) => {
            if (key !== 'set-cookie') headers.push(`${key}: ${value}`);
          });
          leaks(`GET ${path}`, `${headers.join('\n')}\n${await response.text()}`);
          checked++;
        }
      }
    }
    assert.ok(checked >= 12);

    const stream = await openEventStream(`${gw.base}/api/events`, { cookie: tab.cookie });
    try {
      await stream.next((e) => e.event === 'servers', 'the server list');
      const form = gw.store.rawServerEntry('typed')!;
      const edit = await tab.fetch('/api/servers/typed', {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          entry: {
            ...form,
            url: 'https://typed.example/v2/mcp',
            headers: { 'X-Api-Key': { secret: true, keep: true } },
          },
          version: entryVersion(form),
        }),
      });
      assert.equal(edit.status, 200);
      leaks('PUT /api/servers/typed', await edit.text());
      await stream.next((e) => e.event === 'settings', 'the settings event');
      await stream.next((e) => e.event === 'server', 'the edited server');
      leaks('the event stream', JSON.stringify(stream.events));
    } finally {
      stream.close();
    }

    const preview = await callApi(gw, 'POST', '/api/servers/import', {
      snippet: JSON.stringify({
        mcpServers: {
          pasted: { url: 'https://p.example/mcp', headers: { Authorization: `Bearer ${TYPED[1]}` } },
        },
      }),
    });
    leaks('the import preview', JSON.stringify(preview.body));
    const rejected = await callApi(gw, 'PUT', '/api/settings/raw', {
      text: '{ "mcpServers": 5 }',
      version: 'x',
    });
    leaks('a rejected raw save', JSON.stringify(rejected.body));
  });

  test('removing an OAuth server revokes its tokens and leaves nothing of it in the file', async () => {
    const revocations = as.counts.revocations;
    const response = await tab.fetch('/api/servers/secure', { method: 'DELETE' });
    assert.equal(response.status, 204);
    assert.ok(as.counts.revocations > revocations, 'the tokens were revoked at the authorization server');
    const text = await readFile(gw.settingsPath, 'utf8');
    assert.doesNotMatch(text, /"secure"/);
    for (const token of [...mcp.seen.tokens, as.lastRefreshToken ?? '']) assert.ok(!text.includes(token));
    const file = JSON.parse(text) as {
      mcpServers: Record<string, unknown>;
      groups: { all: { servers: string[] } };
    };
    assert.deepEqual(Object.keys(file.mcpServers), ['typed']);
    assert.deepEqual(file.groups.all.servers, []);
    assert.equal(
      await new SettingsCredentialStore({ store: gw.store }).get({ server: 'secure', owner: 'gateway' }),
      undefined,
    );
    await waitUntil(async () => !(await gw.servers()).some((s) => s.name === 'secure'), 'secure gone');
  });
});
