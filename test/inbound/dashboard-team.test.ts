/**
 * People in the dashboard (issue 13, team mode): a person signs in to the dashboard through the
 * company's OpenID provider (a real oidc-provider; its pages driven with fetch and a cookie jar per
 * host, and once in Chromium), gets a `user` session, and sees and manages only their own API keys
 * and authorized clients under /api/me; every admin route answers 403 ADMIN_REQUIRED. Gatehouse is
 * registered at the provider by DCR and switched to team mode by a live settings edit, as in
 * team.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { auth } from '@modelcontextprotocol/sdk/client/auth.js';
import { sessionMayCall } from '../../server/api/admin-guard.js';
import { launchChromium } from '../fixtures/browser.js';
import { initializeStatus, type TestGateway } from '../fixtures/gateway.js';
import { startHttpUpstream, type HttpUpstream } from '../fixtures/mcp-upstream.js';
import { startAuthServer, type AuthServer } from '../fixtures/oidc-provider.js';
import {
  cookieClient,
  errorCode,
  signIn as adminSignIn,
  type CookieClient,
} from '../api/admin-session-client.js';
import { MemoryClientProvider, sdkSignIn } from './oauth-client.js';
import { startTeamGateway } from './team-gateway.js';

/** What the provider's return to Gatehouse answered, after a person's dashboard sign-in. */
interface CallbackAnswer {
  status: number;
  location: string | null;
  setCookie: string | null;
  html: string;
}

/**
 * Plays a browser from the dashboard's "Sign in with <provider>" (GET /api/session/team) through
 * the provider's own sign-in and consent pages, up to Gatehouse's callback, whose answer it returns.
 */
async function dashboardSignIn(local: string, account: string): Promise<CallbackAnswer> {
  const jars = new Map<string, Map<string, string>>();
  const jarOf = (url: string) => {
    const host = new URL(url).host;
    if (!jars.has(host)) jars.set(host, new Map());
    return jars.get(host)!;
  };
  let next: { url: string; method: 'GET' | 'POST'; body?: URLSearchParams } = {
    url: `${local}/api/session/team`,
    method: 'GET',
  };
  for (let hop = 0; hop < 20; hop++) {
    const jar = jarOf(next.url);
    const response = await fetch(next.url, {
      method: next.method,
      redirect: 'manual',
      headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') },
      ...(next.body ? { body: next.body } : {}),
    });
    if (new URL(next.url).pathname === '/oauth2/login/callback') {
      return {
        status: response.status,
        location: response.headers.get('location'),
        setCookie: response.headers.get('set-cookie'),
        html: await response.text(),
      };
    }
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      await response.body?.cancel();
      next = { url: new URL(location, next.url).href, method: 'GET' };
      continue;
    }
    const html = await response.text();
    const prompt = /name="prompt" value="(\w+)"/.exec(html)?.[1];
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    if (!prompt || !action || response.status !== 200) {
      throw new Error(`stuck at ${next.url} (${response.status}): ${html.slice(0, 300)}`);
    }
    const fields: Record<string, string> =
      prompt === 'login' ? { prompt, login: account, password: 'irrelevant' } : { prompt };
    next = {
      url: new URL(action.replaceAll('&amp;', '&'), next.url).href,
      method: 'POST',
      body: new URLSearchParams(fields),
    };
  }
  throw new Error('too many redirects');
}

/** A person's dashboard session: sign in, check the callback's answer, and keep the cookie. */
async function personSession(local: string, account: string): Promise<CookieClient> {
  const answer = await dashboardSignIn(local, account);
  assert.equal(answer.status, 303, answer.html);
  const id = /^gatehouse_session=([^;]+)/.exec(answer.setCookie ?? '')?.[1];
  assert.ok(id, `a session cookie: ${answer.setCookie}`);
  return cookieClient(local, id, answer.setCookie!);
}

async function json<T>(response: Response): Promise<T> {
  assert.ok(response.ok, `${response.status} ${await response.clone().text()}`);
  return (await response.json()) as T;
}

interface KeyAnswer {
  key: { id: string; user: string; createdBy: string; scopes: string[] };
  secret: string;
}
interface ClientRow {
  grantId: string;
  clientId: string;
  subject: string;
}

