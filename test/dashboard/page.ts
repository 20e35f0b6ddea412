/**
 * Shared steps of the dashboard tests: a page in Debian's Chromium that records every script
 * error and CSP refusal (a test ends by asserting there were none), sign-in through the printed
 * kind of URL, and readers of what a card or a server's page shows.
 *
 * Functions passed to page.evaluate are serialized into the browser: they must not define named
 * inner functions (tsx wraps those in a `__name` helper that does not exist in the page).
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { ADMIN_TOKEN, waitUntil } from '../fixtures/gateway.js';
import { ROOT } from '../fixtures/process.js';

export const DESKTOP = { width: 1280, height: 900 };
export const PHONE = { width: 375, height: 740 };
/** Where the tests save screenshots (gitignored); `npm run screenshots` copies them to docs/. */
export const SCREENSHOTS = join(ROOT, 'test-results', 'screenshots');

const problems = new WeakMap<Page, string[]>();

/** A fresh browser context (its own cookies) with one page that records errors. */
export async function newPage(browser: Browser, viewport = DESKTOP): Promise<Page> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  watch(page);
  return page;
}

/** Records uncaught errors and console errors (a CSP refusal is one) of `page`. */
export function watch(page: Page): void {
  const seen: string[] = [];
  problems.set(page, seen);
  page.on('pageerror', (error) => seen.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    // A refused request (401 while signed out, 409 conflicts the test provokes) is the network
    // panel's business, not the page's.
    if (/Failed to load resource/.test(message.text())) return;
    seen.push(`console error: ${message.text()}`);
  });
}

/** Fails when the page had a script error or a CSP refusal. */
export function assertPageClean(page: Page): void {
  assert.deepEqual(problems.get(page) ?? [], [], 'the page had errors');
}

/** Opens the dashboard as the printed URL does, and waits for the server list. */
export async function signIn(page: Page, base: string, route = ''): Promise<void> {
  await page.goto(`${base}/#token=${ADMIN_TOKEN}`);
  await page.locator('#nav').waitFor({ state: 'visible' });
  if (route) await page.evaluate((hash) => (location.hash = hash), route);
}

/** Opens `route` (e.g. `#/servers/x`) in a page that is already signed in. */
/**
 * Team mode: opens the sign-in screen, clicks "Sign in with <provider>" and plays `account` on the
 * provider's own sign-in and consent pages (an oidc-provider fixture at `providerOrigin`); resolves
 * once the dashboard says who is signed in.
 */
export async function signInThroughProvider(
  page: Page,
  base: string,
  providerOrigin: string,
  account: string,
): Promise<void> {
  await page.goto(`${base}/`);
  await page.getByRole('link', { name: `Sign in with ${new URL(providerOrigin).host}` }).click();
  for (let step = 0; step < 4; step++) {
    await page.waitForURL(
      (url) =>
        (url.origin === providerOrigin && url.pathname.startsWith('/interaction/')) || url.origin === base,
    );
    if (new URL(page.url()).origin === base) break;
    const login = page.locator('input[name="login"]');
    if (await login.count()) {
      await login.fill(account);
      await page.locator('input[name="password"]').fill('irrelevant');
    }
    const here = page.url();
    await Promise.all([
      page.waitForURL((url) => url.href !== here),
      page.locator('button[type="submit"]').click(),
    ]);
  }
  await page.locator('#who').waitFor({ state: 'visible' });
}

export async function go(page: Page, route: string): Promise<void> {
  await page.evaluate((hash) => (location.hash = hash), route);
}

export interface CardView {
  name: string;
  label: string;
  /** The raw codes in the badge's tooltip. */
  raw: string;
  signIn: string;
  error: string;
  tools: string;
  /** Visible buttons and button-like links, by text. */
  buttons: string[];
}

