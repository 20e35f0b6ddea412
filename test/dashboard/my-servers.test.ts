/**
 * "My servers" in Debian's Chromium (issue 14): people of the team sign in through a real
 * oidc-provider acting as the company's OpenID provider (as in people.test.ts); a per-user upstream
 * is a real protected MCP server behind a second oidc-provider, and a per-user stdio program takes
 * a typed-in key. Alice connects the upstream from her page: Connect opens the gateway's connect
 * link in a popup that cannot reach back into the dashboard, she signs in and consents there, and
 * the card turns connected for her and for nobody else; Disconnect ends it. Her own key is set
 * and forgotten without its value ever coming back to the page. The administrator's list and
 * server page count people (never a token), and the edit form writes `credentials`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../fixtures/browser.js';
import { FAST_TIMEOUTS, waitUntil, type TestGateway } from '../fixtures/gateway.js';
import type { AuthServer } from '../fixtures/oidc-provider.js';
import { keyedProgram, startPerUserTeam, type PerUserTeam } from '../fixtures/per-user-team.js';
import {
  assertPageClean,
  axeViolations,
  go,
  newPage,
  PHONE,
  screenshot,
  signIn,
  signInThroughProvider,
  waitForCard,
  waitForText,
} from './page.js';

const KEY_VALUE = 'alice-typed-key-51c0de';

/** What one card of My servers shows. */
interface MyCard {
  label: string;
  next: string;
  error: string;
  /** Visible buttons, by text. */
  buttons: string[];
  /** Each input's set state ("— set" / "— not set"), by id. */
  inputs: Record<string, string>;
}

/**
 * Runs in the page: the card of `name` on My servers, or null. (No named inner functions: tsx
 * would wrap them in a helper the page does not have.)
 */
function myCard(name: string): MyCard | null {
  const card = Array.from(document.querySelectorAll<HTMLElement>('.my-servers li.card')).find(
    (c) => c.dataset.server === name,
  );
  if (!card) return null;
  const texts: Record<string, string> = {};
  for (const [key, selector] of [
    ['label', '.badge'],
    ['next', '.sign-in'],
    ['error', '.error:not(.action-error)'],
  ]) {
    const node = card.querySelector<HTMLElement>(selector!);
    texts[key!] = node && !node.closest('[hidden]') ? (node.textContent ?? '') : '';
  }
  const inputs: Record<string, string> = {};
  for (const input of Array.from(card.querySelectorAll<HTMLInputElement>('input[data-input]'))) {
    if (input.closest('[hidden]')) continue;
    const label = card.querySelector(`label[for="${input.id}"] .set-state`);
    inputs[input.dataset.input ?? ''] = label?.textContent ?? '';
  }
  return {
    label: texts.label ?? '',
    next: texts.next ?? '',
    error: texts.error ?? '',
    buttons: Array.from(card.querySelectorAll<HTMLElement>('button'))
      .filter((b) => !b.closest('[hidden]'))
      .map((b) => b.textContent ?? ''),
    inputs,
  };
}

async function waitForMyCard(
  page: Page,
  name: string,
  predicate: (card: MyCard) => boolean,
  what: string,
): Promise<MyCard> {
  let last: MyCard | null = null;
  await waitUntil(
    async () => {
      last = await page.evaluate(myCard, name);
      return last !== null && predicate(last);
    },
    () => `My servers card ${name}: ${what} (last: ${JSON.stringify(last)})`,
  );
  return last!;
}

