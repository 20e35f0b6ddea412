/**
 * "My servers" (issue 14): a person's own connections to the servers whose credentials are each
 * person's, on /api/me/servers. Team mode as in test/inbound/dashboard-team.test.ts: a real
 * oidc-provider is the company's OpenID provider and people sign in to the dashboard there (its
 * pages driven with fetch and a cookie jar per host); the per-user upstream is a real protected
 * MCP server behind a second oidc-provider, and a per-user stdio program takes a typed-in key.
 * Alice and bob each see only their own state; Connect is the gateway's connect link; Disconnect
 * revokes only the one person's grant; typed-in values never come back; the admin's summaries
 * count people and never carry a token.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FAST_TIMEOUTS, waitUntil, type TestGateway } from '../fixtures/gateway.js';
import type { AuthServer } from '../fixtures/oidc-provider.js';
import { Browser, openConnectLink, signInToDashboard } from '../fixtures/people.js';
import { keyedProgram, startPerUserTeam, type PerUserTeam } from '../fixtures/per-user-team.js';
import { cookieClient, errorCode, type CookieClient } from './admin-session-client.js';

interface MyServer {
  server: string;
  type: string;
  enabled: boolean;
  label: string;
  connection: { status: string } | null;
  auth?: { stage: string; token: unknown; account?: { name: string } };
  inputs?: Array<{ id: string; description?: string; password: boolean; set: boolean }>;
}

interface Summary {
  name: string;
  credentials?: string;
  people?: { people: number; connected: number };
}

const KEY_VALUE = 'alice-own-key-7f3a9c';

/** A person of the team: their browser (cookies by host) and their dashboard session's API client. */
interface Person {
  browser: Browser;
  api: CookieClient;
}

/** Signs `account` in to the dashboard through the company's provider. */
async function person(local: string, account: string): Promise<Person> {
  const browser = new Browser();
  await signInToDashboard(browser, local, account);
  const id = /gatehouse_session=([^;]+)/.exec(browser.cookies(local))?.[1];
  assert.ok(id, `a dashboard session for ${account}`);
  return { browser, api: cookieClient(local, id) };
}

async function json<T>(response: Response): Promise<T> {
  assert.ok(response.ok, `${response.status} ${await response.clone().text()}`);
  return (await response.json()) as T;
}