/** Runs in the page: what one server's card shows, or null when there is no card for it. */
function cardView(name: string): CardView | null {
  const card = Array.from(document.querySelectorAll<HTMLElement>('li.card')).find(
    (c) => c.dataset.server === name,
  );
  if (!card) return null;
  const badge = card.querySelector<HTMLElement>('.status');
  const signIn = card.querySelector<HTMLElement>('.sign-in');
  const error = card.querySelector<HTMLElement>('.error:not(.action-error)');
  return {
    name: card.querySelector('.name')?.textContent ?? '',
    label: badge?.textContent ?? '',
    raw: badge?.title ?? '',
    signIn: signIn && !signIn.hidden ? (signIn.textContent ?? '') : '',
    error: error && !error.hidden ? (error.textContent ?? '') : '',
    tools: card.querySelector('.tool-count')?.textContent ?? '',
    buttons: Array.from(card.querySelectorAll<HTMLElement>('.actions button, .actions a'))
      .filter((b) => !b.hidden)
      .map((b) => b.textContent ?? ''),
  };
}

/** Runs in the page: where it is and which cards it shows (for a timeout's message). */
function outline(): string {
  const cards = Array.from(document.querySelectorAll<HTMLElement>('li.card')).map((c) => c.dataset.server);
  const banner = document.querySelector<HTMLElement>('[role="status"], .banner')?.innerText ?? '';
  return `at ${location.hash || '#/'}, cards [${cards.join(', ')}], ${banner.slice(0, 120)}`;
}

/** Waits until the named card satisfies `predicate`; a timeout names what the card last showed. */
export async function waitForCard(
  page: Page,
  name: string,
  predicate: (view: CardView) => boolean,
  what: string,
): Promise<CardView> {
  let last: CardView | null = null;
  let pageOutline = '';
  await waitUntil(
    async () => {
      last = await page.evaluate(cardView, name);
      if (last === null) pageOutline = await page.evaluate(outline);
      return last !== null && predicate(last);
    },
    () => `card ${name}: ${what} (last: ${JSON.stringify(last)}; ${pageOutline})`,
  );
  return last!;
}

/** Waits until no card for `name` is shown. */
export async function waitForNoCard(page: Page, name: string): Promise<void> {
  await waitUntil(async () => (await page.evaluate(cardView, name)) === null, `card ${name} to go`);
}

/** Waits until the text of `selector` satisfies `predicate`; returns it. */
export async function waitForText(
  page: Page,
  selector: string,
  predicate: (text: string) => boolean,
  what: string,
): Promise<string> {
  let last = '';
  await waitUntil(
    async () => {
      last = await page.evaluate(
        (sel) =>
          Array.from(document.querySelectorAll<HTMLElement>(sel))
            .filter((node) => !node.closest('[hidden]'))
            .map((node) => node.innerText)
            .join('\n'),
        selector,
      );
      return predicate(last);
    },
    () => `${selector}: ${what} (last: ${JSON.stringify(last)})`,
  );
  return last;
}

/** Saves a full-page screenshot as test-results/screenshots/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

const AXE_PATH = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const AXE_URL_PATH = '/__axe__.js';

/** One axe-core rule broken on the page. */
export interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: unknown[] }>;
}

/**
 * The serious and critical axe-core violations on the page. axe is loaded through one same-origin
 * URL (`/__axe__.js`, routed in the browser to node_modules/axe-core): the page's CSP refuses an
 * inlined script, and the gateway is left as it is.
 */
export async function axeViolations(page: Page): Promise<Violation[]> {
  const loaded = await page.evaluate(() => 'axe' in window);
  if (!loaded) {
    await page.route(`**${AXE_URL_PATH}`, (route) =>
      route.fulfill({ path: AXE_PATH, contentType: 'text/javascript' }),
    );
    await page.addScriptTag({ url: AXE_URL_PATH });
  }
  const results = await page.evaluate(() =>
    (window as unknown as { axe: { run(context: Document): Promise<{ violations: Violation[] }> } }).axe.run(
      document,
    ),
  );
  return results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}
