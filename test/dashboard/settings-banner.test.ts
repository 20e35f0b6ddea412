/**
 * The settings banner in Debian's Chromium (playwright-core) against a real gateway: a rejected
 * live edit shows a banner with the problem, its line and path and "the last good settings are
 * live"; it goes when the file is valid again. Keys Gatehouse ignores are a quieter note, shown
 * as text even when a key carries markup.
 *
 * Functions passed to page.evaluate are serialized into the browser: they must not define named
 * inner functions (tsx wraps those in a `__name` helper that does not exist in the page).
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../fixtures/browser.js';
import { ADMIN_TOKEN, startGateway, waitUntil, type TestGateway } from '../fixtures/gateway.js';

const MARKUP_KEY = '<img src=x onerror=window.__xss=1>';
const GOOD = {
  mcpServers: {
    files: { command: 'never-started', disabled: true, comand: 'typo', [MARKUP_KEY]: 1 },
  },
};

interface SettingsView {
  banner: string | null;
  problems: string[];
  notes: string | null;
  noteItems: string[];
}

/** Runs in the page: what the settings banner and note show (null when hidden). */
function settingsView(): SettingsView {
  const banner = document.getElementById('settings-banner');
  const notes = document.getElementById('settings-notes');
  return {
    banner: banner && !banner.hidden ? (banner.querySelector('p')?.textContent ?? '') : null,
    problems: Array.from(document.querySelectorAll('#settings-problems li')).map(
      (li) => li.textContent ?? '',
    ),
    notes: notes && !notes.hidden ? (notes.querySelector('summary')?.textContent ?? '') : null,
    noteItems: Array.from(document.querySelectorAll('#settings-notes-list li')).map(
      (li) => li.textContent ?? '',
    ),
  };
}

async function waitForView(
  page: Page,
  predicate: (v: SettingsView) => boolean,
  what: string,
): Promise<SettingsView> {
  let last: SettingsView | undefined;
  await waitUntil(
    async () => predicate((last = await page.evaluate(settingsView))),
    () => `${what} (last: ${JSON.stringify(last)})`,
  );
  return last!;
}

describe('the settings banner in a real browser', () => {
  let gw: TestGateway;
  let browser: Browser;

  before(async () => {
    gw = await startGateway(GOOD);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await gw?.close();
  });

  test('a rejected edit shows a banner with its line and path until the file is valid again', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${gw.base}/#token=${ADMIN_TOKEN}`);

    const quiet = await waitForView(page, (v) => v.notes !== null, 'the note on unknown keys');
    assert.equal(quiet.banner, null, 'no banner while the file is valid');
    assert.equal(quiet.notes, '2 keys in the settings file are kept but not used');
    assert.deepEqual(quiet.noteItems, [
      'mcpServers.files.comand: unknown key, kept and ignored',
      `mcpServers.files["${MARKUP_KEY}"]: unknown key, kept and ignored`,
    ]);
    assert.equal(await page.locator('img').count(), 0, 'a key with markup is shown as text');
    assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);

    const text = JSON.stringify(GOOD, null, 2).replace('"disabled": true,', '"disabled": true');
    await writeFile(gw.settingsPath, text);
    const line = text.split('\n').findIndex((l) => l.includes('"comand"')) + 1;
    const shown = await waitForView(page, (v) => v.banner !== null, 'the banner');
    assert.match(
      shown.banner ?? '',
      /was not applied \(SETTINGS_INVALID_JSON, .*\); the last good settings are live\.$/,
    );
    assert.ok(shown.banner?.includes(gw.settingsPath));
    assert.deepEqual(shown.problems, [
      `mcpServers.files.comand, line ${line}, column 7: not valid JSON: a comma is missing`,
    ]);

    await writeFile(gw.settingsPath, JSON.stringify(GOOD, null, 2));
    const cleared = await waitForView(page, (v) => v.banner === null, 'the banner to go');
    assert.equal(cleared.notes, '2 keys in the settings file are kept but not used');
    await context.close();
  });
});
