/**
 * The server list in Debian's Chromium follows the gateway by push (`/api/events`), never by
 * polling: an upstream going down and back, a hand edit of the settings file adding and removing
 * servers. Losing the gateway shows "connection lost — reconnecting…" until it answers again.
 * States are in words, raw codes in the tooltip; a name carrying markup is shown as text.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Request } from 'playwright-core';
import { launchChromium } from '../fixtures/browser.js';
import { FAST_TIMEOUTS, startGateway, type TestGateway } from '../fixtures/gateway.js';
import { startHttpUpstream, type HttpUpstream } from '../fixtures/mcp-upstream.js';
import { reachability } from '../fixtures/outage.js';
import { downPort, type DownPort } from '../fixtures/process.js';
import { assertPageClean, newPage, signIn, waitForCard, waitForNoCard, waitForText } from './page.js';

const XSS_NAME = '<img src=x onerror=window.__xss=1>';

describe('the live server list', () => {
  let plain: HttpUpstream;
  let flaky: HttpUpstream;
  let down: DownPort;
  let gw: TestGateway;
  let browser: Browser;
  let settings: { mcpServers: Record<string, unknown>; systemConfig: unknown };

  before(async () => {
    plain = await startHttpUpstream('plain');
    flaky = await startHttpUpstream('flaky');
    down = await downPort();
    settings = {
      mcpServers: {
        plain: { type: 'streamable-http', url: plain.url },
        flaky: { type: 'streamable-http', url: flaky.url },
        down: { type: 'streamable-http', url: down.url('/mcp') },
        [XSS_NAME]: { type: 'streamable-http', url: plain.url },
      },
      systemConfig: { timeouts: FAST_TIMEOUTS },
    };
    gw = await startGateway(settings);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await gw?.close();
    await plain?.stop();
    await flaky?.stop();
    await down?.close();
  });

  test('states are words with the raw codes in the tooltip; markup in a name stays text', async () => {
    const page = await newPage(browser);
    await signIn(page, gw.base);
    const card = await waitForCard(page, 'plain', (c) => c.label === 'Connected', 'Connected');
    assert.equal(card.signIn, 'No sign-in needed');
    assert.equal(card.raw, 'status: connected · auth stage: unauthenticated');
    assert.deepEqual(card.buttons, ['Reconnect', 'Details']);
    const status = await gw.waitForServer('plain', (s) => s.status === 'connected');
    assert.equal(card.tools, String(status.tools.length));

    const failing = await waitForCard(
      page,
      'down',
      (c) => c.label.startsWith('Error — retrying at '),
      'an error with its retry time',
    );
    assert.match(failing.raw, /^status: error · auth stage: \w+ · code: UPSTREAM_CONNECT_FAILED$/);
    assert.match(failing.error, /\(UPSTREAM_CONNECT_FAILED\)$/);
    // Down is not a sign-in problem: Reconnect, not Connect.
    assert.deepEqual(failing.buttons, ['Reconnect', 'Details']);

    const marked = await waitForCard(page, XSS_NAME, (c) => c.label === 'Connected', 'Connected');
    assert.equal(marked.name, XSS_NAME);
    assert.equal(await page.locator('img').count(), 0);
    assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);
    assertPageClean(page);
    await page.context().close();
  });

  test('cards follow an upstream outage and a hand edit by push, without polling the list', async () => {
    const page = await newPage(browser);
    const requests: Request[] = [];
    page.on('request', (request) => requests.push(request));
    await signIn(page, gw.base);
    await waitForCard(page, 'flaky', (c) => c.label === 'Connected', 'Connected');

    // The upstream dies; the gateway notices at its next connection attempt.
    await flaky.crash();
    await (await gw.api('/api/servers/flaky/reconnect', { method: 'POST' })).body?.cancel();
    await waitForCard(page, 'flaky', (c) => c.label.startsWith('Error'), 'an error');
    flaky.revive();
    await waitForCard(page, 'flaky', (c) => c.label === 'Connected', 'Connected again');

    // A person edits the file by hand: a server appears, another goes, in the open page.
    const edited = structuredClone(settings);
    edited.mcpServers.added = { type: 'streamable-http', url: plain.url };
    delete edited.mcpServers.down;
    await gw.writeSettings(edited);
    await waitForCard(page, 'added', (c) => c.label === 'Connected', 'the added server, Connected');
    await waitForNoCard(page, 'down');
    await waitForText(page, '#servers-summary', (t) => t.startsWith('4 servers'), 'four servers');

    const paths = requests.map((r) => new URL(r.url()).pathname);
    assert.equal(paths.filter((p) => p === '/api/servers').length, 0, 'the list is never polled');
    assert.equal(paths.filter((p) => p === '/api/events').length, 1, 'one event stream, kept open');
    await gw.writeSettings(settings);
    await waitForCard(page, 'down', () => true, 'down back');
    assertPageClean(page);
    await page.context().close();
  });

  test('losing the gateway says so, and the page reconnects by itself', async () => {
    const page = await newPage(browser);
    await signIn(page, gw.base);
    await waitForCard(page, 'plain', (c) => c.label === 'Connected', 'Connected');
    assert.equal(await page.locator('#live').textContent(), 'Live');

    // The gateway's port stays held; every connection to it is reset until it is reachable again.
    const outage = reachability(gw.app.server);
    outage.setReachable(false);
    try {
      await waitForText(
        page,
        '#live',
        (t) => t === 'Connection to Gatehouse lost — reconnecting…',
        'the lost-connection notice',
      );
    } finally {
      outage.setReachable(true);
    }
    await waitForText(page, '#live', (t) => t === 'Live', 'Live again');
    // What changed while the page was cut off shows up after the reconnection.
    await flaky.crash();
    await (await gw.api('/api/servers/flaky/reconnect', { method: 'POST' })).body?.cancel();
    await waitForCard(
      page,
      'flaky',
      (c) => c.label.startsWith('Error'),
      'the crash, seen after reconnecting',
    );
    flaky.revive();
    await waitForCard(page, 'flaky', (c) => c.label === 'Connected', 'Connected again');
    await page.context().close();
  });
});
