/**
 * OAuth upstreams in Debian's Chromium: a real oidc-provider (dynamic registration) in front of a
 * real protected MCP server. Connect opens the authorization server's page in a popup that cannot
 * reach back into the dashboard; the person signs in and consents there; the popup's return
 * lands on the gateway's callback; the card turns Connected and the server's page shows who it
 * is connected as, token health and the sign-in timeline with what each step learned.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../fixtures/browser.js';
import { FAST_TIMEOUTS, startGateway, type TestGateway } from '../fixtures/gateway.js';
import { startAuthServer, type AuthServer } from '../fixtures/oidc-provider.js';
import { startProtectedMcp, type ProtectedMcp } from '../fixtures/protected-mcp.js';
import { assertPageClean, go, newPage, signIn, waitForCard, waitForText } from './page.js';

/**
 * Clicks Connect for `server` and plays the person in the popup: oidc-provider's development
 * sign-in and consent pages, then the gateway's callback page. Returns the popup, closed.
 */
export async function connectThroughPopup(page: Page, server: string, as: AuthServer): Promise<void> {
  const [popup] = await Promise.all([
    page.waitForEvent('popup'),
    page.getByRole('button', { name: `Connect ${server}`, exact: true }).click(),
  ]);
  await popup.waitForURL((url) => url.origin === as.origin && url.pathname.startsWith('/interaction/'));
  // The authorization server's page has no handle on the dashboard.
  assert.equal(await popup.evaluate(() => window.opener), null);
  await popup.locator('input[name="login"]').fill('alice');
  await popup.locator('input[name="password"]').fill('irrelevant');
  await popup.locator('button[type="submit"]').click();
  await popup.waitForURL(
    (url) => url.pathname.startsWith('/interaction/') && !url.pathname.endsWith('/login'),
  );
  await popup.locator('button[type="submit"]').click();
  await popup.waitForURL((url) => url.pathname === '/oauth/callback');
  await popup.getByRole('heading', { name: 'Authorized' }).waitFor();
  // The popup's return is on the gateway: the dashboard opened there is still signed in.
  await popup.goto(new URL('/', popup.url()).href);
  await popup.locator('li.card').first().waitFor();
  assert.equal(await popup.locator('#login').isHidden(), true);
  await popup.close();
}

describe('connecting an OAuth upstream from the dashboard', () => {
  let as: AuthServer;
  let protectedMcp: ProtectedMcp;
  let tracker: ProtectedMcp;
  let gw: TestGateway;
  let browser: Browser;

  before(async () => {
    as = await startAuthServer();
    protectedMcp = await startProtectedMcp({ authServer: as });
    tracker = await startProtectedMcp({ authServer: as });
    gw = await startGateway({
      mcpServers: { secure: { url: protectedMcp.url } },
      systemConfig: { timeouts: FAST_TIMEOUTS },
    });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await gw?.close();
    await protectedMcp?.close();
    await tracker?.close();
    await as?.close();
  });

  test('Connect signs in through a popup; the server page shows the account, token health and timeline', async () => {
    const page = await newPage(browser);
    // The host the callback returns to (no baseUrl: localhost, as main prints it), so the popup's
    // return carries the session cookie.
    await signIn(page, gw.base.replace('//127.0.0.1:', '//localhost:'));
    const waiting = await waitForCard(page, 'secure', (c) => c.label === 'Needs sign-in', 'Needs sign-in');
    assert.equal(waiting.signIn, 'Click Connect to sign in to secure');
    assert.deepEqual(waiting.buttons, ['Connect', 'Reconnect', 'Details']);

    await connectThroughPopup(page, 'secure', as);
    const connected = await waitForCard(page, 'secure', (c) => c.label === 'Connected', 'Connected');
    assert.equal(connected.signIn, 'Signed in');
    assert.deepEqual(connected.buttons, ['Reconnect', 'Details']);

    await page.getByRole('link', { name: 'secure', exact: true }).click();
    await page.getByRole('heading', { name: 'secure', level: 2, exact: true }).waitFor();
    const account = await waitForText(page, '.account', (t) => t !== '', 'the account');
    assert.equal(account, 'Connected as alice');
    const health = await waitForText(page, '#auth-title + div', (t) => t.includes('Expires'), 'token health');
    assert.match(health, new RegExp(`Client\\s+dynamic at ${as.issuer}`));
    assert.match(health, /Expires\s+\S.*\(in (9|10) min\)/);
    assert.match(health, /Refresh failures\s+0/);
    assert.match(health, /Scopes\s+mcp:read/);
    const timeline = await waitForText(page, '.timeline', (t) => t.includes('authorized'), 'the timeline');
    // What the steps learned: where to sign in, how the client was registered, what was granted.
    assert.match(timeline, new RegExp(`Issuer\\s+${as.issuer}`));
    // Each step shows only what it learned: the issuer is named once, by the step that found it.
    assert.equal(timeline.split('Issuer').length - 1, 1, timeline);
    assert.match(timeline, /Registration\s+dynamic/);
    assert.match(timeline, /Scopes granted\s+mcp:read/);

    // Disconnect forgets the tokens: the server needs a sign-in again.
    await page.getByRole('button', { name: 'Disconnect secure', exact: true }).click();
    await page.getByRole('button', { name: 'Connect secure', exact: true }).waitFor();
    await go(page, '#/');
    await waitForCard(page, 'secure', (c) => c.buttons.includes('Connect'), 'Connect offered again');
    assertPageClean(page);
    await page.context().close();
  });

  test('an OAuth upstream added through the form connects through the popup', async () => {
    const page = await newPage(browser);
    await signIn(page, gw.base.replace('//127.0.0.1:', '//localhost:'), '#/add');
    await page.getByLabel('Name', { exact: true }).fill('tracker');
    await page.getByLabel('Transport').selectOption('streamable-http');
    await page.getByLabel('URL', { exact: true }).fill(tracker.url);
    await page.getByText('OAuth settings (optional)').click();
    await page.getByLabel('Scopes').fill('mcp:read');
    await page.getByRole('button', { name: 'Add server' }).click();

    await page.getByRole('heading', { name: 'tracker', level: 2, exact: true }).waitFor();
    const servers = (await gw.readSettings()).mcpServers as Record<string, Record<string, unknown>>;
    // The gateway may already have stored its dynamic client registration under `gatehouse`
    // (encrypted); what the form wrote is the rest of the entry.
    const written = { ...servers.tracker };
    delete written.gatehouse;
    assert.deepEqual(written, {
      type: 'streamable-http',
      url: tracker.url,
      oauth: { scopes: ['mcp:read'] },
    });
    await connectThroughPopup(page, 'tracker', as);
    await page.locator('.detail .status').getByText('Connected').waitFor();
    await waitForText(page, '.account', (t) => t === 'Connected as alice', 'the account');
    assert.ok(tracker.seen.authorized > 0, 'the upstream accepted the token');
    assertPageClean(page);
    await page.context().close();
  });
});