test('a person’s session may call only /api/session* and /api/me*; the admin’s anything', () => {
  for (const path of [
    '/api/session',
    '/api/session/team',
    '/api/me',
    '/api/me/keys',
    '/api/me/clients/:grantId',
  ]) {
    assert.equal(sessionMayCall('user', path), true, path);
    assert.equal(sessionMayCall('admin', path), true, path);
  }
  for (const path of [
    '/api/servers',
    '/api/keys',
    '/api/clients',
    '/api/events',
    '/api/settings/raw',
    '/api/mess',
    '/api/sessions',
    '',
    '/',
  ]) {
    assert.equal(sessionMayCall('user', path), false, path);
    assert.equal(sessionMayCall('admin', path), true, path);
  }
});

describe('team mode: people sign in to the dashboard and manage their own keys and clients', () => {
  let idp: AuthServer;
  let upstream: HttpUpstream;
  let gw: TestGateway;
  let local: string;
  let alice: CookieClient;

  before(async () => {
    upstream = await startHttpUpstream('alpha');
    idp = await startAuthServer({ emailClaims: true, emailVerified: true });
    ({ gw, local } = await startTeamGateway(idp, upstream.url, { allowedDomains: ['example.com'] }));
    await gw.waitForServer('alpha', (s) => s.status === 'connected');
    alice = await personSession(local, 'alice');
  });
  after(async () => {
    await gw.close();
    await idp.close();
    await upstream.stop();
  });

  test('the sign-in methods name the provider; /api/session/team sends the browser there for Gatehouse’s callback', async () => {
    const methods = await fetch(`${local}/api/session/methods`);
    assert.deepEqual(await json(methods), { team: { provider: new URL(idp.issuer).host } });
    const start = await fetch(`${local}/api/session/team`, { redirect: 'manual' });
    assert.equal(start.status, 302);
    const to = new URL(start.headers.get('location')!);
    assert.equal(to.origin, idp.origin);
    assert.equal(to.searchParams.get('redirect_uri'), `${local}/oauth2/login/callback`);
    assert.equal(to.searchParams.get('code_challenge_method'), 'S256');
    assert.ok(to.searchParams.get('state'));
  });

  test('from another Host the dashboard sign-in does not start', async () => {
    const answer = await gw.app.inject({ url: '/api/session/team', headers: { host: 'evil.example' } });
    assert.equal(answer.statusCode, 403);
    assert.equal(answer.json<{ error: { code: string } }>().error.code, 'ORIGIN_REJECTED');
  });

  test('alice’s sign-in sets the session cookie on the return and 303s to the dashboard; the session names her', async () => {
    const answer = await dashboardSignIn(local, 'alice');
    assert.equal(answer.status, 303);
    assert.equal(answer.location, '/#/');
    const [pair, ...attributes] = (answer.setCookie ?? '').split(';').map((part) => part.trim());
    assert.match(pair ?? '', /^gatehouse_session=[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(attributes.sort(), ['HttpOnly', 'Path=/', 'SameSite=Strict']);

    assert.deepEqual(await json(await alice.fetch('/api/session')), {
      signedIn: true,
      subject: 'alice@example.com',
      role: 'user',
    });
    assert.deepEqual(await json(await alice.fetch('/api/me')), {
      subject: 'alice@example.com',
      role: 'user',
    });
  });

  test('alice’s session gets 403 ADMIN_REQUIRED from every admin route, /api/events included', async () => {
    const refused: Array<[string, string, unknown?]> = [
      ['GET', '/api/servers'],
      ['GET', '/api/servers/alpha'],
      ['POST', '/api/servers/alpha/reconnect'],
      ['GET', '/api/keys'],
      ['POST', '/api/keys', { name: 'mine', scopes: ['mcp:all'] }],
      ['GET', '/api/clients'],
      ['GET', '/api/events'],
      ['GET', '/api/settings/raw'],
      ['PUT', '/api/settings/raw', { text: '{}', version: 'x' }],
    ];
    for (const [method, path, body] of refused) {
      const response = await alice.fetch(path, {
        method,
        ...(body === undefined
          ? {}
          : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      });
      assert.equal(response.status, 403, `${method} ${path}`);
      assert.equal(await errorCode(response), 'ADMIN_REQUIRED', `${method} ${path}`);
    }
    // A change still needs the gateway's own Origin first.
    const crossSite = await alice.fetch('/api/me/keys', {
      method: 'POST',
      origin: 'http://evil.example',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x', scopes: ['mcp:all'] }),
    });
    assert.equal(await errorCode(crossSite), 'ORIGIN_REJECTED');
  });

  test('alice’s key acts as her, works on /mcp, shows in the admin’s list; she cannot touch the admin’s key', async () => {
    const adminKey = await json<KeyAnswer>(
      await gw.api('/api/keys', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'admin script', scopes: ['mcp:all'] }),
      }),
    );
    const post = (body: unknown) =>
      alice.fetch('/api/me/keys', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const impersonating = await post({ name: 'as bob', scopes: ['mcp:all'], user: 'bob@example.com' });
    assert.equal(impersonating.status, 400, 'a person cannot name another user');
    await impersonating.body?.cancel();
    assert.equal(await errorCode(await post({ name: 'bad', scopes: ['mcp:server:nope'] })), 'SCOPE_INVALID');

    const created = await post({ name: 'alice laptop', scopes: ['mcp:server:alpha'] });
    assert.equal(created.status, 201);
    const mine = (await created.json()) as KeyAnswer;
    assert.equal(mine.key.user, 'alice@example.com');
    assert.equal(mine.key.createdBy, 'alice@example.com');
    assert.match(mine.secret, /^gh_/);

    const { keys } = await json<{ keys: Array<{ id: string; user: string }> }>(
      await alice.fetch('/api/me/keys'),
    );
    assert.deepEqual(
      keys.map((k) => k.id),
      [mine.key.id],
      'only her keys',
    );
    const all = await json<{ keys: Array<{ id: string; user: string }> }>(await gw.api('/api/keys'));
    assert.equal(all.keys.find((k) => k.id === mine.key.id)?.user, 'alice@example.com');
    assert.equal(await initializeStatus(`${local}/mcp`, mine.secret), 200, 'her key works on /mcp');

    const other = await alice.fetch(`/api/me/keys/${adminKey.key.id}`, { method: 'DELETE' });
    assert.equal(other.status, 404);
    assert.equal(await errorCode(other), 'KEY_NOT_FOUND');
    assert.equal(await initializeStatus(`${local}/mcp`, adminKey.secret), 200, 'the admin’s key still works');

    assert.equal((await alice.fetch(`/api/me/keys/${mine.key.id}`, { method: 'DELETE' })).status, 204);
    assert.equal(await initializeStatus(`${local}/mcp`, mine.secret), 401, 'revoked: refused at once');
  });

  test('alice sees and revokes her authorized client, never bob’s; her token is refused at once', async () => {
    const serverUrl = `${local}/mcp`;
    const aliceClient = await sdkSignIn(serverUrl, new MemoryClientProvider({ name: 'Alice’s agent' }), {
      idpAccount: 'alice',
    });
    const bobClient = await sdkSignIn(serverUrl, new MemoryClientProvider({ name: 'Bob’s agent' }), {
      idpAccount: 'bob',
    });
    const aliceToken = aliceClient.provider.saved!.access_token;
    const bobToken = bobClient.provider.saved!.access_token;
    assert.equal(await initializeStatus(serverUrl, aliceToken), 200);

    const { clients } = await json<{ clients: ClientRow[] }>(await alice.fetch('/api/me/clients'));
    assert.ok(clients.length >= 1);
    assert.ok(
      clients.every((c) => c.subject === 'alice@example.com'),
      JSON.stringify(clients),
    );
    const hers = clients.find((c) => c.clientId === aliceClient.provider.client!.client_id);
    assert.ok(hers, 'her client is listed');
    assert.ok(!clients.some((c) => c.clientId === bobClient.provider.client!.client_id), 'bob’s is not');

    const everyone = await json<{ clients: ClientRow[] }>(await gw.api('/api/clients'));
    const bobs = everyone.clients.find((c) => c.clientId === bobClient.provider.client!.client_id);
    assert.ok(bobs);
    const notHers = await alice.fetch(`/api/me/clients/${bobs.grantId}`, { method: 'DELETE' });
    assert.equal(notHers.status, 404);
    assert.equal(await errorCode(notHers), 'INBOUND_GRANT_NOT_FOUND');
    assert.equal(await initializeStatus(serverUrl, bobToken), 200, 'bob’s client still works');

    assert.equal((await alice.fetch(`/api/me/clients/${hers.grantId}`, { method: 'DELETE' })).status, 204);
    assert.equal(await initializeStatus(serverUrl, aliceToken), 401, 'revoked: refused at once');
    const after = await json<{ clients: ClientRow[] }>(await alice.fetch('/api/me/clients'));
    assert.ok(!after.clients.some((c) => c.grantId === hers.grantId));
  });

  test('a person’s session never signs in as the admin at the authorization server', async () => {
    const provider = new MemoryClientProvider();
    assert.equal(await auth(provider, { serverUrl: `${local}/mcp` }), 'REDIRECT');
    const start = await fetch(provider.authorizationUrl!, { redirect: 'manual' });
    await start.body?.cancel();
    const interaction = start.headers
      .getSetCookie()
      .map((line) => line.split(';')[0])
      .join('; ');
    const pageUrl = new URL(start.headers.get('location')!, provider.authorizationUrl);
    const cookie = `${interaction}; ${alice.cookie}`;
    const page = await fetch(pageUrl, { headers: { cookie } });
    assert.equal(page.status, 200, 'the sign-in page, not an automatic admin sign-in');
    assert.match(await page.text(), /Admin token/);
    const posted = await fetch(`${pageUrl.href}/login`, {
      method: 'POST',
      headers: {
        cookie,
        'content-type': 'application/x-www-form-urlencoded',
        'sec-fetch-site': 'same-origin',
      },
      body: new URLSearchParams({ method: 'session' }),
    });
    assert.equal(posted.status, 403);
    assert.match(await posted.text(), /not signed in to the Gatehouse dashboard/);
  });

  test('a person outside allowedDomains gets the 403 page and no session', async () => {
    const answer = await dashboardSignIn(local, 'mallory@other.test');
    assert.equal(answer.status, 403);
    assert.equal(answer.setCookie, null);
    assert.match(answer.html, /mallory@other\.test may not sign in to Gatehouse; ask the administrator\./);
  });

  test('the admin’s session and bearer token still reach everything, /api/me as admin', async () => {
    const admin = await adminSignIn(local);
    assert.deepEqual(await json(await admin.fetch('/api/session')), {
      signedIn: true,
      subject: 'admin',
      role: 'admin',
    });
    assert.equal((await admin.fetch('/api/servers')).status, 200);
    assert.equal((await admin.fetch('/api/clients')).status, 200);
    assert.deepEqual(await json(await admin.fetch('/api/me')), { subject: 'admin', role: 'admin' });
    assert.deepEqual(await json(await gw.api('/api/session')), {
      signedIn: true,
      subject: 'admin',
      role: 'admin',
    });
    const { keys } = await json<{ keys: Array<{ user: string }> }>(await gw.api('/api/me/keys'));
    assert.ok(keys.every((k) => k.user === 'admin'));
    assert.equal((await gw.api('/api/settings/raw')).status, 200);
  });

  test('signing out ends a person’s session', async () => {
    const bob = await personSession(local, 'bob');
    assert.equal((await bob.fetch('/api/session', { method: 'DELETE' })).status, 204);
    assert.equal((await bob.fetch('/api/me')).status, 401);
  });

  test('in Chromium: the cookie set on the provider’s cross-site return comes with the dashboard’s next request', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${local}/api/session/team`);
      // oidc-provider's development pages: sign in, then consent.
      await page.locator('input[name="login"]').fill('dave');
      await page.locator('input[name="password"]').fill('irrelevant');
      await page.locator('button[type="submit"]').click();
      await page.locator('button[type="submit"]').click();
      await page.waitForURL((url) => url.origin === local && url.hash === '#/');
      const session = await page.evaluate(async () => {
        const response = await fetch('/api/session');
        return { status: response.status, body: (await response.json()) as unknown };
      });
      assert.deepEqual(session, {
        status: 200,
        body: { signedIn: true, subject: 'dave@example.com', role: 'user' },
      });
    } finally {
      await browser.close();
    }
  });
});
