/**
 * The sign-in and consent pages in a real browser (Debian's Chromium): the MCP SDK's authorization
 * URL opened in a page, the admin token typed, Allow clicked; the page runs under the strict CSP
 * without a single violation, and the client gets its code and then its tokens.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { auth } from '@modelcontextprotocol/sdk/client/auth.js';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../fixtures/browser.js';
import { ADMIN_TOKEN, startGateway, type TestGateway } from '../fixtures/gateway.js';
import { MemoryClientProvider } from './oauth-client.js';

let gw: TestGateway;
let browser: Browser;
/** The client's redirect URI: a page of its own on loopback, where the browser lands at the end. */
let redirectUri: string;
let client: Server;

before(async () => {
  gw = await startGateway({
    mcpServers: { off: { command: 'never-started', enabled: false } },
    systemConfig: { inboundAuth: { oauth: { enabled: true } } },
  });
  browser = await launchChromium();
  client = createServer(
    (_req, res) => void res.writeHead(200, { 'content-type': 'text/plain' }).end('back at the client'),
  );
  await new Promise<void>((resolve) => client.listen(0, '127.0.0.1', resolve));
  redirectUri = `http://127.0.0.1:${(client.address() as AddressInfo).port}/callback`;
});
after(async () => {
  client.closeAllConnections();
  await new Promise((resolve) => client.close(resolve));
  await browser.close();
  await gw.close();
});

test('in Chromium: sign in with the admin token, Allow, and the SDK client gets its tokens', async () => {
  const serverUrl = `${gw.base.replace('127.0.0.1', 'localhost')}/mcp`;
  const provider = new MemoryClientProvider({ name: 'Browser client', redirectUri });
  assert.equal(await auth(provider, { serverUrl }), 'REDIRECT');

  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    // Failed loads are reported below with their URL (a browser asks for /favicon.ico by itself).
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
      problems.push(message.text());
    }
  });
  page.on('response', (response) => {
    const url = new URL(response.url());
    if (response.status() >= 400 && url.pathname !== '/favicon.ico')
      problems.push(`${response.status()} ${url.pathname}`);
  });
  page.on('pageerror', (error) => problems.push(error.message));

  await page.goto(provider.authorizationUrl!.href);
  await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Allow' }).waitFor();
  assert.match(await page.locator('.client-name').innerText(), /Browser client/);
  assert.equal(await page.locator('.redirect-host').innerText(), new URL(redirectUri).host);
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.waitForURL((url) => url.href.startsWith(`${redirectUri}?`));
  const redirect = new URL(page.url());

  const code = redirect.searchParams.get('code');
  assert.ok(code, redirect.search);
  assert.equal(await auth(provider, { serverUrl, authorizationCode: code }), 'AUTHORIZED');
  assert.ok(provider.saved?.access_token);
  assert.ok(provider.saved?.refresh_token);
  assert.deepEqual(problems, [], 'no CSP violation or script error on the pages');
  await page.close();
});
