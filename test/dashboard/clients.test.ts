/**
 * The authorized clients screen (#/clients) in Debian's Chromium: a client that got a grant from
 * Gatehouse's own authorization server through the MCP SDK's auth flow is listed (its name, its
 * redirect host, the person, the scopes), and revoking it in the page makes its access token fail
 * on /mcp at once. Without that authorization server the page says how to turn it on.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../fixtures/browser.js';
import { FAST_TIMEOUTS, initializeStatus, startGateway, type TestGateway } from '../fixtures/gateway.js';
import { startHttpUpstream, type HttpUpstream } from '../fixtures/mcp-upstream.js';
import { MemoryClientProvider, REDIRECT_URI, sdkSignIn } from '../inbound/oauth-client.js';
import { assertPageClean, newPage, signIn, waitForText } from './page.js';

const mcpStatus = initializeStatus;

describe('the authorized clients screen', () => {
  let upstream: HttpUpstream;
  let gw: TestGateway;
  let plain: TestGateway;
  let browser: Browser;
  // Without baseUrl, Gatehouse names itself http://localhost:<port>: the resource the SDK checks.
  const mcp = () => `${gw.base.replace('127.0.0.1', 'localhost')}/mcp`;

  before(async () => {
    upstream = await startHttpUpstream('alpha');
    gw = await startGateway({
      mcpServers: { alpha: { type: 'streamable-http', url: upstream.url } },
      systemConfig: { timeouts: FAST_TIMEOUTS, inboundAuth: { oauth: { enabled: true } } },
    });
    plain = await startGateway({
      mcpServers: {},
      systemConfig: { timeouts: FAST_TIMEOUTS, inboundAuth: {} },
    });
    await gw.waitForServer('alpha', (s) => s.status === 'connected');
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await gw?.close();
    await plain?.close();
    await upstream?.stop();
  });

  test('a client signed in through the SDK is listed; Revoke in the page refuses its token at once', async () => {
    const { provider } = await sdkSignIn(mcp(), new MemoryClientProvider({ name: 'Listed client' }));
    const token = provider.saved!.access_token;
    assert.equal(await mcpStatus(mcp(), token), 200);

    const page = await newPage(browser);
    await signIn(page, gw.base, '#/clients');
    await page.getByRole('heading', { name: 'Authorized clients', level: 2 }).waitFor();
    await waitForText(page, '.client-list', (t) => t.includes('Listed client'), 'the client listed');
    assert.equal(await page.locator('.off-note').isHidden(), true, 'the authorization server is on');
    const item = page.locator('li.client', { has: page.getByRole('heading', { name: 'Listed client' }) });
    const text = await item.innerText();
    assert.match(text, new RegExp(`Redirects to\\s+${new URL(REDIRECT_URI).host.replaceAll('.', '\\.')}`));
    assert.match(text, /Person\s+admin/);
    assert.match(text, /Scopes\s+.*Everything/);
    assert.match(text, /Since\s+\S/);
    assert.ok(text.includes(provider.client!.client_id), 'the client id');
    assert.equal((await page.content()).includes(token), false, 'never a token');

    // Cancel keeps it; Revoke withdraws the grant and its tokens.
    await item.getByRole('button', { name: 'Revoke Listed client' }).click();
    const dialog = page.getByRole('dialog', { name: 'Revoke Listed client?' });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.equal(await mcpStatus(mcp(), token), 200);
    await item.getByRole('button', { name: 'Revoke Listed client' }).click();
    await dialog.getByRole('button', { name: 'Revoke Listed client' }).click();
    await waitForText(page, '[role=status]', (t) => t.includes('Listed client revoked'), 'the revocation');
    await waitForText(page, '.summary', (t) => t.includes('No client authorized yet'), 'empty');
    assert.equal(await mcpStatus(mcp(), token), 401);
    const { clients } = (await (await gw.api('/api/clients')).json()) as { clients: unknown[] };
    assert.deepEqual(clients, []);
    assertPageClean(page);
    await page.context().close();
  });

  test('without its own authorization server, the page says it is off and which setting turns it on', async () => {
    const page = await newPage(browser);
    await signIn(page, plain.base, '#/clients');
    const note = await waitForText(page, '.off-note', (t) => t.length > 0, 'the note');
    assert.match(note, /Gatehouse's own authorization server is off/);
    assert.match(note, /"inboundAuth": \{ "oauth": \{ "enabled": true \} \}/);
    assert.match(note, /systemConfig/);
    assert.equal(await page.locator('.client-list').isVisible(), false, 'no empty list beside it');
    assertPageClean(page);
    await page.context().close();
  });
});
