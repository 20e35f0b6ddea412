/**
 * Every main screen of the dashboard — the list, a server's page, the add form, the raw editor,
 * API keys, authorized clients —
 * at 375 px and at desktop width in Debian's Chromium: no serious or critical axe-core violation,
 * nothing wider than the screen, and a screenshot of each (test-results/screenshots/, copied into
 * docs/screenshots/ by `npm run screenshots`). Plus the keyboard alone: open a server, run a tool.
 *
 * axe under the page's CSP: `page.addScriptTag({ path })` inlines the script, which the CSP
 * (`script-src 'self'`) refuses. The test instead routes one same-origin URL (`/__axe__.js`,
 * which the gateway does not serve) to node_modules/axe-core/axe.min.js inside the browser
 * (Playwright's request interception) and adds a script tag with that URL: the CSP is left exactly
 * as the gateway sends it, and allows the script because it comes from 'self'.
 */
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../fixtures/browser.js';
import { FAST_TIMEOUTS, startGateway, type TestGateway } from '../fixtures/gateway.js';
import { startHttpUpstream, type HttpUpstream } from '../fixtures/mcp-upstream.js';
import { completeAuthorization, startAuthServer, type AuthServer } from '../fixtures/oidc-provider.js';
import { startProtectedMcp, type ProtectedMcp } from '../fixtures/protected-mcp.js';
import { downPort, ROOT, type DownPort } from '../fixtures/process.js';
import {
  DESKTOP,
  PHONE,
  assertPageClean,
  axeViolations,
  go,
  newPage,
  screenshot,
  signIn,
  waitForCard,
  waitForText,
} from './page.js';

/** Nothing on the page is wider than the window (no sideways scrolling at 375 px). */
async function overflow(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
}

interface Screen {
  name: string;
  route: string;
  /** Waits until the screen shows what it is about. */
  ready: (page: Page) => Promise<unknown>;
}

