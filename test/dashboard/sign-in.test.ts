/**
 * Sign-in in Debian's Chromium against the gatehouse command run as a person runs it: the URL it
 * prints signs the browser in (a session cookie), the token is left nowhere (address bar, Web
 * Storage, DOM), a second tab and a reload stay signed in, Sign out ends the session on the
 * server; without a session the page asks for the token.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Request } from 'playwright-core';
import { launchChromium } from '../fixtures/browser.js';
import { startHttpUpstream, type HttpUpstream } from '../fixtures/mcp-upstream.js';
import { runGatehouse, type GatehouseProcess } from '../fixtures/process.js';
import { assertPageClean, newPage, waitForCard } from './page.js';

const TOKEN = 'sign-in-test-token-0123456789';

/** Runs in the page: every place a token could be left behind. */
function leftovers(token: string): string[] {
  const found: string[] = [];
  if (location.href.includes(token)) found.push('address bar');
  if (localStorage.length > 0) found.push('localStorage');
  if (sessionStorage.length > 0) found.push('sessionStorage');
  if (document.documentElement.outerHTML.includes(token)) found.push('DOM');
  for (const input of Array.from(document.querySelectorAll('input, textarea')))
    if ((input as HTMLInputElement).value.includes(token)) found.push('a form field');
  if (history.length > 0 && JSON.stringify(history.state ?? null).includes(token))
    found.push('history state');
  return found;
}

describe('signing in to the dashboard', () => {
  let dir: string;
  let plain: HttpUpstream;
  let proc: GatehouseProcess;
  let dashboardUrl: string;
  let listening: string;
  let browser: Browser;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-sign-in-'));
    plain = await startHttpUpstream('plain');
    await writeFile(
      join(dir, 'mcp_settings.json'),
      JSON.stringify({ mcpServers: { plain: { type: 'streamable-http', url: plain.url } } }),
    );
    proc = runGatehouse(['--config', join(dir, 'mcp_settings.json'), '--port', '0'], {
      GATEHOUSE_ADMIN_TOKEN: TOKEN,
      GATEHOUSE_SECRET_KEY: 'b'.repeat(64),
    });
    listening = await proc.ready;
    dashboardUrl = /Dashboard: +(\S+)/.exec(proc.stdout())![1]!;
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    proc?.child.kill('SIGTERM');
    await proc?.exited;
    await plain?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('the printed URL signs in with a cookie; the token is left nowhere; a second tab and a reload stay signed in', async () => {
    assert.match(dashboardUrl, /^http:\/\/localhost:\d+\/#token=/);
    const page = await newPage(browser);
    const sent: Request[] = [];
    page.context().on('request', (request) => {
      if (new URL(request.url()).pathname.startsWith('/api/')) sent.push(request);
    });
    await page.goto(dashboardUrl);
    await waitForCard(page, 'plain', (c) => c.label === 'Connected', 'Connected');

    const base = dashboardUrl.replace(/#.*$/, '');
    assert.equal(page.url().startsWith(base), true);
    assert.deepEqual(await page.evaluate(leftovers, TOKEN), []);
    const [cookie, ...others] = await page.context().cookies();
    assert.equal(others.length, 0);
    assert.equal(cookie?.name, 'gatehouse_session');
    assert.equal(cookie?.httpOnly, true);
    assert.equal(cookie?.sameSite, 'Strict');
    assert.equal(cookie?.value.includes(TOKEN), false);
    // The token went out once, to trade it for the cookie; every other call rode on the cookie.
    const withToken = sent.filter((r) => r.headers()['authorization']);
    assert.deepEqual(
      withToken.map((r) => `${r.method()} ${new URL(r.url()).pathname}`),
      ['POST /api/session'],
    );

    // A second tab of the same browser opens the plain address, without any token.
    const second = await page.context().newPage();
    await second.goto(base);
    await waitForCard(second, 'plain', (c) => c.label === 'Connected', 'Connected in a second tab');
    assert.equal(await second.locator('#login').isHidden(), true);

    await page.reload();
    await waitForCard(page, 'plain', (c) => c.label === 'Connected', 'Connected after a reload');
    assert.deepEqual(await page.evaluate(leftovers, TOKEN), []);
    assertPageClean(page);
    assertPageClean(second);
    await page.context().close();
  });

  test('Sign out ends the session on the server: the other tab must sign in again', async () => {
    const page = await newPage(browser);
    await page.goto(dashboardUrl);
    await waitForCard(page, 'plain', (c) => c.label === 'Connected', 'Connected');
    const other = await page.context().newPage();
    await other.goto(dashboardUrl.replace(/#.*$/, ''));
    await waitForCard(other, 'plain', (c) => c.label === 'Connected', 'Connected in the other tab');
    const [cookie] = await page.context().cookies();

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('textbox', { name: 'Admin token' }).waitFor({ state: 'visible' });
    assert.equal(await page.locator('#notice').textContent(), 'Signed out.');
    assert.equal(await page.locator('li.card').count(), 0);

    // The old cookie no longer opens anything, even sent by hand.
    const replay = await fetch(`${listening}/api/servers`, {
      headers: { cookie: `${cookie!.name}=${cookie!.value}` },
    });
    assert.equal(replay.status, 401);
    await other.reload();
    await other.getByRole('textbox', { name: 'Admin token' }).waitFor({ state: 'visible' });
    assertPageClean(page);
    await page.context().close();
  });

  test('without a session the page asks for the token; a wrong one is refused, the right one opens the list', async () => {
    const page = await newPage(browser);
    await page.goto(dashboardUrl.replace(/#.*$/, ''));
    const input = page.getByRole('textbox', { name: 'Admin token' });
    await input.waitFor({ state: 'visible' });
    assert.equal(await page.locator('#nav').isHidden(), true);

    await input.fill('wrong-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#notice').getByText('ADMIN_UNAUTHORIZED').waitFor();
    assert.equal(await input.inputValue(), '');
    assert.deepEqual(await page.context().cookies(), []);

    await input.fill(TOKEN);
    await input.press('Enter');
    await waitForCard(page, 'plain', (c) => c.label === 'Connected', 'Connected');
    assert.equal(await page.locator('#notice').isHidden(), true);
    assert.deepEqual(await page.evaluate(leftovers, TOKEN), []);
    assertPageClean(page);
    await page.context().close();
  });
});
