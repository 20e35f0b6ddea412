/**
 * Pasting a Claude Desktop configuration into the dashboard in Debian's Chromium: a preview of
 * each server with its name clash, a new name for the clashing one, then both are added, written
 * to the settings file and connected.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../fixtures/browser.js';
import { FAST_TIMEOUTS, startGateway, type TestGateway } from '../fixtures/gateway.js';
import { startHttpUpstream, type HttpUpstream } from '../fixtures/mcp-upstream.js';
import { ROOT } from '../fixtures/process.js';
import { assertPageClean, go, newPage, signIn, waitForCard, waitForText } from './page.js';

describe('pasting a configuration', () => {
  let docs: HttpUpstream;
  let gw: TestGateway;
  let browser: Browser;

  before(async () => {
    docs = await startHttpUpstream('docs');
    gw = await startGateway({
      mcpServers: { docs: { type: 'streamable-http', url: docs.url } },
      systemConfig: { timeouts: FAST_TIMEOUTS },
    });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await gw?.close();
    await docs?.stop();
  });

  test('a Claude Desktop snippet with two servers: preview with the clash, rename, add', async () => {
    // As claude_desktop_config.json has it: JSON with a comment, programs started by a command
    // line (here the stdio test server; tsx by its URL, since the program starts in another folder).
    const program = (label: string) => ({
      command: process.execPath,
      args: [
        '--import',
        import.meta.resolve('tsx'),
        join(ROOT, 'test', 'fixtures', 'stdio-upstream.ts'),
        label,
      ],
    });
    const snippet = `{
  // copied from claude_desktop_config.json
  "mcpServers": {
    "docs": ${JSON.stringify(program('pasted-docs'))},
    "notes": ${JSON.stringify(program('notes'))}
  }
}`;
    const page = await newPage(browser);
    await signIn(page, gw.base, '#/import');
    await page.getByLabel('Configuration', { exact: true }).fill(snippet);
    await page.getByRole('button', { name: 'Preview' }).click();

    const rows = page.locator('.import-preview tbody tr');
    await rows.first().waitFor();
    assert.deepEqual(await rows.locator('th').allTextContents(), ['docs', 'notes']);
    assert.equal(await rows.nth(0).getAttribute('data-clash'), 'true');
    assert.equal(await rows.nth(1).getAttribute('data-clash'), 'false');
    assert.match((await rows.nth(0).textContent()) ?? '', /A server named “docs” exists/);
    assert.match((await rows.nth(1).textContent()) ?? '', /will be added/);

    await page.getByLabel('New name for docs').fill('docs-local');
    await page.getByRole('button', { name: 'Add these servers' }).click();
    await waitForText(page, '.view-head ~ [role="status"]', (t) => t === 'Added 2 servers.', 'two added');

    const servers = (await gw.readSettings()).mcpServers as Record<string, unknown>;
    assert.deepEqual(Object.keys(servers), ['docs', 'docs-local', 'notes']);
    assert.deepEqual(servers['docs-local'], program('pasted-docs'));
    await go(page, '#/');
    await waitForCard(page, 'docs-local', (c) => c.label === 'Connected', 'docs-local Connected');
    await waitForCard(page, 'notes', (c) => c.label === 'Connected', 'notes Connected');
    await waitForCard(page, 'docs', (c) => c.label === 'Connected', 'the first docs untouched');
    assertPageClean(page);
    await page.context().close();
  });
});