describe('the dashboard screens', () => {
  let as: AuthServer;
  let protectedMcp: ProtectedMcp;
  let plain: HttpUpstream;
  let down: DownPort;
  let gw: TestGateway;
  let browser: Browser;
  let dir: string;

  before(async () => {
    as = await startAuthServer();
    protectedMcp = await startProtectedMcp({ authServer: as });
    plain = await startHttpUpstream('docs');
    down = await downPort();
    // A hand-written file (what the raw editor screenshot shows), in a folder under
    // test-results/ so that the program's paths can be relative to the checkout.
    dir = join(ROOT, 'test-results', 'screens-settings');
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    await writeFile(
      join(dir, 'mcp_settings.json'),
      `{
  // The servers Gatehouse offers at /mcp. Comments and order are kept.
  "mcpServers": {
    "github": { "url": "${protectedMcp.url}" },
    "docs": { "type": "streamable-http", "url": "${plain.url}" },
    "files": {
      "command": "node",
      "args": ["--import", "tsx", "test/fixtures/stdio-upstream.ts", "files"],
      "cwd": "../.."
    },
    "linear": {
      "command": "node",
      "args": ["--import", "tsx", "test/fixtures/stdio-upstream.ts", "linear"],
      "cwd": "../..",
      "inputs": [{ "id": "api-key", "description": "Linear API key", "password": true }],
      "env": { "LINEAR_API_KEY": "\${input:api-key}" }
    },
    "legacy": { "type": "streamable-http", "url": "${down.url('/mcp')}" },
    "archive": { "type": "sse", "url": "http://127.0.0.1:9/sse", "enabled": false }
  },
  "groups": { "dev": { "servers": ["github", "docs"] } },
  "systemConfig": { "timeouts": { ${Object.entries(FAST_TIMEOUTS)
    .map(([key, value]) => `"${key}": ${value}`)
    .join(', ')} } }
}
`,
    );
    gw = await startGateway(null, { dir });
    // github is signed in (as a person would through Connect), so its page has a full timeline.
    await gw.waitForServer('github', (s) => s.status === 'auth_required');
    const { authorizationUrl } = (await (
      await gw.api('/api/servers/github/authorize', { method: 'POST' })
    ).json()) as { authorizationUrl: string };
    const redirect = await completeAuthorization(authorizationUrl);
    await (await fetch(`${gw.base}/oauth/callback${redirect.search}`)).body?.cancel();
    await gw.waitForServer('github', (s) => s.status === 'connected');
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await gw?.close();
    await protectedMcp?.close();
    await as?.close();
    await plain?.stop();
    await down?.close();
  });

  const SCREENS: Screen[] = [
    {
      name: 'list',
      route: '#/',
      ready: (page) => waitForCard(page, 'legacy', (c) => c.label.startsWith('Error'), 'legacy in error'),
    },
    {
      name: 'server',
      route: '#/servers/github',
      ready: async (page) => {
        await waitForText(page, '.timeline', (t) => t.includes('authorized'), 'the timeline');
        await page.getByRole('button', { name: 'Try it: echo', exact: true }).click();
      },
    },
    {
      name: 'add-server',
      route: '#/add',
      ready: async (page) => {
        await page.getByLabel('Name', { exact: true }).fill('linear');
        await page.getByLabel('URL', { exact: true }).fill('https://mcp.linear.app/mcp');
        await page.getByText('OAuth settings (optional)').click();
      },
    },
    {
      name: 'raw-editor',
      route: '#/settings',
      // With a refused edit on screen: the problem at its path and line.
      ready: async (page) => {
        const text = page.getByLabel('mcp_settings.json', { exact: true });
        await page.waitForFunction(
          () => (document.getElementById('raw-text') as HTMLTextAreaElement)?.value !== '',
        );
        await text.fill((await text.inputValue()).replace('"enabled": false', '"enabled": "no"'));
        await page.getByRole('button', { name: 'Save file' }).click();
        await waitForText(page, '.raw-form .problems', (t) => t.includes('archive.enabled'), 'the problem');
      },
    },
    {
      name: 'keys',
      route: '#/keys',
      // A key just made through the form: its secret shown once, and the list.
      ready: async (page) => {
        const { keys } = (await (await gw.api('/api/keys')).json()) as { keys: { id: string }[] };
        for (const key of keys) await gw.api(`/api/keys/${key.id}`, { method: 'DELETE' });
        await page.getByLabel('Name', { exact: true }).fill('ci');
        await page.getByLabel('Server docs', { exact: true }).check();
        await page.getByRole('button', { name: 'Create key' }).click();
        await waitForText(page, '.keys .summary', (t) => t === '1 key', 'the new key listed');
      },
    },
    {
      name: 'clients',
      route: '#/clients',
      // This gateway has no authorization server of its own: the page says how to turn it on.
      ready: (page) => page.getByRole('heading', { name: /own authorization server is off/ }).waitFor(),
    },
  ];

  for (const viewport of [PHONE, DESKTOP]) {
    test(`at ${viewport.width} px: no serious or critical axe violation, nothing wider than the screen`, async () => {
      const page = await newPage(browser, viewport);
      await signIn(page, gw.base);
      for (const screen of SCREENS) {
        await go(page, screen.route);
        await screen.ready(page);
        const violations = await axeViolations(page);
        assert.deepEqual(
          violations.map(
            (v) => `${v.id} (${v.impact}): ${v.help} at ${JSON.stringify(v.nodes.map((n) => n.target))}`,
          ),
          [],
          `${screen.name} at ${viewport.width} px`,
        );
        assert.ok((await overflow(page)) <= 0, `${screen.name} is wider than ${viewport.width} px`);
        await screenshot(page, viewport === DESKTOP ? screen.name : `${screen.name}-${viewport.width}`);
      }
      assertPageClean(page);
      await page.context().close();
    });
  }

  test('by keyboard alone: open a server from the list and run one of its tools', async () => {
    const page = await newPage(browser);
    await signIn(page, gw.base);
    await waitForCard(page, 'docs', (c) => c.label === 'Connected', 'Connected');
    await tabTo(page, 'docs');
    await page.keyboard.press('Enter');
    // The new screen's heading takes the focus, as after a page load.
    await page.waitForFunction(() => document.activeElement?.textContent === 'docs');
    assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'H2');
    await tabTo(page, 'Try it: echo');
    await page.keyboard.press('Enter');
    // Opening Try it moves the focus into its first field.
    await page.waitForFunction(() => document.activeElement?.getAttribute('data-arg') === 'text');
    await page.keyboard.type('typed');
    await page.keyboard.press('Enter');
    await waitForText(
      page,
      'form.try-it[data-tool="echo"] .result-text',
      (t) => t === 'docs:typed',
      'the echo',
    );
    assertPageClean(page);
    await page.context().close();
  });
});

/** Presses Tab until the focused element's accessible name (or text) is `name`; fails after 60. */
async function tabTo(page: Page, name: string): Promise<void> {
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(
      () => document.activeElement?.getAttribute('aria-label') ?? document.activeElement?.textContent ?? '',
    );
    if (focused === name) return;
  }
  throw new Error(`Tab never reached "${name}"`);
}
