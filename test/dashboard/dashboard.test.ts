/**
 * The dashboard in Debian's Chromium, driven by playwright-core, against a real gateway (serving
 * dashboard/ at /) with real upstreams: a plain MCP server, a stdio child, an unreachable server,
 * and an OAuth-protected one behind an oidc-provider authorization server.
 *
 * Functions passed to page.evaluate are serialized into the browser: they must not define named
 * inner functions (tsx wraps those in a `__name` helper that does not exist in the page).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../fixtures/browser.js';
import {
  ADMIN_TOKEN,
  FAST_TIMEOUTS,
  startGateway,
  stdioFixture,
  waitUntil,
  type TestGateway,
} from '../fixtures/gateway.js';
import { completeAuthorization, startAuthServer, type AuthServer } from '../fixtures/oidc-provider.js';
import { startProtectedMcp, type ProtectedMcp } from '../fixtures/protected-mcp.js';
import { startHttpUpstream, type HttpUpstream } from '../fixtures/mcp-upstream.js';
import { downPort, type DownPort } from '../fixtures/process.js';

const XSS_NAME = '<img src=x onerror=window.__xss=1>';
interface CardView {
  name: string;
  status: string;
  stage: string | null;
  tools: string;
  error: string;
  buttons: string[];
}

/** Runs in the page: what one server's card shows, or null when there is no card for it. */
function cardView(name: string): CardView | null {
  const card = Array.from(document.querySelectorAll<HTMLElement>('li.card')).find(
    (c) => c.dataset.server === name,
  );
  if (!card) return null;
  const authRow = card.querySelector<HTMLElement>('.auth-row');
  const error = card.querySelector<HTMLElement>('.error');
  return {
    name: card.querySelector('.name')?.textContent ?? '',
    status: card.querySelector('.status')?.textContent ?? '',
    stage: authRow && !authRow.hidden ? (card.querySelector('.auth-stage')?.textContent ?? '') : null,
    tools: card.querySelector('.tool-count')?.textContent ?? '',
    error: error && !error.hidden ? (error.textContent ?? '') : '',
    buttons: Array.from(card.querySelectorAll<HTMLButtonElement>('.actions button'))
      .filter((b) => !b.hidden)
      .map((b) => b.textContent ?? ''),
  };
}

/** Waits until the named card satisfies `predicate`; a timeout names what the card last showed. */
async function waitForCard(
  page: Page,
  name: string,
  predicate: (view: CardView) => boolean,
  what: string,
): Promise<CardView> {
  let last: CardView | null = null;
  await waitUntil(
    async () => {
      last = await page.evaluate(cardView, name);
      return last !== null && predicate(last);
    },
    () => `card ${name}: ${what} (last: ${JSON.stringify(last)})`,
  );
  return last!;
}

/** Waits until the text of `selector` inside the named card satisfies `predicate`. */
async function waitForCardText(
  page: Page,
  name: string,
  selector: string,
  predicate: (text: string) => boolean,
  what: string,
): Promise<string> {
  let last = '';
  await waitUntil(
    async () => {
      last = await page.evaluate(
        ([server, sel]) =>
          Array.from(document.querySelectorAll<HTMLElement>('li.card'))
            .find((c) => c.dataset.server === server)
            ?.querySelector(sel)?.textContent ?? '',
        [name, selector] as const,
      );
      return predicate(last);
    },
    () => `card ${name} ${selector}: ${what} (last: ${JSON.stringify(last)})`,
  );
  return last;
}

