/**
 * The raw editor in Debian's Chromium: an invalid text is refused with each problem at its path
 * and line and the file on disk stays byte for byte as it was (and the page never says "Saved");
 * a valid one is saved with its comments and applied; a hand edit made meanwhile is not
 * overwritten.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../fixtures/browser.js';
import { startGateway, type TestGateway } from '../fixtures/gateway.js';
import { startHttpUpstream, type HttpUpstream } from '../fixtures/mcp-upstream.js';
import { assertPageClean, go, newPage, signIn, waitForCard, waitForText } from './page.js';

describe('the raw editor', () => {
  let docs: HttpUpstream;
  let dir: string;
  let gw: TestGateway;
  let browser: Browser;
  let original: string;

  before(async () => {
    docs = await startHttpUpstream('docs');
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-raw-'));
    // Hand-written, with a comment, as a person keeps it.
    original = `{
  // the servers Gatehouse offers
  "mcpServers": {
    "docs": { "type": "streamable-http", "url": "${docs.url}" }
  }
}
`;
    await writeFile(join(dir, 'mcp_settings.json'), original);
    gw = await startGateway(null, { dir });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await gw?.close();
    await docs?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function openEditor(): Promise<{ page: Page; text: ReturnType<Page['locator']> }> {
    const page = await newPage(browser);
    await signIn(page, gw.base, '#/settings');
    const text = page.getByLabel('mcp_settings.json', { exact: true });
    await page.waitForFunction(
      () => (document.getElementById('raw-text') as HTMLTextAreaElement).value !== '',
    );
    return { page, text };
  }

  test('an invalid text is refused with each problem at its path and line; the file is unchanged', async () => {
    const { page, text } = await openEditor();
    assert.equal(await text.inputValue(), original);
    const onDisk = await readFile(gw.settingsPath, 'utf8');

    // The schema: a URL that is not http(s), on line 4.
    await text.fill(original.replace(docs.url, 'ftp://example.com/mcp'));
    await page.getByRole('button', { name: 'Save file' }).click();
    const problems = await waitForText(page, '.raw-form .problems', (t) => t !== '', 'the problems');
    assert.match(problems, /^The file was not saved \(SETTINGS_INVALID\):/);
    assert.match(problems, /mcpServers\.docs\.url, line 4, column \d+: must be an absolute http\(s\) URL/);
    assert.equal(await page.locator('.raw-status').textContent(), 'Not saved.');
    assert.equal(await readFile(gw.settingsPath, 'utf8'), onDisk);

    // JSON that does not parse: a missing comma, at its line.
    await text.fill(original.replace('"streamable-http",', '"streamable-http"'));
    await page.getByRole('button', { name: 'Save file' }).click();
    await waitForText(
      page,
      '.raw-form .problems',
      (t) => t.includes('SETTINGS_INVALID_JSON'),
      'the syntax error',
    );
    assert.match(
      await page.locator('.raw-form .problems li').first().innerText(),
      /line 4, column \d+: .*comma/,
    );
    assert.equal(await readFile(gw.settingsPath, 'utf8'), onDisk);

    // "Go to line" puts the caret on the line named.
    await page.getByRole('button', { name: 'Go to line 4' }).click();
    const caretLine = await page.evaluate(() => {
      const area = document.getElementById('raw-text') as HTMLTextAreaElement;
      return area.value.slice(0, area.selectionStart).split('\n').length;
    });
    assert.equal(caretLine, 4);
    assert.equal(await page.locator('.raw-status').textContent(), 'Not saved.');
    assertPageClean(page);
    await page.context().close();
  });

  test('a valid text is saved with its comments and applied; a hand edit made meanwhile is kept', async () => {
    const { page, text } = await openEditor();
    const added = `{
  // the servers Gatehouse offers
  "mcpServers": {
    "docs": { "type": "streamable-http", "url": "${docs.url}" },
    // added in the browser
    "more": { "type": "streamable-http", "url": "${docs.url}" }
  }
}
`;
    await text.fill(added);
    await page.getByRole('button', { name: 'Save file' }).click();
    await waitForText(page, '.raw-status', (t) => t === 'Saved. Changed servers reconnect.', 'saved');
    assert.equal(await readFile(gw.settingsPath, 'utf8'), added);
    await go(page, '#/');
    await waitForCard(page, 'more', (c) => c.label === 'Connected', 'the new server Connected');

    // Meanwhile edited by hand: saving the stale text would lose that edit, so it is refused.
    await go(page, '#/settings');
    await page.waitForFunction(
      () => (document.getElementById('raw-text') as HTMLTextAreaElement).value !== '',
    );
    const byHand = added.replace('// added in the browser', '// renamed by hand');
    await writeFile(gw.settingsPath, byHand);
    await text.fill(added.replace('"more"', '"other"'));
    await page.getByRole('button', { name: 'Save file' }).click();
    await waitForText(page, '.raw-form .problems', (t) => t.includes('changed on disk'), 'the conflict');
    assert.equal(await readFile(gw.settingsPath, 'utf8'), byHand);
    await page.getByRole('button', { name: 'Reload (your text here is lost)' }).click();
    await page.waitForFunction(() =>
      (document.getElementById('raw-text') as HTMLTextAreaElement).value.includes('renamed by hand'),
    );
    assertPageClean(page);
    await page.context().close();
  });
});
