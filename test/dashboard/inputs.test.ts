/**
 * A server that takes typed-in credentials (VS Code's `inputs` and `${input:<id>}`), in Debian's
 * Chromium: it waits as "Needs credentials", a person sets the value through the form on its
 * page, it connects with it, and the value is stored encrypted: never in clear in the settings
 * file, never shown back.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../fixtures/browser.js';
import { FAST_TIMEOUTS, startGateway, stdioFixture, textOf, type TestGateway } from '../fixtures/gateway.js';
import { assertPageClean, newPage, signIn, waitForCard, waitForText } from './page.js';

const VALUE = 'typed-key-7f3a9c';

describe('credentials a person types in', () => {
  let gw: TestGateway;
  let browser: Browser;

  before(async () => {
    gw = await startGateway({
      mcpServers: {
        keyed: stdioFixture('keyed', {
          inputs: [{ id: 'api-key', description: 'Fixture API key', password: true }],
          env: { FIXTURE_KEY: '${input:api-key}' },
        }),
      },
      systemConfig: { timeouts: FAST_TIMEOUTS },
    });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await gw?.close();
  });

  test('waits for credentials, gets them through the form, connects; the value is encrypted on disk', async () => {
    const page = await newPage(browser);
    await signIn(page, gw.base);
    const waiting = await waitForCard(
      page,
      'keyed',
      (c) => c.label === 'Needs credentials',
      'Needs credentials',
    );
    assert.equal(waiting.signIn, 'Set the credentials of keyed on its page to connect it');
    assert.ok(waiting.buttons.includes('Set credentials'));
    assert.ok(!waiting.buttons.includes('Connect'), 'nothing to sign in to');

    await page.getByRole('link', { name: 'Set credentials for keyed' }).click();
    const field = page.getByLabel('Fixture API key (api-key)');
    await field.waitFor();
    assert.equal(await field.getAttribute('type'), 'password');
    await waitForText(page, '#credentials label', (t) => t.endsWith('— not set'), 'not set');
    await field.fill(VALUE);
    await page.getByRole('button', { name: 'Save credentials' }).click();
    await waitForText(page, '#credentials [role="status"]', (t) => t.startsWith('Saved.'), 'saved');
    await page.locator('.detail .status').getByText('Connected').waitFor();
    await waitForText(page, '#credentials label', (t) => t.endsWith('— set'), 'set');
    assert.equal(await field.inputValue(), '', 'the value leaves the form once sent');
    assert.equal((await page.content()).includes(VALUE), false);

    // The program got it; the file holds it only encrypted.
    const client = await gw.client();
    const env = JSON.parse(textOf(await client.callTool({ name: 'keyed__env', arguments: {} }))) as Record<
      string,
      string
    >;
    assert.equal(env.FIXTURE_KEY, VALUE);
    const text = await readFile(gw.settingsPath, 'utf8');
    assert.equal(text.includes(VALUE), false, 'not in clear in the settings file');
    const keyed = ((await gw.readSettings()).mcpServers as Record<string, Record<string, unknown>>).keyed!;
    assert.match(JSON.stringify(keyed.gatehouse), /enc:v1:/);
    assert.deepEqual(keyed.env, { FIXTURE_KEY: '${input:api-key}' }, 'the reference stays as written');
    assertPageClean(page);
    await page.context().close();
  });
});