describe('My servers: each person’s own connections to per-user servers', () => {
  let team: PerUserTeam;
  let upstreamAs: AuthServer;
  let gw: TestGateway;
  let local: string;
  let alice: Person;
  let bob: Person;
  /** Every answer a test read, to check that none carries a token or a typed-in value. */
  const answers: string[] = [];

  const read = async (client: Person | TestGateway, path: string): Promise<string> => {
    const response = 'browser' in client ? await client.api.fetch(path) : await client.api(path);
    const text = await response.text();
    assert.equal(response.status, 200, text);
    answers.push(text);
    return text;
  };
  const myServers = async (client: Person | TestGateway) =>
    (JSON.parse(await read(client, '/api/me/servers')) as { servers: MyServer[] }).servers;
  const mine = async (client: Person | TestGateway, name: string) => {
    const found = (await myServers(client)).find((s) => s.server === name);
    assert.ok(found, `${name} in My servers`);
    return found;
  };
  const summaries = async () => JSON.parse(await read(gw, '/api/servers')) as Summary[];

  /**
   * The person's Connect: the connect link from their session, opened in their browser (the
   * upstream's sign-in and consent as `account`, then the gateway's callback).
   */
  const connect = async (who: Person, account: string, server: string) => {
    const started = await who.api.fetch(`/api/me/servers/${server}/authorize`, { method: 'POST' });
    const { authorizationUrl } = await json<{ authorizationUrl: string }>(started);
    assert.equal(new URL(authorizationUrl).origin, local, 'the connect link is on the gateway');
    const outcome = await openConnectLink(who.browser, authorizationUrl, account);
    assert.equal(outcome.callback?.origin, local, 'back at the gateway’s callback');
    assert.equal(outcome.status, 200, outcome.html);
  };

  before(async () => {
    team = await startPerUserTeam({
      system: { timeouts: FAST_TIMEOUTS },
      // The per-user servers beside the shared one.
      servers: (url) => ({
        gh: { type: 'streamable-http', url, credentials: 'perUser' },
        keyed: keyedProgram('keyed'),
      }),
    });
    ({ gw, local, upstreamAs } = team);
    await gw.waitForServer('alpha', (s) => s.status === 'connected');
    alice = await person(local, 'alice');
    bob = await person(local, 'bob');
  });
  after(async () => {
    await team?.close();
  });

  test('a person’s My servers lists the per-user servers in settings order, shared ones left out, each waiting for them', async () => {
    const servers = await myServers(alice);
    assert.deepEqual(
      servers.map((s) => s.server),
      ['gh', 'keyed'],
    );
    const [gh, keyed] = servers;
    assert.equal(gh!.label, 'Needs sign-in');
    assert.equal(gh!.enabled, true);
    assert.notEqual(gh!.auth?.stage, 'authorized');
    assert.equal(keyed!.label, 'Needs credentials');
    assert.equal(keyed!.type, 'stdio');
    assert.deepEqual(keyed!.inputs, [{ id: 'key', description: 'API key', password: true, set: false }]);
  });

  test('authorize answers the connect link for the session’s person; an unknown server is 404, a shared one 409 SERVER_NOT_PER_USER', async () => {
    const answer = await json<{ authorizationUrl: string }>(
      await alice.api.fetch('/api/me/servers/gh/authorize', { method: 'POST' }),
    );
    const link = new URL(answer.authorizationUrl);
    assert.equal(`${link.origin}${link.pathname}`, `${local}/oauth/connect/gh`);
    const bobs = await json<{ authorizationUrl: string }>(
      await bob.api.fetch('/api/me/servers/gh/authorize', { method: 'POST' }),
    );
    assert.notEqual(bobs.authorizationUrl, answer.authorizationUrl, 'each link names its person');

    const unknown = await alice.api.fetch('/api/me/servers/nope/authorize', { method: 'POST' });
    assert.equal(unknown.status, 404);
    assert.equal(await errorCode(unknown), 'SERVER_NOT_FOUND');
    const sharedOne = await alice.api.fetch('/api/me/servers/alpha/authorize', { method: 'POST' });
    assert.equal(sharedOne.status, 409);
    assert.equal(await errorCode(sharedOne), 'SERVER_NOT_PER_USER');
    for (const [method, path, body] of [
      ['POST', '/api/me/servers/alpha/disconnect', undefined],
      ['PUT', '/api/me/servers/alpha/inputs', JSON.stringify({ values: { key: 'x' } })],
    ] as const) {
      const refused = await alice.api.fetch(path, {
        method,
        ...(body ? { body, headers: { 'content-type': 'application/json' } } : {}),
      });
      assert.equal(await errorCode(refused), 'SERVER_NOT_PER_USER', path);
    }
    // A program has nothing to sign in to.
    const program = await alice.api.fetch('/api/me/servers/keyed/authorize', { method: 'POST' });
    assert.equal(await errorCode(program), 'OAUTH_NOT_CONFIGURED');
  });

  test('alice and bob each connect gh through their connect link; each sees only their own sign-in; the admin’s list counts them', async () => {
    await connect(alice, 'alice', 'gh');
    await waitUntil(async () => (await mine(alice, 'gh')).auth?.stage === 'authorized', 'alice authorized');
    assert.notEqual((await mine(bob, 'gh')).auth?.stage, 'authorized', 'bob has not signed in');
    assert.equal((await mine(bob, 'gh')).label, 'Needs sign-in');
    const hers = await mine(alice, 'gh');
    assert.equal(hers.auth?.account?.name, 'alice');
    assert.ok(['Connected', 'Connecting…', 'Ready'].includes(hers.label), hers.label);

    await connect(bob, 'bob', 'gh');
    await waitUntil(async () => (await mine(bob, 'gh')).auth?.stage === 'authorized', 'bob authorized');
    assert.equal((await mine(bob, 'gh')).auth?.account?.name, 'bob');
    assert.equal((await mine(alice, 'gh')).auth?.account?.name, 'alice', 'alice is still herself');
    // The administrator is a person too: their own state, which is neither alice's nor bob's.
    assert.notEqual((await mine(gw, 'gh')).auth?.stage, 'authorized');

    const list = await summaries();
    assert.deepEqual(
      list.map((s) => [s.name, s.credentials]),
      [
        ['alpha', 'shared'],
        ['gh', 'perUser'],
        ['keyed', 'perUser'],
      ],
    );
    assert.equal(list.find((s) => s.name === 'alpha')!.people, undefined, 'a shared server counts nobody');
    const gh = list.find((s) => s.name === 'gh')!;
    assert.equal(gh.people?.people, 2);
    assert.ok(gh.people!.connected <= 2, JSON.stringify(gh.people));
    const detail = JSON.parse(await read(gw, '/api/servers/gh')) as Summary;
    assert.equal(detail.credentials, 'perUser');
    assert.equal(detail.people?.people, 2);
  });

  test('alice’s Disconnect revokes her grant at the authorization server and forgets it; bob stays signed in', async () => {
    await waitUntil(async () => (await mine(alice, 'gh')).auth?.stage === 'authorized', 'alice authorized');
    const running = (await mine(alice, 'gh')).connection !== null;
    const before = (await summaries()).find((s) => s.name === 'gh')!.people!;
    const revocations = upstreamAs.counts.revocations;
    const answer = await alice.api.fetch('/api/me/servers/gh/disconnect', { method: 'POST' });
    assert.equal(answer.status, 204);
    assert.ok(upstreamAs.counts.revocations > revocations, 'revoked at the authorization server');
    const hers = await mine(alice, 'gh');
    assert.notEqual(hers.auth?.stage, 'authorized');
    assert.equal(hers.auth?.token ?? null, null, 'no tokens of hers are left');
    assert.equal(hers.label, 'Needs sign-in');
    assert.equal((await mine(bob, 'gh')).auth?.stage, 'authorized', 'bob is untouched');
    // Her connection, if one ran, is closed: the administrator's count says so.
    const gh = (await summaries()).find((s) => s.name === 'gh')!;
    assert.equal(gh.people?.connected, before.connected - (running ? 1 : 0));
    assert.equal(gh.people?.people, before.people - 1, 'she no longer counts as connected to it');
    assert.equal((await mine(alice, 'gh')).connection, null);
  });

  test('alice sets her own key for the program: set for her, not for bob, and the value comes back in no answer', async () => {
    const put = (who: Person, values: Record<string, string | null>) =>
      who.api.fetch('/api/me/servers/keyed/inputs', {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ values }),
      });
    const stored = await put(alice, { key: KEY_VALUE });
    assert.equal(stored.status, 204);
    assert.equal(await stored.text(), '');
    const hers = await mine(alice, 'keyed');
    assert.deepEqual(hers.inputs, [{ id: 'key', description: 'API key', password: true, set: true }]);
    assert.notEqual(hers.label, 'Needs credentials');
    assert.deepEqual((await mine(bob, 'keyed')).inputs?.[0]?.set, false, 'bob’s own is still unset');
    assert.equal((await mine(bob, 'keyed')).label, 'Needs credentials');

    // The same checks as the administrator's inputs route.
    const undeclared = await put(alice, { other: 'x' });
    assert.equal(undeclared.status, 400);
    assert.equal(await errorCode(undeclared), 'BAD_REQUEST');
    const control = await put(alice, { key: 'two\nlines' });
    assert.equal(control.status, 400);
    assert.equal(await errorCode(control), 'BAD_REQUEST');

    // Forgetting it (null) unsets it again.
    assert.equal((await put(alice, { key: null })).status, 204);
    assert.equal((await mine(alice, 'keyed')).inputs?.[0]?.set, false);
    assert.equal((await put(alice, { key: KEY_VALUE })).status, 204);

    await summaries();
    await read(gw, '/api/servers/keyed');
    for (const text of answers) assert.ok(!text.includes(KEY_VALUE), 'the typed-in value in an answer');
  });

  test('no answer of the person’s routes or the admin’s summaries carries an upstream token', async () => {
    await summaries();
    await read(gw, '/api/servers/gh');
    await myServers(alice);
    await myServers(bob);
    const secrets = [...team.mcp.seen.tokens, upstreamAs.lastRefreshToken].filter(
      (token): token is string => typeof token === 'string' && token.length > 0,
    );
    assert.ok(secrets.length > 0, 'the upstream saw tokens');
    for (const text of answers)
      for (const secret of secrets) assert.ok(!text.includes(secret), 'a token in an answer');
  });

  test('without a session the person’s routes answer 401; a cookie change from another origin is refused', async () => {
    const bare = await fetch(`${local}/api/me/servers`);
    assert.equal(bare.status, 401);
    const crossSite = await alice.api.fetch('/api/me/servers/gh/disconnect', {
      method: 'POST',
      origin: 'https://evil.example',
    });
    assert.equal(crossSite.status, 403);
    assert.equal(await errorCode(crossSite), 'ORIGIN_REJECTED');
  });
});
