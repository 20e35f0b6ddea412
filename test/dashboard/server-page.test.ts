/**
 * One server's page in Debian's Chromium (`#/servers/<name>`): its own address survives a reload,
 * a stdio program's stderr is shown, the last error names its code, its step (for a sign-in that
 * failed), the next retry and what to do; an address naming no server says so.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../fixtures/browser.js';
import { FAST_TIMEOUTS, startGateway, stdioFixture, type TestGateway } from '../fixtures/gateway.js';
import { startAuthServer, type AuthServer } from '../fixtures/oidc-provider.js';
import { startProtectedMcp, type ProtectedMcp } from '../fixtures/protected-mcp.js';
import { downPort, type DownPort } from '../fixtures/process.js';
import { assertPageClean, go, newPage, signIn, waitForText } from './page.js';

describe("a server's page", () => {
  let as: AuthServer;
  let mismatched: ProtectedMcp;
  let down: DownPort;
  let gw: TestGateway;
  let browser: Browser;

  before(async () => {
    as = await startAuthServer();
    // Its metadata names another resource: discovery must stop (RFC 9728 §3.3).
    mismatched = await startProtectedMcp({ authServer: as, resource: 'https://elsewhere.example/mcp' });
    down = await downPort();
    gw = await startGateway({
      mcpServers: {
        local: stdioFixture('local'),
        down: { type: 'streamable-http', url: down.url('/mcp') },
        mismatched: { url: mismatched.url },
      },
      systemConfig: { timeouts: FAST_TIMEOUTS },
    });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await gw?.close();
    await mismatched?.close();
    await as?.close();
    await down?.close();
  });

  test('has its own address, kept by a reload; a stdio program shows its stderr', async () => {
    const page = await newPage(browser);
    await signIn(page, gw.base, '#/servers/local');
    await page.getByRole('heading', { name: 'local', level: 2, exact: true }).waitFor();
    await waitForText(page, '.stderr', (t) => t.includes('fixture local started'), 'stderr');
    await page.reload();
    assert.equal(new URL(page.url()).hash, '#/servers/local');
    await page.getByRole('heading', { name: 'local', level: 2, exact: true }).waitFor();
    await waitForText(page, '.detail .status', (t) => t === 'Connected', 'Connected');
    assert.equal(await page.locator('.raw-codes').textContent(), 'status: connected');
    assertPageClean(page);
    await page.context().close();
  });

  test('the last error names its code, its step, the next retry and what to do', async () => {
    const page = await newPage(browser);
    await signIn(page, gw.base, '#/servers/down');
    const downError = await waitForText(page, '.error-panel', (t) => t.includes('Next retry'), 'the error');
    assert.match(downError, /Code\s+UPSTREAM_CONNECT_FAILED/);
    assert.match(downError, /What to do\s+Check that the server is running/);

    await go(page, '#/servers/mismatched');
    const authError = await waitForText(page, '.error-panel', (t) => t.includes('Step'), 'the sign-in error');
    assert.match(authError, /Step\s+Discovery \(finding the authorization server\)/);
    const code = /Code\s+(\S+)/.exec(authError)?.[1];
    const detail = (await (await gw.api('/api/servers/mismatched')).json()) as {
      auth: { error: { code: string; step: string } };
    };
    assert.equal(code, detail.auth.error.code);
    assert.equal(detail.auth.error.step, 'discovery');
    assertPageClean(page);
    await page.context().close();
  });

  test('an address naming no server says there is none', async () => {
    const page = await newPage(browser);
    await signIn(page, gw.base, '#/servers/nowhere');
    await page.getByText('There is no server named “nowhere” (any more).').waitFor();
    await page.context().close();
  });
});
