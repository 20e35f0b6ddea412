/**
 * Words for people in the status API (issue 12): each server's `label`, the auth stage's label and
 * what a person must do (`auth.needs`), and the detail's per-tool input schemas.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { authLabel, authNeeds, serverLabel, type ServerDetail } from '../../server/api/status.js';
import type { ConnectionState } from '../../server/upstream/state.js';
import { FAST_TIMEOUTS, startGateway, stdioFixture, type TestGateway } from '../fixtures/gateway.js';
import { startHttpUpstream, type HttpUpstream } from '../fixtures/mcp-upstream.js';
import { startAuthServer, type AuthServer } from '../fixtures/oidc-provider.js';
import { startProtectedMcp, type ProtectedMcp } from '../fixtures/protected-mcp.js';

const waiting: ConnectionState = {
  status: 'auth_required',
  error: { code: 'UPSTREAM_AUTH_REQUIRED', message: 'server "x" needs authorization' },
};
const missing: ConnectionState = {
  status: 'auth_required',
  error: { code: 'UPSTREAM_CREDENTIALS_REQUIRED', message: 'server "x" needs credentials' },
};

describe('labels (pure)', () => {
  test('each connection state has its words', () => {
    assert.equal(serverLabel({ status: 'disabled' }), 'Disabled');
    assert.equal(serverLabel({ status: 'connected', since: 1 }), 'Connected');
    assert.equal(serverLabel({ status: 'connecting', attempt: 0 }), 'Connecting…');
    assert.equal(
      serverLabel({ status: 'error', error: { code: 'UPSTREAM_CLOSED', message: 'x' }, nextRetryAt: 5 }),
      'Error',
    );
    assert.equal(serverLabel(waiting, { stage: 'awaiting_user', needs: 'sign-in' }), 'Needs sign-in');
    assert.equal(serverLabel(missing, { stage: 'awaiting_user', needs: 'credentials' }), 'Needs credentials');
  });

  test('a connection waiting while the gateway signs in says "Signing in…"', () => {
    for (const stage of ['discovering', 'registering', 'exchanging', 'refreshing'] as const) {
      assert.equal(serverLabel({ status: 'connecting', attempt: 0 }, { stage }), 'Signing in…', stage);
      assert.equal(serverLabel(waiting, { stage }), 'Signing in…', stage);
    }
  });

  test('the auth stage in words: a server that never asked for auth needs no sign-in', () => {
    assert.equal(authLabel('unauthenticated'), 'No sign-in needed');
    assert.equal(authLabel('awaiting_user'), 'Needs sign-in');
    assert.equal(authLabel('authorized'), 'Signed in');
    assert.equal(authLabel('failed'), 'Sign-in failed');
    assert.equal(authLabel('exchanging'), 'Signing in…');
    assert.equal(authLabel('unauthenticated', 'credentials'), 'Needs credentials');
  });

  test('what a person must do: credentials first, then sign-in', () => {
    assert.equal(authNeeds({ status: 'connected', since: 1 }, 'unauthenticated'), undefined);
    assert.equal(authNeeds({ status: 'connected', since: 1 }, 'awaiting_user'), 'sign-in');
    assert.equal(authNeeds(waiting, 'failed'), 'sign-in');
    assert.equal(authNeeds(missing, 'unauthenticated'), 'credentials');
    assert.equal(authNeeds({ status: 'connecting', attempt: 0 }, undefined, true), 'credentials');
    assert.equal(authNeeds({ status: 'connecting', attempt: 0 }, undefined), undefined);
  });
});

describe('the status API in words', () => {
  let plain: HttpUpstream;
  let as: AuthServer;
  let secure: ProtectedMcp;
  let gw: TestGateway;

  before(async () => {
    plain = await startHttpUpstream('plain');
    as = await startAuthServer();
    secure = await startProtectedMcp({ authServer: as });
    gw = await startGateway(
      {
        mcpServers: {
          plain: { type: 'streamable-http', url: plain.url },
          secure: { url: secure.url },
          local: stdioFixture('local'),
          off: { url: plain.url, enabled: false },
          secretive: {
            url: plain.url,
            headers: { Authorization: 'Bearer literal-header-secret', 'X-Team': '${TEAM}' },
            oauth: { clientId: 'gatehouse', clientSecret: 'literal-client-secret' },
          },
        },
        systemConfig: { timeouts: FAST_TIMEOUTS },
      },
      { env: { ...process.env, TEAM: 'core' } },
    );
  });
  after(async () => {
    await gw?.close();
    await secure?.close();
    await as?.close();
    await plain?.stop();
  });

  test('each summary carries its label and, for HTTP servers, the auth stage in words', async () => {
    const connected = await gw.waitForServer('plain', (s) => s.status === 'connected', 'connected');
    assert.equal(connected.label, 'Connected');
    assert.deepEqual(connected.auth, { stage: 'unauthenticated', label: 'No sign-in needed' });

    const signIn = await gw.waitForServer('secure', (s) => s.auth?.stage === 'awaiting_user', 'waiting');
    assert.equal(signIn.label, 'Needs sign-in');
    assert.equal(signIn.auth?.needs, 'sign-in');
    assert.equal(signIn.auth?.label, 'Needs sign-in');
    assert.equal(signIn.error?.code, 'UPSTREAM_AUTH_REQUIRED', 'the raw code stays for the tooltip');

    const local = await gw.waitForServer('local', (s) => s.status === 'connected', 'connected');
    assert.equal(local.label, 'Connected');
    assert.equal(local.auth, undefined, 'a stdio server without inputs has nothing to sign in to');

    const off = await gw.waitForServer('off', (s) => s.status === 'disabled', 'disabled');
    assert.equal(off.label, 'Disabled');
  });

  test("the detail lists each tool's input schema, and a stdio program's stderr", async () => {
    await gw.waitForServer('plain', (s) => s.status === 'connected', 'connected');
    const res = await gw.api('/api/servers/plain');
    assert.equal(res.status, 200);
    const detail = (await res.json()) as ServerDetail;
    const echo = detail.tools.find((t) => t.name === 'echo');
    assert.ok(echo, 'echo is listed');
    assert.equal(echo.exposedName, 'plain__echo');
    assert.equal(echo.inputSchema.type, 'object');
    assert.deepEqual(Object.keys(echo.inputSchema.properties ?? {}), ['text']);
    assert.equal(detail.label, 'Connected');
    assert.equal(detail.auth?.label, 'No sign-in needed');
    assert.ok(Array.isArray(detail.auth?.log), 'the detail has the full auth status');
    assert.equal(detail.stderr, undefined);

    const local = (await (await gw.api('/api/servers/local')).json()) as ServerDetail;
    assert.ok(
      local.stderr?.some((line) => line.includes('fixture local started')),
      'stderr lines',
    );
  });

  test('the detail carries the entry as written, secrets redacted, with its version', async () => {
    const res = await gw.api('/api/servers/secretive');
    const text = await res.text();
    const detail = JSON.parse(text) as ServerDetail;
    assert.deepEqual(detail.entry, {
      url: plain.url,
      headers: { Authorization: { secret: true, set: true }, 'X-Team': '${TEAM}' },
      oauth: { clientId: 'gatehouse', clientSecret: { secret: true, set: true } },
    });
    assert.ok(!text.includes('literal-header-secret') && !text.includes('literal-client-secret'));
    assert.match(detail.version ?? '', /^[0-9a-f]{32}$/);
    const again = (await (await gw.api('/api/servers/secretive')).json()) as ServerDetail;
    assert.equal(again.version, detail.version, 'the same entry has the same version');
  });
});