describe('My servers in the dashboard', () => {
  let team: PerUserTeam;
  let idp: AuthServer;
  let gw: TestGateway;
  let browser: Browser;
  let local: string;

  before(async () => {
    team = await startPerUserTeam({
      system: { timeouts: FAST_TIMEOUTS },
      servers: (url) => ({
        gh: { type: 'streamable-http', url, credentials: 'perUser' },
        keyed: keyedProgram('keyed'),
      }),
    });
    ({ gw, local, idp } = team);
    await gw.waitForServer('alpha', (s) => s.status === 'connected');
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await team?.close();
  });

  const signInAsPerson = (page: Page, account: string) =>
    signInThroughProvider(page, local, idp.origin, account);

  /** Opens My servers from the navigation, signed in as `account`. */
  async function myServersOf(account: string, viewport?: { width: number; height: number }): Promise<Page> {
    const page = await newPage(browser, viewport);
    await signInAsPerson(page, account);
    await page.getByRole('link', { name: 'My servers' }).click();
    await page.getByRole('heading', { name: 'My servers', level: 2 }).waitFor();
    await waitForMyCard(page, 'gh', () => true, 'listed');
    return page;
  }

  /**
   * Clicks Connect on `server`'s card and plays `account` in the popup: the gateway's connect
   * link, the authorization server's sign-in and consent pages, the gateway's callback page.
   */
  async function connectInPopup(page: Page, server: string, account: string): Promise<void> {
    const [popup] = await Promise.all([
      page.waitForEvent('popup'),
      page.getByRole('button', { name: `Connect ${server}`, exact: true }).click(),
    ]);
    await popup.waitForURL(
      (url) => url.origin === team.upstreamAs.origin && url.pathname.startsWith('/interaction/'),
    );
    assert.equal(await popup.evaluate(() => window.opener), null, 'no handle on the dashboard');
    await popup.locator('input[name="login"]').fill(account);
    await popup.locator('input[name="password"]').fill('irrelevant');
    await popup.locator('button[type="submit"]').click();
    await popup.waitForURL(
      (url) => url.pathname.startsWith('/interaction/') && !url.pathname.endsWith('/login'),
    );
    await popup.locator('button[type="submit"]').click();
    await popup.waitForURL((url) => url.pathname === '/oauth/callback');
    await popup.getByRole('heading', { name: 'Authorized' }).waitFor();
    await popup.close();
  }

  test('alice sees the per-user servers with her state in words; Connect signs her in through a popup and the card turns connected for her only', async () => {
    const page = await myServersOf('alice');
    const waiting = await waitForMyCard(page, 'gh', (c) => c.label === 'Needs sign-in', 'Needs sign-in');
    assert.equal(waiting.next, 'Click Connect to sign in with your own account.');
    assert.deepEqual(waiting.buttons, ['Connect']);
    const keyed = await waitForMyCard(page, 'keyed', (c) => c.label === 'Needs credentials', 'credentials');
    assert.deepEqual(keyed.inputs, { key: '— not set' });
    assert.equal(await page.evaluate(myCard, 'alpha'), null, 'a shared server is not hers to connect');

    await connectInPopup(page, 'gh', 'alice');
    const connected = await waitForMyCard(
      page,
      'gh',
      (c) => c.buttons.includes('Disconnect'),
      'signed in (the list is read again while the window is open)',
    );
    assert.ok(['Connected', 'Ready'].includes(connected.label), connected.label);
    assert.match(connected.next, /^Signed in as alice/);
    assert.ok(!connected.buttons.includes('Connect'));

    // Bob's own page: he has not connected, whatever alice did.
    const bobs = await myServersOf('bob');
    const his = await waitForMyCard(bobs, 'gh', (c) => c.label === 'Needs sign-in', 'Needs sign-in');
    assert.deepEqual(his.buttons, ['Connect']);
    assertPageClean(bobs);
    await bobs.context().close();
    assertPageClean(page);
    await page.context().close();
  });

  test('the administrator’s list and server page say how many people connected a per-user server, and show no token', async () => {
    const page = await newPage(browser);
    await signIn(page, local);
    const card = await waitForCard(page, 'gh', (c) => c.tools !== '', 'listed');
    assert.equal(card.signIn, 'Each person connects it for themselves, in My servers');
    assert.ok(!card.buttons.includes('Connect'), 'no shared Connect for a per-user server');
    const perPerson = await waitForText(
      page,
      'li.card[data-server="gh"] .per-person',
      (t) => / of 1 person$/.test(t),
      'alice counted',
    );
    assert.match(perPerson, /^[01] connected of 1 person$/);
    assert.equal(
      await page.locator('li.card[data-server="alpha"] .per-person').isVisible(),
      false,
      'a shared server counts nobody',
    );

    await page.getByRole('link', { name: 'gh', exact: true }).click();
    await page.getByRole('heading', { name: 'gh', level: 2, exact: true }).waitFor();
    await waitForText(
      page,
      '.detail .per-person',
      (t) => /^Per person: [01] connected of 1 person$/.test(t),
      'counts',
    );
    const html = await page.content();
    assert.ok(team.mcp.seen.tokens.size + (team.upstreamAs.lastRefreshToken ? 1 : 0) > 0, 'tokens exist');
    for (const token of [...team.mcp.seen.tokens, team.upstreamAs.lastRefreshToken ?? ''].filter(Boolean))
      assert.ok(!html.includes(token), 'a token on the page');
    assertPageClean(page);
    await page.context().close();
  });

  test('alice’s own key: the field empties once saved, the card says set, the value never reaches the page again; Forget unsets it; Disconnect ends her sign-in', async () => {
    const page = await myServersOf('alice');
    const card = page.locator('.my-servers li.card[data-server="keyed"]');
    await card.locator('input[data-input="key"]').fill(KEY_VALUE);
    await card.getByRole('button', { name: 'Save credentials for keyed' }).click();
    await waitForText(
      page,
      '.my-servers li.card[data-server="keyed"] [role=status]',
      (t) => t === 'Saved.',
      'saved',
    );
    const saved = await waitForMyCard(page, 'keyed', (c) => c.inputs.key === '— set', 'set');
    assert.notEqual(saved.label, 'Needs credentials');
    assert.equal(await card.locator('input[data-input="key"]').inputValue(), '');
    await page.reload();
    await waitForMyCard(page, 'keyed', (c) => c.inputs.key === '— set', 'set after a reload');
    assert.ok(!(await page.content()).includes(KEY_VALUE), 'the value on the page');

    await card.getByRole('button', { name: 'Forget API key of keyed' }).click();
    await waitForMyCard(page, 'keyed', (c) => c.inputs.key === '— not set', 'forgotten');

    await waitForMyCard(page, 'gh', (c) => c.buttons.includes('Disconnect'), 'still signed in');
    await page.getByRole('button', { name: 'Disconnect gh', exact: true }).click();
    const after = await waitForMyCard(page, 'gh', (c) => c.label === 'Needs sign-in', 'signed out');
    assert.deepEqual(after.buttons, ['Connect']);
    assertPageClean(page);
    await page.context().close();
  });

  test('the edit form writes credentials: each person’s own, then shared by everyone again', async () => {
    const page = await newPage(browser);
    await signIn(page, local, '#/servers/alpha/edit');
    const choice = page.getByLabel('Credentials', { exact: true });
    await choice.waitFor();
    assert.equal(await choice.inputValue(), 'shared');
    await choice.selectOption({ label: 'Each person’s own' });
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('heading', { name: 'alpha', level: 2, exact: true }).waitFor();
    const entryOf = async () =>
      ((await gw.readSettings()).mcpServers as Record<string, Record<string, unknown>>).alpha!;
    await waitUntil(async () => (await entryOf()).credentials === 'perUser', 'credentials: perUser written');
    await waitForText(page, '.detail .per-person', (t) => t.startsWith('Per person:'), 'the per-person line');

    await go(page, '#/servers/alpha/edit');
    await page.getByLabel('Credentials', { exact: true }).selectOption({ label: 'Shared by everyone' });
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('heading', { name: 'alpha', level: 2, exact: true }).waitFor();
    await waitUntil(async () => (await entryOf()).credentials === 'shared', 'credentials: shared written');
    assertPageClean(page);
    await page.context().close();
  });

  test('at 375 px My servers and the edit form have no serious or critical axe violation and fit', async () => {
    const problems = async (page: Page) =>
      (await axeViolations(page)).map(
        (v) => `${v.id} (${v.impact}): ${v.help} at ${JSON.stringify(v.nodes.map((n) => n.target))}`,
      );
    const overflow = (page: Page) =>
      page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);

    const page = await myServersOf('alice', PHONE);
    await waitForMyCard(page, 'keyed', (c) => c.label !== '', 'keyed drawn');
    assert.deepEqual(await problems(page), [], 'My servers');
    assert.ok((await overflow(page)) <= 0, 'My servers is wider than 375 px');
    await screenshot(page, 'my-servers-375');
    assertPageClean(page);
    await page.context().close();

    const admin = await newPage(browser, PHONE);
    await signIn(admin, local, '#/servers/gh/edit');
    await admin.getByLabel('Credentials', { exact: true }).waitFor();
    assert.deepEqual(await problems(admin), [], 'the edit form');
    assert.ok((await overflow(admin)) <= 0, 'the edit form is wider than 375 px');
    await go(admin, '#/my-servers');
    await admin.getByRole('heading', { name: 'My servers', level: 2 }).waitFor();
    await waitForMyCard(admin, 'gh', (c) => c.label !== '', 'the administrator’s own');
    assert.deepEqual(await problems(admin), [], 'the administrator’s My servers');
    assertPageClean(admin);
    await admin.context().close();
  });
});
