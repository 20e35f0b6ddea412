/**
 * "Try it" on a server's page in Debian's Chromium: the form follows the tool's input schema
 * (string, integer, number, boolean, enum, array of strings, JSON for the rest), the call goes
 * through the gateway, and the page shows its progress and its result, `isError` ones included.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../fixtures/browser.js';
import { FAST_TIMEOUTS, startGateway, waitUntil, type TestGateway } from '../fixtures/gateway.js';
import { startLowLevelUpstream } from '../fixtures/mcp-upstream.js';
import { assertPageClean, newPage, signIn, waitForText } from './page.js';

const TOOLS = [
  {
    name: 'kinds',
    description: 'Echoes its arguments as JSON.\nEvery kind of field the form knows.',
    inputSchema: {
      type: 'object',
      properties: {
        text: { type: 'string', description: 'Some <b>text</b>' },
        count: { type: 'integer' },
        ratio: { type: 'number' },
        loud: { type: 'boolean' },
        mood: { enum: ['calm', 'bright'] },
        tags: { type: 'array', items: { type: 'string' } },
        extra: { type: 'object' },
      },
      required: ['text'],
    },
  },
  {
    name: 'countdown',
    description: 'Counts down with progress',
    inputSchema: { type: 'object', properties: { steps: { type: 'integer' } }, required: ['steps'] },
  },
  { name: 'refuse', description: 'Always an error result', inputSchema: { type: 'object' } },
];

/** The tools above on a low-level SDK server: progress as the caller asked, an isError result. */
function kit(server: Server): void {
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: TOOLS }));
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const args = request.params.arguments ?? {};
    if (request.params.name === 'countdown') {
      const token = request.params._meta?.progressToken;
      const steps = Number(args.steps);
      for (let i = 1; i <= steps; i++) {
        if (token !== undefined)
          await extra.sendNotification({
            method: 'notifications/progress',
            params: { progressToken: token, progress: i, total: steps, message: `step ${i}` },
          });
      }
      return { content: [{ type: 'text', text: 'liftoff' }] };
    }
    if (request.params.name === 'refuse')
      return { isError: true, content: [{ type: 'text', text: 'no, and here is why' }] };
    return { content: [{ type: 'text', text: JSON.stringify(args) }] };
  });
}

/** Runs in the page: records every text the try-it status line shows, from now on. */
function recordStatuses(tool: string): void {
  const seen: string[] = [];
  (window as unknown as { __statuses: string[] }).__statuses = seen;
  const status = document.querySelector(`form.try-it[data-tool="${tool}"] .try-status`)!;
  new MutationObserver((records) => {
    for (const record of records)
      for (const node of Array.from(record.addedNodes)) seen.push(node.textContent ?? '');
  }).observe(status, { childList: true });
}

