/**
 * The API keys screen (#/keys) in Debian's Chromium, against a gateway with
 * `systemConfig.inboundAuth: {}` (every /mcp request needs a credential): a key made through the
 * form is shown once, works on /mcp with a real SDK client for its one server only, is listed
 * without its secret after a reload, and revoking it in the page refuses that client at once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../fixtures/browser.js';
import {
  FAST_TIMEOUTS,
  initializeStatus,
  startGateway,
  textOf,
  type TestGateway,
} from '../fixtures/gateway.js';
import { startHttpUpstream, type HttpUpstream } from '../fixtures/mcp-upstream.js';
import { assertPageClean, go, newPage, signIn, waitForText } from './page.js';

interface KeyView {
  id: string;
  name: string;
  scopes: string[];
  user: string;
  expiresAt?: string;
  lastUsedAt?: string;
}

describe('the API keys screen', () => {
  let alpha: HttpUpstream;
  let beta: HttpUpstream;
  let gw: TestGateway;
  let browser: Browser;

  const keys = async () => ((await (await gw.api('/api/keys')).json()) as { keys: KeyView[] }).keys;

  const mcpStatus = (secret: string) => initializeStatus(`${gw.base}/mcp`, secret);

  before(async () => {
    alpha = await startHttpUpstream('alpha');
    beta = await startHttpUpstream('beta');
    gw = await startGateway({
      mcpServers: {
        alpha: { type: 'streamable-http', url: alpha.url },
        beta: { type: 'streamable-http', url: beta.url },
      },
      groups: { team: { servers: ['beta'] } },
      systemConfig: { timeouts: FAST_TIMEOUTS, inboundAuth: {} },
    });
    await gw.waitForServer('alpha', (s) => s.status === 'connected');
    await gw.waitForServer('beta', (s) => s.status === 'connected');
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await gw?.close();
    await alpha?.stop();
    await beta?.stop();
  });

  /** Opens #/keys and waits until the list and the server choices are there. */
  async function openKeys(page: Page): Promise<void> {
    await signIn(page, gw.base, '#/keys');
    await page.getByRole('heading', { name: 'API keys', level: 2 }).waitFor();
    await waitForText(page, '.keys .summary', (t) => t !== 'Loading keys…', 'the list');
    await page.getByLabel('Server alpha', { exact: true }).waitFor();
  }

  test('a key scoped to one server: its secret shown once, only that server on /mcp, gone after a reload, refused at once when revoked', async () => {
    const page = await newPage(browser);
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: gw.base });
    await openKeys(page);
    await page.getByLabel('Name', { exact: true }).fill('ci');
    await page.getByLabel('Server alpha', { exact: true }).check();
    await page.getByRole('button', { name: 'Create key' }).click();

    const field = page.getByLabel('Secret of ci', { exact: true });
    await field.waitFor();
    const secret = await field.inputValue();
    assert.match(secret, /^gh_/);
    assert.equal(await field.getAttribute('readonly'), '');
    await page.getByText('Copy it now: it will not be shown again.').waitFor();
    const hint = await page.locator('.secret-panel .hint').innerText();
    assert.ok(hint.includes('Authorization: Bearer <key>'), hint);
    assert.ok(hint.includes(`${gw.base}/mcp`), hint);
    assert.ok(!hint.includes(secret), 'the hint does not repeat the secret');
    await page.getByRole('button', { name: 'Copy the secret' }).click();
    await page.locator('.secret-panel [role=status]').getByText('Copied.').waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);

    // Listed, as the API lists it, without the secret.
    const item = page.locator('li.key', { has: page.getByRole('heading', { name: 'ci' }) });
    const text = await item.innerText();
    assert.match(text, /server alpha/);
    assert.match(text, /Acts as\s+admin/);
    assert.match(text, /Last used\s+Never/);
    assert.ok(!text.includes(secret));
    const [listed] = await keys();
    assert.deepEqual(
      { name: listed!.name, scopes: listed!.scopes, user: listed!.user },
      { name: 'ci', scopes: ['mcp:server:alpha'], user: 'admin' },
    );

    // A real MCP client with the key sees and calls alpha's tools only.
    const client = new Client({ name: 'script', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${gw.base}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${secret}` } },
      }),
    );
    const names = (await client.listTools()).tools.map((t) => t.name);
    assert.ok(names.length > 0 && names.every((n) => n.startsWith('alpha__')), names.join());
    assert.equal(textOf(await client.callTool({ name: 'alpha__whoami' })), 'alpha');
    const outside = await client.callTool({ name: 'beta__whoami' }).catch((error: unknown) => error);
    assert.ok(
      outside instanceof Error || (outside as { isError?: boolean }).isError,
      `beta is outside the key: ${JSON.stringify(outside)}`,
    );

    // A reload: the secret is nowhere, the key is still listed, now with its last use.
    await page.reload();
    await page.locator('#nav').waitFor({ state: 'visible' });
    await waitForText(page, '.keys .summary', (t) => t === '1 key', 'the key listed');
    assert.equal(await page.locator('.secret-panel').count(), 0);
    assert.equal(await page.getByLabel('Secret of ci').count(), 0);
    const held = await page.evaluate(
      (s) => [
        document.documentElement.outerHTML.includes(s),
        document.body.innerText.includes(s),
        Array.from(document.querySelectorAll('input')).some((i) => i.value.includes(s)),
        JSON.stringify({ ...localStorage }).includes(s),
        JSON.stringify({ ...sessionStorage }).includes(s),
      ],
      secret,
    );
    assert.deepEqual(held, [false, false, false, false, false], 'markup, text, fields, storage');
    assert.doesNotMatch(await item.innerText(), /Last used\s+Never/);

    // Revoke in the page (Cancel first keeps it): the open MCP client is refused on its next request.
    await item.getByRole('button', { name: 'Revoke ci' }).click();
    const dialog = page.getByRole('dialog', { name: 'Revoke ci?' });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.equal((await keys()).length, 1);
    assert.equal(await mcpStatus(secret), 200);
    await item.getByRole('button', { name: 'Revoke ci' }).click();
    await dialog.getByRole('button', { name: 'Revoke ci' }).click();
    await waitForText(page, '[role=status]', (t) => t.includes('Key ci revoked'), 'the revocation');
    await waitForText(page, '.keys .summary', (t) => t === 'No API keys yet.', 'an empty list');
    assert.deepEqual(await keys(), []);
    await assert.rejects(client.listTools(), /401|nauthorized/);
    assert.equal(await mcpStatus(secret), 401);
    await client.close().catch(() => undefined);
    assertPageClean(page);
    await page.context().close();
  });

  test('leaving the screen drops the secret: back on #/keys it is not shown again', async () => {
    const page = await newPage(browser);
    await openKeys(page);
    await page.getByLabel('Name', { exact: true }).fill('leaving');
    await page.getByLabel('Group team', { exact: true }).check();
    await page.getByRole('button', { name: 'Create key' }).click();
    const secret = await page.getByLabel('Secret of leaving', { exact: true }).inputValue();
    assert.match(secret, /^gh_/);
    await go(page, '#/');
    await page.getByRole('heading', { name: 'Servers', level: 2 }).waitFor();
    await go(page, '#/keys');
    await waitForText(page, '.keys', (t) => t.includes('leaving') && t.includes('group team'), 'the key');
    assert.equal(await page.locator('.secret-panel').count(), 0);
    assert.equal(
      await page.evaluate(
        (s) => Array.from(document.querySelectorAll('input')).some((i) => i.value === s),
        secret,
      ),
      false,
    );
    const created = (await keys()).find((k) => k.name === 'leaving')!;
    assert.deepEqual(created.scopes, ['mcp:group:team']);
    await gw.api(`/api/keys/${created.id}`, { method: 'DELETE' });
    assertPageClean(page);
    await page.context().close();
  });

  test('Everything, acts as and an expiry date reach the key; Everything makes the other choices moot', async () => {
    const page = await newPage(browser);
    await openKeys(page);
    await page.getByLabel('Name', { exact: true }).fill('agent');
    await page.getByLabel('Server beta', { exact: true }).check();
    await page.getByLabel('Everything', { exact: true }).check();
    assert.equal(await page.getByLabel('Server beta', { exact: true }).isDisabled(), true);
    await page.getByLabel('Acts as (optional)').fill('alice@example.com');
    const tomorrow = new Date(Date.now() + 86_400_000);
    const day = `${tomorrow.getFullYear()}-${String(tomorrow.getMonth() + 1).padStart(2, '0')}-${String(tomorrow.getDate()).padStart(2, '0')}`;
    await page.getByLabel('Expires (optional)').fill(day);
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.getByLabel('Secret of agent', { exact: true }).waitFor();
    const created = (await keys()).find((k) => k.name === 'agent')!;
    assert.deepEqual(created.scopes, ['mcp:all']);
    assert.equal(created.user, 'alice@example.com');
    // The end of the chosen day in the browser's time zone.
    const expires = await page.evaluate((d) => new Date(`${d}T23:59:59`).toISOString(), day);
    assert.equal(created.expiresAt, expires);
    const text = await page
      .locator('li.key', { has: page.getByRole('heading', { name: 'agent' }) })
      .innerText();
    assert.match(text, /Everything/);
    assert.match(text, /Acts as\s+alice@example\.com/);
    assert.doesNotMatch(text, /Expires\s+Never/);
    await gw.api(`/api/keys/${created.id}`, { method: 'DELETE' });
    assertPageClean(page);
    await page.context().close();
  });

  test('a refused key is not made: no scope chosen, or a group deleted since the form opened (SCOPE_INVALID)', async () => {
    await gw.api('/api/groups/gone', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ servers: ['alpha'] }),
    });
    const page = await newPage(browser);
    await openKeys(page);
    await page.getByLabel('Group gone', { exact: true }).waitFor();
    await page.getByLabel('Name', { exact: true }).fill('stale');
    await page.getByRole('button', { name: 'Create key' }).click();
    await waitForText(page, '#key-form .error', (t) => t.includes('Choose what it may use'), 'no scope');
    assert.equal(
      await page.evaluate(() => (document.activeElement as HTMLInputElement | null)?.value),
      'mcp:all',
      'the focus goes to the choices',
    );

    await page.getByLabel('Group gone', { exact: true }).check();
    assert.equal((await gw.api('/api/groups/gone', { method: 'DELETE' })).status, 204);
    await page.getByRole('button', { name: 'Create key' }).click();
    const error = await waitForText(
      page,
      '#key-form .error',
      (t) => t.includes('SCOPE_INVALID'),
      'the refusal',
    );
    assert.match(error, /"mcp:group:gone" is not a scope/);
    assert.equal(await page.locator('.secret-panel').count(), 0);
    assert.equal(
      await page.getByLabel('Name', { exact: true }).inputValue(),
      'stale',
      'the form keeps its input',
    );
    assert.equal(
      (await keys()).find((k) => k.name === 'stale'),
      undefined,
    );
    assertPageClean(page);
    await page.context().close();
  });

  test('by keyboard alone: create a key, copy its secret, hide it, revoke the key', async () => {
    const page = await newPage(browser);
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: gw.base });
    await openKeys(page);
    await tabTo(page, 'Name');
    await page.keyboard.type('keyboard');
    await tabTo(page, 'Server beta');
    await page.keyboard.press('Space');
    await tabTo(page, 'Create key');
    await page.keyboard.press('Enter');
    // The focus lands in the secret's field.
    await page.waitForFunction(() => document.activeElement?.classList.contains('secret') === true);
    await page.keyboard.press('Tab');
    assert.equal(await focusedName(page), 'Copy the secret');
    await page.keyboard.press('Enter');
    await page.locator('.secret-panel [role=status]').getByText('Copied.').waitFor();
    assert.match(await page.evaluate(() => navigator.clipboard.readText()), /^gh_/);
    await tabTo(page, 'Done: hide the secret');
    await page.keyboard.press('Enter');
    await page.locator('.secret-panel').waitFor({ state: 'detached' });
    await waitForText(page, '.keys .summary', (t) => t === '1 key', 'the key listed');

    await tabTo(page, 'Revoke keyboard');
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Revoke keyboard?' });
    await dialog.waitFor();
    assert.equal(await focusedName(page), 'Cancel', 'Enter alone does not revoke');
    await page.keyboard.press('Shift+Tab');
    assert.equal(await focusedName(page), 'Revoke keyboard');
    await page.keyboard.press('Enter');
    await waitForText(page, '.keys .summary', (t) => t === 'No API keys yet.', 'an empty list');
    assert.deepEqual(await keys(), []);
    assertPageClean(page);
    await page.context().close();
  });
});

/** The focused element's accessible name, as far as these screens need: aria-label, label, text. */
function focusedName(page: Page): Promise<string> {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLInputElement | null;
    if (!el) return '';
    return el.getAttribute('aria-label') ?? el.labels?.[0]?.textContent ?? el.textContent ?? '';
  });
}

/** Presses Tab until the focused element's accessible name is `name`; fails after 60. */
async function tabTo(page: Page, name: string): Promise<void> {
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press('Tab');
    if ((await focusedName(page)) === name) return;
  }
  throw new Error(`Tab never reached "${name}"`);
}
