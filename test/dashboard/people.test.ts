/**
 * People in the dashboard (issue 13, team mode) in Debian's Chromium: a real oidc-provider is the
 * company's OpenID provider, Gatehouse registers there by dynamic registration and is switched to
 * team mode by a live settings edit (as in test/inbound/team.test.ts). Alice clicks "Sign in with
 * <provider>" on the sign-in screen, signs in on the provider's own pages, and comes back signed in
 * as herself: she sees only My servers, My keys and My clients (on /api/me/*), every other screen says it
 * needs the administrator, and no live feed is opened for her. Her key acts as her; her clients
 * are hers and not bob's, and revoking one refuses its token on /mcp at once. The administrator
 * still sees everything.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../fixtures/browser.js';
import { ADMIN_TOKEN, FAST_TIMEOUTS, initializeStatus, type TestGateway } from '../fixtures/gateway.js';
import { startHttpUpstream, type HttpUpstream } from '../fixtures/mcp-upstream.js';
import { startAuthServer, type AuthServer } from '../fixtures/oidc-provider.js';
import { MemoryClientProvider, sdkSignIn } from '../inbound/oauth-client.js';
import {
  assertPageClean,
  axeViolations,
  go,
  newPage,
  PHONE,
  screenshot,
  signIn,
  signInThroughProvider,
  waitForText,
} from './page.js';

import { startTeamGateway } from '../inbound/team-gateway.js';

interface KeyView {
  id: string;
  name: string;
  scopes: string[];
  user: string;
  createdBy: string;
}

/** The serious and critical axe violations, in words. */
async function axeProblems(page: Page): Promise<string[]> {
  return (await axeViolations(page)).map(
    (v) => `${v.id} (${v.impact}): ${v.help} at ${JSON.stringify(v.nodes.map((n) => n.target))}`,
  );
}

/** The visible links of the main navigation, by text. */
const navLinks = (page: Page) =>
  page.evaluate(() =>
    Array.from(document.querySelectorAll<HTMLElement>('#nav a'))
      .filter((a) => !a.closest('[hidden]'))
      .map((a) => a.textContent ?? ''),
  );