describe('Try it', () => {
  let upstream: { url: string; close: () => Promise<void> };
  let gw: TestGateway;
  let browser: Browser;

  before(async () => {
    upstream = await startLowLevelUpstream('kit', kit);
    gw = await startGateway({
      mcpServers: { kit: { type: 'streamable-http', url: upstream.url } },
      systemConfig: { timeouts: FAST_TIMEOUTS },
    });
    await gw.waitForServer('kit', (s) => s.status === 'connected');
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await gw?.close();
    await upstream?.close();
  });

  async function openTool(tool: string): Promise<{ page: Page; form: ReturnType<Page['locator']> }> {
    const page = await newPage(browser);
    await signIn(page, gw.base, '#/servers/kit');
    await page.getByRole('button', { name: `Try it: ${tool}`, exact: true }).click();
    return { page, form: page.locator(`form.try-it[data-tool="${tool}"]`) };
  }

  test('the form follows the input schema and the result is shown as text', async () => {
    const { page, form } = await openTool('kinds');
    // The description is folded: its first line shows, the rest on demand.
    const description = page.locator('li.tool[data-tool="kinds"] details.description');
    assert.equal(await description.getAttribute('open'), null);
    assert.equal(await description.locator('summary').textContent(), 'Echoes its arguments as JSON.');

    await form.getByLabel('text (required)').fill('hello <b>');
    await form.getByLabel('count', { exact: true }).fill('3');
    await form.getByLabel('ratio', { exact: true }).fill('0.5');
    await form.getByLabel('loud', { exact: true }).check();
    await form.getByLabel('mood', { exact: true }).selectOption({ label: '"bright"' });
    await form.getByLabel('tags', { exact: true }).fill('a\nb');
    await form.getByLabel('extra', { exact: true }).fill('{"k": [1]}');
    await form.getByRole('button', { name: 'Run kinds' }).click();

    const shown = await waitForText(
      page,
      'form.try-it[data-tool="kinds"] .result-text',
      (t) => t !== '',
      'a result',
    );
    assert.deepEqual(JSON.parse(shown), {
      text: 'hello <b>',
      count: 3,
      ratio: 0.5,
      loud: true,
      mood: 'bright',
      tags: ['a', 'b'],
      extra: { k: [1] },
    });
    assert.equal(await form.locator('.try-status').textContent(), 'Done.');
    assert.equal(await page.locator('b').count(), 0, 'markup from the upstream stays text');

    // The raw JSON fallback starts from what the fields hold.
    await form.getByLabel('Edit the arguments as JSON').check();
    const raw = form.getByLabel('Arguments (JSON)');
    assert.equal(JSON.parse(await raw.inputValue()).count, 3);
    await raw.fill('{"text": "from JSON"}');
    await form.getByRole('button', { name: 'Run kinds' }).click();
    await waitForText(
      page,
      'form.try-it[data-tool="kinds"] .result-text',
      (t) => t === '{"text":"from JSON"}',
      'the JSON arguments echoed',
    );
    assertPageClean(page);
    await page.context().close();
  });

  test('progress is shown while the tool runs; an isError result is shown as an error', async () => {
    const { page, form } = await openTool('countdown');
    await page.evaluate(recordStatuses, 'countdown');
    await form.getByLabel('steps (required)').fill('3');
    await form.getByRole('button', { name: 'Run countdown' }).click();
    await waitForText(
      page,
      'form.try-it[data-tool="countdown"] .result-text',
      (t) => t === 'liftoff',
      'liftoff',
    );
    const statuses = await page.evaluate(() => (window as unknown as { __statuses: string[] }).__statuses);
    assert.deepEqual(statuses, [
      'Running…',
      'Progress 1 of 3: step 1',
      'Progress 2 of 3: step 2',
      'Progress 3 of 3: step 3',
      'Done.',
    ]);

    await page.getByRole('button', { name: 'Try it: refuse', exact: true }).click();
    const refuse = page.locator('form.try-it[data-tool="refuse"]');
    await refuse.getByRole('button', { name: 'Run refuse' }).click();
    await waitForText(
      page,
      'form.try-it[data-tool="refuse"] .result-text',
      (t) => t !== '',
      'the error result',
    );
    assert.equal(await refuse.locator('.try-status').textContent(), 'The tool reported an error.');
    assert.equal(await refuse.locator('.result').getAttribute('data-is-error'), 'true');
    assert.equal(await refuse.locator('.result h4').textContent(), 'Error result (isError)');
    assert.equal(await refuse.locator('.result-text').textContent(), 'no, and here is why');
    assertPageClean(page);
    await page.context().close();
  });

  test('a tool switched off vanishes from tools/list on /mcp, and comes back when switched on', async () => {
    const page = await newPage(browser);
    await signIn(page, gw.base, '#/servers/kit');
    const toggle = page.getByRole('switch', { name: 'Enable tool refuse' });
    assert.equal(await toggle.getAttribute('aria-checked'), 'true');
    const client = await gw.client();
    const listed = async () => (await client.listTools()).tools.map((t) => t.name);
    assert.ok((await listed()).includes('kit__refuse'));

    await toggle.click();
    await waitUntil(async () => !(await listed()).includes('kit__refuse'), 'kit__refuse to leave tools/list');
    assert.deepEqual((await gw.readSettings()).mcpServers, {
      kit: { type: 'streamable-http', url: upstream.url, tools: { refuse: { enabled: false } } },
    });
    await page.locator('[role="switch"][aria-label="Enable tool refuse"][aria-checked="false"]').waitFor();
    // A switched-off tool cannot be tried.
    await page.getByRole('button', { name: 'Try it: refuse', exact: true }).waitFor({ state: 'hidden' });

    await toggle.click();
    await waitUntil(async () => (await listed()).includes('kit__refuse'), 'kit__refuse back in tools/list');
    await page.locator('[role="switch"][aria-label="Enable tool refuse"][aria-checked="true"]').waitFor();
    assertPageClean(page);
    await page.context().close();
  });
});
