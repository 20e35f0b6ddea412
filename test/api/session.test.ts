/**
 * Sign-in by cookie against a real gateway: the admin token is traded for an HttpOnly,
 * SameSite=Strict session cookie; the cookie alone then reads the API, and changes need the
 * gateway's own Origin; sign-out ends the session on the server. One guard covers every /api route.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ADMIN_TOKEN, startGateway, type TestGateway } from '../fixtures/gateway.js';
import { cookieClient, errorCode, routesOf, signIn } from './admin-session-client.js';

describe('sign-in with the admin token, then the session cookie', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway({ mcpServers: { off: { command: 'never-started', enabled: false } } });
  });
  after(() => gw.close());

  test('POST /api/session with the token sets an HttpOnly, SameSite=Strict cookie for the whole gateway', async () => {
    const response = await fetch(`${gw.base}/api/session`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    assert.equal(response.status, 204);
    assert.equal(await response.text(), '', 'the session id is never in a body');
    const setCookie = response.headers.get('set-cookie') ?? '';
    const [pair, ...attributes] = setCookie.split(';').map((part) => part.trim());
    assert.match(pair ?? '', /^gatehouse_session=[A-Za-z0-9_-]{43}$/, '32 random bytes, base64url');
    assert.deepEqual(attributes.sort(), ['HttpOnly', 'Path=/', 'SameSite=Strict']);
    assert.equal(response.headers.get('cache-control'), 'no-store');
  });

  test('each sign-in gets its own random session id', async () => {
    const a = await signIn(gw.base);
    const b = await signIn(gw.base);
    assert.notEqual(a.sessionId, b.sessionId);
  });

  test('the cookie alone reads the API, in any number of tabs', async () => {
    const tab = await signIn(gw.base);
    const session = await tab.fetch('/api/session');
    assert.equal(session.status, 200);
    assert.deepEqual(await session.json(), { signedIn: true, subject: 'admin', role: 'admin' });
    const secondTab = cookieClient(gw.base, tab.sessionId);
    const servers = await secondTab.fetch('/api/servers');
    assert.equal(servers.status, 200);
    assert.deepEqual(
      ((await servers.json()) as Array<{ name: string }>).map((s) => s.name),
      ['off'],
    );
    assert.equal((await secondTab.fetch('/api/settings/status')).status, 200);
  });

  test('without a token or a live session, GET /api/session is 401 ADMIN_UNAUTHORIZED', async () => {
    const none = await fetch(`${gw.base}/api/session`);
    assert.equal(none.status, 401);
    assert.equal(await errorCode(none), 'ADMIN_UNAUTHORIZED');
    const made = cookieClient(gw.base, 'A'.repeat(43));
    assert.equal(await errorCode(await made.fetch('/api/session')), 'ADMIN_UNAUTHORIZED');
  });

  test('a change with the cookie needs the gateway’s own Origin', async () => {
    const tab = await signIn(gw.base);
    const foreign = await tab.fetch('/api/servers/off/reconnect', {
      method: 'POST',
      origin: 'http://evil.example',
    });
    assert.equal(foreign.status, 403);
    assert.equal(await errorCode(foreign), 'ORIGIN_REJECTED');
    const missing = await tab.fetch('/api/servers/off/reconnect', { method: 'POST', origin: null });
    assert.equal(missing.status, 403);
    assert.equal(await errorCode(missing), 'ORIGIN_REJECTED');
    const opaque = await tab.fetch('/api/servers/off/reconnect', { method: 'POST', origin: 'null' });
    assert.equal(await errorCode(opaque), 'ORIGIN_REJECTED');
    // Another port of the same host is another origin.
    const port = Number(new URL(gw.base).port);
    const otherPort = await tab.fetch('/api/servers/off/reconnect', {
      method: 'POST',
      origin: `http://127.0.0.1:${port + 1}`,
    });
    assert.equal(await errorCode(otherPort), 'ORIGIN_REJECTED');
    const own = await tab.fetch('/api/servers/off/reconnect', { method: 'POST' });
    assert.equal(own.status, 202);
  });

  test('scripts keep using the bearer token, with no Origin', async () => {
    const response = await gw.api('/api/servers/off/reconnect', { method: 'POST' });
    assert.equal(response.status, 202);
  });

  test('a wrong bearer token is refused even alongside a good cookie', async () => {
    const tab = await signIn(gw.base);
    const response = await tab.fetch('/api/servers', { headers: { authorization: 'Bearer wrong-token' } });
    assert.equal(response.status, 401);
  });

  test('the cookie cannot mint another session: POST /api/session needs the token', async () => {
    const tab = await signIn(gw.base);
    const response = await tab.fetch('/api/session', { method: 'POST' });
    assert.equal(response.status, 401);
    assert.equal(response.headers.get('set-cookie'), null);
  });

  test('sign-out ends the session on the server and clears the cookie', async () => {
    const tab = await signIn(gw.base);
    const other = await signIn(gw.base);
    const foreign = await tab.fetch('/api/session', { method: 'DELETE', origin: 'http://evil.example' });
    assert.equal(foreign.status, 403, 'a cross-site page cannot sign a person out either');
    const out = await tab.fetch('/api/session', { method: 'DELETE' });
    assert.equal(out.status, 204);
    assert.match(out.headers.get('set-cookie') ?? '', /^gatehouse_session=; .*Max-Age=0/);
    // The old cookie is dead even if a browser (or an attacker who copied it) still sends it.
    assert.equal((await tab.fetch('/api/session')).status, 401);
    assert.equal((await tab.fetch('/api/servers')).status, 401);
    assert.equal((await other.fetch('/api/session')).status, 200, 'other sessions stay');
  });

  test('every /api route but the two that start a sign-in refuses a request without credentials, and a cross-site change with the cookie', async () => {
    const signInStarts = ['/api/session/methods', '/api/session/team'];
    const routes = routesOf(gw.app.printRoutes({ commonPrefix: false })).filter(
      ([, path]) => path.startsWith('/api/') && !signInStarts.includes(path),
    );
    assert.ok(routes.length >= 8, `the routes were found: ${JSON.stringify(routes)}`);
    const tab = await signIn(gw.base);
    for (const [method, pattern] of routes) {
      const path = pattern.replace(/:(\w+)/g, 'off');
      const body = method === 'GET' || method === 'DELETE' ? undefined : '{}';
      const headers: Record<string, string> =
        body === undefined ? {} : { 'content-type': 'application/json' };
      const anonymous = await fetch(`${gw.base}${path}`, { method, headers, body });
      assert.equal(anonymous.status, 401, `${method} ${pattern} without credentials`);
      assert.equal(await errorCode(anonymous), 'ADMIN_UNAUTHORIZED', `${method} ${pattern}`);
      if (method !== 'GET') {
        const crossSite = await tab.fetch(path, { method, headers, body, origin: 'http://evil.example' });
        assert.equal(crossSite.status, 403, `${method} ${pattern} with the cookie from another origin`);
      }
    }
    // Without a team login (no company provider in the settings) they offer nothing.
    const methods = await fetch(`${gw.base}/api/session/methods`);
    assert.equal(methods.status, 200);
    assert.deepEqual(await methods.json(), {});
    const team = await fetch(`${gw.base}/api/session/team`, { redirect: 'manual' });
    assert.equal(team.status, 409);
    assert.equal(await errorCode(team), 'INBOUND_AUTH_NOT_CONFIGURED');
  });
});

describe('behind an https baseUrl', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway({
      mcpServers: { off: { command: 'never-started', enabled: false } },
      systemConfig: { baseUrl: 'https://gatehouse.example.test/' },
    });
  });
  after(() => gw.close());

  test('the cookie is Secure, and the baseUrl’s origin counts as the gateway’s own', async () => {
    const tab = await signIn(gw.base);
    assert.match(tab.setCookie, /; Secure(;|$)/);
    const viaProxy = await tab.fetch('/api/servers/off/reconnect', {
      method: 'POST',
      origin: 'https://gatehouse.example.test',
    });
    assert.equal(viaProxy.status, 202);
    const direct = await tab.fetch('/api/servers/off/reconnect', { method: 'POST' });
    assert.equal(direct.status, 202, 'the origin the request itself names still counts');
    const out = await tab.fetch('/api/session', { method: 'DELETE' });
    assert.match(out.headers.get('set-cookie') ?? '', /; Secure(;|$)/);
  });
});

test('session ids never reach the log', async () => {
  const lines: string[] = [];
  const gw = await startGateway(
    { mcpServers: { off: { command: 'never-started', enabled: false } } },
    { logger: { level: 'debug', stream: { write: (line: string) => void lines.push(line) } } },
  );
  try {
    const tab = await signIn(gw.base);
    await tab.fetch('/api/servers');
    await tab.fetch('/api/servers/off/reconnect', { method: 'POST', origin: 'http://evil.example' });
    await tab.fetch('/api/session', { method: 'DELETE' });
    await tab.fetch('/api/session');
    assert.ok(
      lines.some((line) => line.includes('/api/session')),
      'requests are logged at debug',
    );
    const leaked = lines.find((line) => line.includes(tab.sessionId) || line.includes(ADMIN_TOKEN));
    assert.equal(leaked, undefined, `a log line holds a credential: ${leaked?.slice(0, 200)}`);
  } finally {
    await gw.close();
  }
});