describe('people of the team in the dashboard', () => {
  let idp: AuthServer;
  let upstream: HttpUpstream;
  let gw: TestGateway;
  let browser: Browser;
  /** Gatehouse as it names itself without baseUrl (its redirect URI at the provider). */
  let local: string;
  let providerHost: string;

  const adminKeys = async () => ((await (await gw.api('/api/keys')).json()) as { keys: KeyView[] }).keys;

  before(async () => {
    upstream = await startHttpUpstream('alpha');
    idp = await startAuthServer({ emailClaims: true, emailVerified: true });
    providerHost = new URL(idp.issuer).host;
    ({ gw, local } = await startTeamGateway(
      idp,
      upstream.url,
      { allowedDomains: ['example.com'] },
      { system: { timeouts: FAST_TIMEOUTS } },
    ));
    await gw.waitForServer('alpha', (s) => s.status === 'connected');
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await gw?.close();
    await idp?.close();
    await upstream?.stop();
  });

  const signInAsPerson = (page: Page, account: string) =>
    signInThroughProvider(page, local, idp.origin, account);

  test('the sign-in screen offers the company provider, and the admin token apart as the administrator’s', async () => {
    const page = await newPage(browser);
    await page.goto(`${local}/`);
    const link = page.getByRole('link', { name: `Sign in with ${providerHost}` });
    await link.waitFor();
    assert.equal(await link.getAttribute('href'), 'api/session/team');
    await page.getByRole('heading', { name: 'Administrator: paste the admin token' }).waitFor();
    await page.getByRole('textbox', { name: 'Admin token' }).waitFor();
    assert.equal(await page.locator('#nav').isHidden(), true);
    assertPageClean(page);
    await page.context().close();
  });

  test('alice signs in through the provider: her e-mail at the top, only My servers, My keys and My clients, the rest needs the administrator, no live feed, a second tab stays signed in, Sign out ends it', async () => {
    const page = await newPage(browser);
    const apiCalls: string[] = [];
    page.context().on('request', (request) => {
      const url = new URL(request.url());
      if (url.origin === local && url.pathname.startsWith('/api/')) apiCalls.push(url.pathname);
    });
    await signInAsPerson(page, 'alice');
    assert.equal(await page.locator('#who').innerText(), 'Signed in as alice@example.com');
    assert.deepEqual(await navLinks(page), ['My servers', 'My keys', 'My clients']);
    // Sent back to the bare address, she lands on her keys.
    await page.getByRole('heading', { name: 'My API keys', level: 2 }).waitFor();
    assert.equal(new URL(page.url()).hash, '#/keys');
    assert.equal(await page.locator('#live').isHidden(), true);
    assert.equal(await page.getByRole('button', { name: 'Sign out' }).isVisible(), true);

    for (const route of ['#/', '#/servers/alpha', '#/settings', '#/groups', '#/add']) {
      await go(page, route);
      await page.getByRole('heading', { name: 'This needs the Gatehouse administrator', level: 2 }).waitFor();
      await page.getByText('You are signed in as alice@example.com.').waitFor();
    }
    await go(page, '#/clients');
    await page.getByRole('heading', { name: 'My clients', level: 2 }).waitFor();

    // Another tab of the same browser rides on the cookie.
    const second = await page.context().newPage();
    await second.goto(`${local}/#/clients`);
    await second.getByRole('heading', { name: 'My clients', level: 2 }).waitFor();
    assert.equal(await second.locator('#who').innerText(), 'Signed in as alice@example.com');
    assert.equal(await second.locator('#login').isHidden(), true);

    // Her page called only the sign-in routes and her own things: never the live feed, never an
    // administrator's route (each would be a 403 ADMIN_REQUIRED).
    assert.ok(apiCalls.length > 0);
    assert.deepEqual(
      apiCalls.filter((path) => !/^\/api\/(session|me)(\/|$)/.test(path)),
      [],
      'only /api/session* and /api/me*',
    );

    // Sign out ends her session: both tabs are back at the sign-in screen with the provider.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('link', { name: `Sign in with ${providerHost}` }).waitFor();
    assert.equal(await page.locator('#who').isHidden(), true);
    await second.reload();
    await second.getByRole('link', { name: `Sign in with ${providerHost}` }).waitFor();
    assert.equal(await second.locator('#nav').isHidden(), true);
    assertPageClean(page);
    assertPageClean(second);
    await page.context().close();
  });

  test('alice’s key acts as her (the admin’s list says so), she sees only her keys, and Revoke refuses it on /mcp', async () => {
    // A key of bob's, made by the admin: not hers to see.
    const made = await gw.api('/api/keys', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'bobs-script', scopes: ['mcp:all'], user: 'bob@example.com' }),
    });
    assert.equal(made.status, 201);

    const page = await newPage(browser);
    await signInAsPerson(page, 'alice');
    await waitForText(page, '.keys .summary', (t) => t !== 'Loading keys…', 'her list');
    assert.equal(await page.getByLabel('Acts as (optional)').count(), 0, 'no Acts as field');
    assert.equal(await page.getByText('bobs-script').count(), 0, 'not bob’s key');

    await page.getByLabel('Name', { exact: true }).fill('laptop');
    await page.getByLabel('Everything', { exact: true }).check();
    await page.getByRole('button', { name: 'Create key' }).click();
    const field = page.getByLabel('Secret of laptop', { exact: true });
    await field.waitFor();
    const secret = await field.inputValue();
    assert.match(secret, /^gh_/);

    const laptop = (await adminKeys()).find((key) => key.name === 'laptop');
    assert.equal(laptop?.user, 'alice@example.com');
    assert.equal(laptop?.createdBy, 'alice@example.com');
    assert.equal(await initializeStatus(`${gw.base}/mcp`, secret), 200);

    const item = page.locator('li.key', { has: page.getByRole('heading', { name: 'laptop' }) });
    await item.waitFor();
    await item.getByRole('button', { name: 'Revoke laptop' }).click();
    await page
      .getByRole('dialog', { name: 'Revoke laptop?' })
      .getByRole('button', { name: 'Revoke laptop' })
      .click();
    await waitForText(page, '[role=status]', (t) => t.includes('Key laptop revoked'), 'the revocation');
    assert.equal(await initializeStatus(`${gw.base}/mcp`, secret), 401);
    assert.deepEqual(
      (await adminKeys()).map((key) => key.name),
      ['bobs-script'],
    );
    assertPageClean(page);
    await page.context().close();
  });

  test('alice sees her own authorized client and not bob’s; revoking it refuses its token on /mcp at once', async () => {
    const mcp = `${local}/mcp`;
    const alice = await sdkSignIn(mcp, new MemoryClientProvider({ name: 'Alice laptop' }), {
      idpAccount: 'alice',
    });
    const bob = await sdkSignIn(mcp, new MemoryClientProvider({ name: 'Bob laptop' }), {
      idpAccount: 'bob',
    });
    const aliceToken = alice.provider.saved!.access_token;
    const bobToken = bob.provider.saved!.access_token;
    assert.equal(await initializeStatus(mcp, aliceToken), 200);

    const page = await newPage(browser);
    await signInAsPerson(page, 'alice');
    await go(page, '#/clients');
    await waitForText(page, '.client-list', (t) => t.includes('Alice laptop'), 'her client');
    const list = await page.locator('.client-list').innerText();
    assert.ok(!list.includes('Bob laptop'), list);
    assert.equal(await page.locator('.off-note').isHidden(), true);

    const item = page.locator('li.client', { has: page.getByRole('heading', { name: 'Alice laptop' }) });
    await item.getByRole('button', { name: 'Revoke Alice laptop' }).click();
    await page
      .getByRole('dialog', { name: 'Revoke Alice laptop?' })
      .getByRole('button', { name: 'Revoke Alice laptop' })
      .click();
    await waitForText(page, '[role=status]', (t) => t.includes('Alice laptop revoked'), 'the revocation');
    await waitForText(page, '.summary', (t) => t.includes('No client authorized yet'), 'her list empty');
    assert.equal(await initializeStatus(mcp, aliceToken), 401);
    assert.equal(await initializeStatus(mcp, bobToken), 200, 'bob’s client is untouched');
    assertPageClean(page);
    await page.context().close();
  });

  test('at 375 px her screens and the sign-in screen have no serious or critical axe violation and fit', async () => {
    const page = await newPage(browser, PHONE);
    await page.goto(`${local}/`);
    await page.getByRole('link', { name: `Sign in with ${providerHost}` }).waitFor();
    assert.deepEqual(await axeProblems(page), [], 'the sign-in screen');
    await screenshot(page, 'team-sign-in-375');
    await signInAsPerson(page, 'alice');
    const screens: Array<[string, string, string]> = [
      ['#/keys', 'My API keys', 'my-keys'],
      ['#/clients', 'My clients', 'my-clients'],
      ['#/', 'This needs the Gatehouse administrator', 'needs-administrator'],
    ];
    for (const [route, heading, name] of screens) {
      await go(page, route);
      await page.getByRole('heading', { name: heading, level: 2 }).waitFor();
      await waitForText(page, '#view', (t) => !t.includes('Loading'), 'loaded');
      assert.deepEqual(await axeProblems(page), [], route);
      const wider = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(wider <= 0, `${route} is wider than 375 px`);
      await screenshot(page, `${name}-375`);
    }
    assertPageClean(page);
    await page.context().close();
  });

  test('the administrator still sees every screen, and is named as such', async () => {
    const page = await newPage(browser);
    await signIn(page, local);
    await waitForText(page, '#who', (t) => t === 'Signed in as the administrator', 'the administrator');
    assert.deepEqual(await navLinks(page), [
      'Servers',
      'Add',
      'Paste config',
      'Groups',
      'Settings file',
      'My servers',
      'API keys',
      'Clients',
    ]);
    await page.locator('li.card').first().waitFor();
    await go(page, '#/keys');
    await page.getByRole('heading', { name: 'API keys', level: 2 }).waitFor();
    await page.getByLabel('Acts as (optional)').waitFor();
    assertPageClean(page);
    await page.context().close();
  });

  test('the printed address pasted into alice’s open tab makes it the administrator’s, with every screen', async () => {
    const page = await newPage(browser);
    await signInAsPerson(page, 'alice');
    await page.getByRole('heading', { name: 'My API keys', level: 2 }).waitFor();
    await go(page, `#token=${ADMIN_TOKEN}`);
    await waitForText(page, '#who', (t) => t === 'Signed in as the administrator', 'the administrator');
    assert.equal((await navLinks(page)).length, 8);
    await page.locator('li.card').first().waitFor();
    assert.equal(await page.locator('#live').isVisible(), true, 'the live feed is on');
    assertPageClean(page);
    await page.context().close();
  });
});
