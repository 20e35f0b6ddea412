/**
 * Editing servers from the dashboard in Debian's Chromium, checked against the settings file on
 * disk and the gateway's own state: add a program with a secret environment value, edit a URL
 * (only that server reconnects), a conflicting hand edit ("the file changed on disk"), rename,
 * disable and enable, remove with confirmation, groups.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../fixtures/browser.js';
import { FAST_TIMEOUTS, startGateway, textOf, waitUntil, type TestGateway } from '../fixtures/gateway.js';
import { startHttpUpstream, type HttpUpstream } from '../fixtures/mcp-upstream.js';
import { ROOT } from '../fixtures/process.js';
import { assertPageClean, go, newPage, signIn, waitForCard, waitForNoCard } from './page.js';

type Entry = Record<string, unknown>;

describe('editing servers from the dashboard', () => {
  let first: HttpUpstream;
  let moved: HttpUpstream;
  let other: HttpUpstream;
  let gw: TestGateway;
  let browser: Browser;

  const servers = async () => (await gw.readSettings()).mcpServers as Record<string, Entry>;

  before(async () => {
    first = await startHttpUpstream('first');
    moved = await startHttpUpstream('moved');
    other = await startHttpUpstream('other');
    gw = await startGateway({
      mcpServers: {
        one: { type: 'streamable-http', url: first.url },
        two: { type: 'streamable-http', url: other.url },
      },
      systemConfig: { timeouts: FAST_TIMEOUTS },
    });
    await gw.waitForServer('one', (s) => s.status === 'connected');
    await gw.waitForServer('two', (s) => s.status === 'connected');
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await gw?.close();
    await first?.stop();
    await moved?.stop();
    await other?.stop();
  });

  /** Opens a server's edit form and waits until it is filled in. */
  async function openEdit(page: Page, name: string): Promise<void> {
    await go(page, `#/servers/${encodeURIComponent(name)}/edit`);
    await page.locator('#server-form').waitFor();
  }

  test('add a program with a secret environment value: stored encrypted, given to the program', async () => {
    const page = await newPage(browser);
    await signIn(page, gw.base, '#/add');
    await page.getByLabel('Name', { exact: true }).fill('local');
    await page.getByLabel('Transport').selectOption('stdio');
    assert.equal(
      await page.getByLabel('URL', { exact: true }).isHidden(),
      true,
      'the URL is for remote servers',
    );
    await page.getByLabel('Command').fill(process.execPath);
    await page
      .getByLabel('Arguments')
      .fill(['--import', 'tsx', join(ROOT, 'test', 'fixtures', 'stdio-upstream.ts'), 'local'].join('\n'));
    await page.getByLabel('Working folder').fill(ROOT);
    await page.getByRole('button', { name: 'Add variable' }).click();
    await page.getByLabel('variable 1 name').fill('FIXTURE_SECRET');
    await page.getByLabel('variable 1 value').fill('s3cret-value');
    await page.getByLabel('variable 1 is secret').check();
    await page.getByRole('button', { name: 'Add server' }).click();

    // The new server's page opens, and it connects.
    await page.getByRole('heading', { name: 'local', level: 2, exact: true }).waitFor();
    await gw.waitForServer('local', (s) => s.status === 'connected');
    const text = await readFile(gw.settingsPath, 'utf8');
    assert.equal(text.includes('s3cret-value'), false, 'the secret is not in the file in clear');
    const entry = (await servers()).local!;
    assert.match((entry.env as Record<string, string>).FIXTURE_SECRET!, /^enc:v1:/);
    assert.equal(entry.command, process.execPath);
    const client = await gw.client();
    const env = JSON.parse(textOf(await client.callTool({ name: 'local__env', arguments: {} }))) as Record<
      string,
      string
    >;
    assert.equal(env.FIXTURE_SECRET, 's3cret-value');

    // The edit form shows it as set, never its value, and keeps it when left alone.
    await openEdit(page, 'local');
    const value = page.getByLabel('variable 1 value');
    assert.equal(await value.inputValue(), '');
    assert.equal(await value.getAttribute('placeholder'), 'set; leave empty to keep');
    assert.equal((await page.content()).includes('s3cret-value'), false);
    await page.getByLabel('Working folder').fill(join(ROOT, 'test'));
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('heading', { name: 'local', level: 2, exact: true }).waitFor();
    await waitUntil(async () => (await servers()).local!.cwd === join(ROOT, 'test'), 'the new cwd on disk');
    assert.equal(
      ((await servers()).local!.env as Record<string, string>).FIXTURE_SECRET,
      (entry.env as Record<string, string>).FIXTURE_SECRET,
    );
    assertPageClean(page);
    await page.context().close();
  });

  test('an entry the loader refuses is not added: each problem is shown, nothing is written', async () => {
    const page = await newPage(browser);
    await signIn(page, gw.base, '#/add');
    const before = await readFile(gw.settingsPath, 'utf8');
    await page.getByLabel('Name', { exact: true }).fill('broken');
    await page.getByLabel('URL', { exact: true }).fill('ftp://example.com/mcp');
    await page.getByRole('button', { name: 'Add server' }).click();
    const problems = page.locator('#server-form .problems');
    await problems.getByText('Not saved').waitFor();
    const text = await problems.innerText();
    assert.match(text, /url/);
    assert.match(text, /must be an absolute http\(s\) URL/);
    assert.equal(await readFile(gw.settingsPath, 'utf8'), before);
    // The form keeps what was typed, to be corrected.
    assert.equal(await page.getByLabel('URL', { exact: true }).inputValue(), 'ftp://example.com/mcp');
    await page.context().close();
  });

  test("edit a server's URL: only that server reconnects", async () => {
    const page = await newPage(browser);
    await signIn(page, gw.base);
    const before = (await gw.servers()).find((s) => s.name === 'two')!;
    const otherInitializations = other.initializeCount;
    await openEdit(page, 'one');
    const url = page.getByLabel('URL', { exact: true });
    assert.equal(await url.inputValue(), first.url);
    await url.fill(moved.url);
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('heading', { name: 'one', level: 2, exact: true }).waitFor();

    await waitUntil(() => moved.initializeCount > 0, 'one to connect to its new URL');
    await go(page, '#/');
    await waitForCard(page, 'one', (c) => c.label === 'Connected', 'one Connected');
    assert.equal((await servers()).one!.url, moved.url);
    assert.deepEqual((await servers()).two, { type: 'streamable-http', url: other.url });
    const after = (await gw.servers()).find((s) => s.name === 'two')!;
    assert.equal(after.connectedSince, before.connectedSince, 'two kept its connection');
    assert.equal(other.initializeCount, otherInitializations);
    assertPageClean(page);
    await page.context().close();
  });

  test('saving over a hand edit of the same server says the file changed on disk, and reloads', async () => {
    const page = await newPage(browser);
    await signIn(page, gw.base);
    await openEdit(page, 'two');
    assert.equal(await page.getByLabel('URL', { exact: true }).inputValue(), other.url);

    // Meanwhile, a person edits the same server in the file.
    const settings = await gw.readSettings();
    (settings.mcpServers as Record<string, Entry>).two!.headers = { 'X-Team': 'edited-by-hand' };
    const version = async () =>
      ((await (await gw.api('/api/servers/two')).json()) as { version: string }).version;
    const seen = await version();
    await gw.writeSettings(settings);
    await waitUntil(async () => (await version()) !== seen, 'the hand edit to be loaded');

    await page.getByLabel('URL', { exact: true }).fill(`${other.url}?from=form`);
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('The file changed on disk since this form was opened').waitFor();
    assert.deepEqual((await servers()).two!.headers, { 'X-Team': 'edited-by-hand' });
    assert.equal((await servers()).two!.url, other.url, 'nothing was written');

    await page.getByRole('button', { name: 'Reload the form' }).click();
    await page.getByLabel('header 1 value').waitFor();
    assert.equal(await page.getByLabel('header 1 name').inputValue(), 'X-Team');
    assert.equal(await page.getByLabel('header 1 value').inputValue(), 'edited-by-hand');
    await page.context().close();
  });

  test('rename, disable and enable, then remove after a confirmation', async () => {
    const page = await newPage(browser);
    await signIn(page, gw.base);
    await openEdit(page, 'two');
    await page.getByLabel('Name', { exact: true }).fill('second');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('heading', { name: 'second', level: 2, exact: true }).waitFor();
    const names = Object.keys(await servers());
    assert.ok(names.includes('second') && !names.includes('two'), names.join(', '));

    const enabled = page.getByRole('switch', { name: 'Enabled' });
    await enabled.click();
    await page.locator('.detail .status').getByText('Disabled').waitFor();
    assert.equal(await enabled.getAttribute('aria-checked'), 'false');
    assert.equal((await servers()).second!.enabled, false);
    await enabled.click();
    await page.locator('.detail .status').getByText('Connected').waitFor();
    assert.notEqual((await servers()).second!.enabled, false);

    // Cancel keeps it; the second time it goes, from the page and from the file.
    await page.getByRole('button', { name: 'Remove second' }).click();
    const dialog = page.getByRole('dialog', { name: 'Remove second?' });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.ok((await servers()).second);
    await page.getByRole('button', { name: 'Remove second' }).click();
    await dialog.getByRole('button', { name: 'Remove second' }).click();
    await page.getByRole('heading', { name: 'Servers', level: 2 }).waitFor();
    await waitForNoCard(page, 'second');
    assert.equal((await servers()).second, undefined);
    assertPageClean(page);
    await page.context().close();
  });

  test('groups: create one with chosen servers, then delete it', async () => {
    const page = await newPage(browser);
    await signIn(page, gw.base, '#/groups');
    const form = page.locator('form.group-form[data-group=""]');
    await form.getByLabel('Group name').fill('dev');
    await form.getByLabel('one', { exact: true }).check();
    await form.getByRole('button', { name: 'Create group' }).click();
    const dev = page.locator('form.group-form[data-group="dev"]');
    await dev.waitFor();
    assert.deepEqual((await gw.readSettings()).groups, { dev: { servers: ['one'] } });
    assert.equal(await dev.getByLabel('one', { exact: true }).isChecked(), true);

    await dev.getByRole('button', { name: 'Delete group dev' }).click();
    await dev.waitFor({ state: 'detached' });
    assert.deepEqual((await gw.readSettings()).groups ?? {}, {});
    assertPageClean(page);
    await page.context().close();
  });
});
