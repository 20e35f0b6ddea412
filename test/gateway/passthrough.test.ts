import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CallToolResultSchema, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { FAST_TIMEOUTS, startGateway, textOf, waitUntil, type TestGateway } from '../fixtures/gateway.js';
import { startHttpUpstream, type HttpUpstream } from '../fixtures/mcp-upstream.js';

describe('notifications, progress and cancellation pass through', () => {
  let upstream: HttpUpstream;
  let other: HttpUpstream;
  let gw: TestGateway;

  before(async () => {
    upstream = await startHttpUpstream('up');
    other = await startHttpUpstream('other');
    gw = await startGateway({
      mcpServers: {
        up: { type: 'streamable-http', url: upstream.url },
        other: { type: 'streamable-http', url: other.url },
      },
      groups: { onlyother: { servers: ['other'] } },
      systemConfig: { timeouts: FAST_TIMEOUTS },
    });
    await gw.waitForServer('up', (s) => s.status === 'connected', 'connected');
    await gw.waitForServer('other', (s) => s.status === 'connected', 'connected');
  });
  after(async () => {
    await gw?.close();
    await upstream?.stop();
    await other?.stop();
  });

  test("an upstream's tools/list_changed reaches the sessions that can see it, and the catalog updates", async () => {
    const all = await gw.client();
    const scoped = await gw.client('/mcp/onlyother');
    let allNotified = 0;
    let scopedNotified = 0;
    all.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
      allNotified++;
    });
    scoped.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
      scopedNotified++;
    });
    upstream.addTool('fresh');
    await waitUntil(() => allNotified > 0, 'list_changed on the /mcp session');
    const names = (await all.listTools()).tools.map((t) => t.name);
    assert.ok(names.includes('up__fresh'));
    assert.equal(textOf(await all.callTool({ name: 'up__fresh', arguments: {} })), 'up:fresh');
    // The group session cannot see "up": give a stray notification a moment to arrive, then check.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(scopedNotified, 0);
  });

  test('progress notifications from the upstream reach the caller', async () => {
    const client = await gw.client();
    const seen: Array<{ progress: number; total?: number; message?: string }> = [];
    const result = await client.callTool(
      { name: 'up__slow', arguments: { steps: 3, delayMs: 30 } },
      CallToolResultSchema,
      {
        onprogress: (p) => seen.push(p),
      },
    );
    assert.equal(textOf(result), 'done 3');
    assert.deepEqual(
      seen.map((p) => [p.progress, p.total, p.message]),
      [
        [1, 3, 'step 1'],
        [2, 3, 'step 2'],
        [3, 3, 'step 3'],
      ],
    );
  });

  test("a caller's cancellation reaches the upstream", async () => {
    const client = await gw.client();
    const before = upstream.events.cancelled.length;
    const controller = new AbortController();
    const call = client.callTool({ name: 'up__hang', arguments: {} }, CallToolResultSchema, {
      signal: controller.signal,
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    controller.abort('changed my mind');
    await assert.rejects(call);
    await waitUntil(
      () => upstream.events.cancelled.length === before + 1,
      'the upstream to see the cancellation',
    );
  });

  test('an expired upstream session is re-initialized transparently', async () => {
    const client = await gw.client();
    const inits = upstream.initializeCount;
    await upstream.expireSessions();
    assert.equal(
      textOf(await client.callTool({ name: 'up__echo', arguments: { text: 'still here' } })),
      'up:still here',
    );
    assert.equal(upstream.initializeCount, inits + 1);
  });
});