describe('the dashboard in a real browser', () => {
  let as: AuthServer;
  let protectedMcp: ProtectedMcp;
  let plain: HttpUpstream;
  let unreachable: DownPort;
  let gw: TestGateway;
  let browser: Browser;

  before(async () => {
    as = await startAuthServer();
    protectedMcp = await startProtectedMcp({ authServer: as });
    plain = await startHttpUpstream('plain');
    // Held (every connection reset) for the whole file: a free port, released, was once taken by
    // another test file's server, and the "down" card showed that server's 4,140 tools.
    unreachable = await downPort();
    gw = await startGateway({
      mcpServers: {
        plain: { type: 'streamable-http', url: plain.url },
        secure: { url: protectedMcp.url },
        local: stdioFixture('local'),
        down: { type: 'streamable-http', url: unreachable.url('/mcp') },
        [XSS_NAME]: { type: 'streamable-http', url: plain.url },
      },
      systemConfig: { timeouts: FAST_TIMEOUTS },
    });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await gw?.close();
    await protectedMcp?.close();
    await as?.close();
    await plain?.stop();
    await unreachable?.close();
  });

  /** A fresh browser context (its own sessionStorage) on the dashboard. */
  async function newPage(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    return context.newPage();
  }
  async function open(hash = ''): Promise<Page> {
    const page = await newPage();
    await page.goto(`${gw.base}/${hash}`);
    return page;
  }

  test('the token in the fragment authorizes the API calls and is removed from the address bar', async () => {
    const page = await newPage();
    const sent: Array<string | undefined> = [];
    page.on('request', (request) => {
      if (new URL(request.url()).pathname.startsWith('/api/')) sent.push(request.headers()['authorization']);
    });
    await page.goto(`${gw.base}/#token=${ADMIN_TOKEN}`);
    await waitForCard(page, 'plain', (c) => c.status === 'connected', 'connected');

    assert.equal(page.url(), `${gw.base}/`);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('gatehouse.adminToken')), ADMIN_TOKEN);
    assert.ok(sent.length > 0);
    assert.deepEqual(new Set(sent), new Set([`Bearer ${ADMIN_TOKEN}`]));

    // A reload has no fragment any more: the token comes from sessionStorage.
    await page.reload();
    await waitForCard(page, 'plain', (c) => c.status === 'connected', 'connected after a reload');
    await page.context().close();
  });

  test('a connected server shows its status, type and tools; an unreachable one its error and retry', async () => {
    const page = await open(`#token=${ADMIN_TOKEN}`);
    const status = await gw.waitForServer('plain', (s) => s.status === 'connected', 'connected');
    const card = await waitForCard(
      page,
      'plain',
      (c) => c.status === 'connected' && c.tools === String(status.tools.length),
      'connected with its tools',
    );
    assert.ok(status.tools.length > 0);
    // An HTTP server that needs no OAuth: its stage stays unauthenticated and nothing offers Connect.
    assert.equal(card.stage, 'unauthenticated');
    assert.deepEqual(card.buttons, ['Reconnect']);

    await page.locator('li.card[data-server="plain"] details.tools summary').click();
    const shown = await page.locator('li.card[data-server="plain"] .tool-list code').allTextContents();
    assert.deepEqual(
      shown,
      status.tools.map((t) => t.exposedName),
    );

    const down = await waitForCard(
      page,
      'down',
      (c) => c.status === 'error' && c.error.includes('next retry at'),
      'error with a retry time',
    );
    const downStatus = (await gw.servers()).find((s) => s.name === 'down');
    assert.ok(downStatus?.error && down.error.startsWith(`${downStatus.error.code}: `));
    // A server that is merely down is offered Reconnect, not an authorization.
    assert.deepEqual(down.buttons, ['Reconnect']);

    // A stdio server's details show its stderr lines.
    await page.locator('li.card[data-server="local"] details.detail summary').click();
    await waitForCardText(page, 'local', '.stderr', (t) => t.includes('fixture local started'), 'stderr');
    await page.context().close();
  });

  test('a server name carrying markup is shown as text and creates no element', async () => {
    const page = await open(`#token=${ADMIN_TOKEN}`);
    const card = await waitForCard(page, XSS_NAME, (c) => c.status === 'connected', 'connected');
    assert.equal(card.name, XSS_NAME);
    assert.equal(await page.locator('img').count(), 0);
    assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);
    await page.context().close();
  });

  test('Connect opens the authorization URL; after consent and callback the card is connected and authorized', async () => {
    const page = await open(`#token=${ADMIN_TOKEN}`);
    const waiting = await waitForCard(
      page,
      'secure',
      (c) => c.status === 'auth_required' && c.stage === 'awaiting_user',
      'auth_required + awaiting_user',
    );
    assert.deepEqual(waiting.buttons, ['Connect', 'Reconnect']);

    const metadata = (await (await fetch(`${as.issuer}/.well-known/openid-configuration`)).json()) as {
      authorization_endpoint: string;
    };
    const [popup, authorizeRequest] = await Promise.all([
      page.waitForEvent('popup'),
      page.context().waitForEvent('request', (r) => r.url().startsWith(metadata.authorization_endpoint)),
      page.getByRole('button', { name: 'Connect secure', exact: true }).click(),
    ]);
    const authorizationUrl = new URL(authorizeRequest.url());
    assert.equal(`${authorizationUrl.origin}${authorizationUrl.pathname}`, metadata.authorization_endpoint);
    assert.ok(authorizationUrl.searchParams.get('code_challenge'));
    assert.equal(authorizationUrl.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(authorizationUrl.searchParams.get('resource'), protectedMcp.resource);
    // The authorization server's (login) page gets no handle on the dashboard.
    await popup.waitForURL((url) => url.origin === as.origin && url.pathname.startsWith('/interaction/'));
    assert.equal(await popup.evaluate(() => window.opener), null);

    const redirect = await completeAuthorization(authorizationUrl.href);
    const callback = await fetch(`${gw.base}/oauth/callback${redirect.search}`);
    assert.equal(callback.status, 200);
    await callback.body?.cancel();
    await popup.close();

    const authorized = await waitForCard(
      page,
      'secure',
      (c) => c.status === 'connected' && c.stage === 'authorized',
      'connected + authorized',
    );
    assert.deepEqual(authorized.buttons, ['Disconnect', 'Reconnect']);

    // Details: the auth event log and the registered client.
    await page.locator('li.card[data-server="secure"] details.detail summary').click();
    await waitForCardText(page, 'secure', '.log', (t) => t.includes('authorized (exchange)'), 'log');
    const facts = await waitForCardText(page, 'secure', '.detail-body .facts', (t) => t !== '', 'facts');
    assert.match(facts, new RegExp(`dynamic at ${as.issuer}`));
    assert.match(facts, /mcp:read/);
    await page.locator('li.card[data-server="local"] details.detail summary').click();
    await waitForCardText(page, 'local', '.stderr', (t) => t.includes('fixture local started'), 'stderr');
    await page.screenshot({ path: '/tmp/dashboard.png', fullPage: true });

    await page.getByRole('button', { name: 'Disconnect secure', exact: true }).click();
    await waitForCard(
      page,
      'secure',
      (c) => c.stage !== 'authorized' && c.buttons.includes('Connect'),
      'disconnected, Connect offered again',
    );
    await page.context().close();
  });

  test('without a token, or with a wrong one, the token form is shown; pasting the right one opens the list', async () => {
    const none = await open();
    await none.getByRole('textbox', { name: 'Admin token' }).waitFor({ state: 'visible' });
    assert.equal(await none.locator('#servers-section').isHidden(), true);
    await none.context().close();

    const page = await open('#token=wrong-token');
    await page.getByRole('textbox', { name: 'Admin token' }).waitFor({ state: 'visible' });
    assert.match((await page.locator('#notice').textContent()) ?? '', /ADMIN_UNAUTHORIZED/);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('gatehouse.adminToken')), null);
    assert.equal(await page.locator('li.card').count(), 0);

    await page.getByRole('textbox', { name: 'Admin token' }).fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Open dashboard' }).click();
    await waitForCard(page, 'plain', (c) => c.status === 'connected', 'connected');
    assert.equal(await page.locator('#notice').isHidden(), true);
    await page.context().close();
  });
});
