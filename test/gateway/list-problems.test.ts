/**
 * An upstream that lists entries which are not valid MCP: those entries are left out with the
 * reason (log and status API); the upstream's valid entries and the other upstreams stay.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { FAST_TIMEOUTS, startGateway, textOf } from '../fixtures/gateway.js';
import { startHttpUpstream, startLowLevelUpstream } from '../fixtures/mcp-upstream.js';

/** A real SDK server whose tools/list handler returns two malformed tools beside a valid one. */
function startSloppyUpstream() {
  return startLowLevelUpstream('sloppy', (server) => {
    server.setRequestHandler(ListToolsRequestSchema, async () => ({
      tools: [
        { name: 'fine', description: 'valid', inputSchema: { type: 'object' } },
        { name: 'no_schema', description: 'inputSchema missing' },
        { name: 42, inputSchema: { type: 'object' } },
      ] as never,
    }));
    server.setRequestHandler(CallToolRequestSchema, async (request) => ({
      content: [{ type: 'text', text: `called ${request.params.name}` }],
    }));
  });
}

test('malformed tools are left out with the reason; the valid ones and the other upstreams stay', async () => {
  const sloppy = await startSloppyUpstream();
  const good = await startHttpUpstream('good');
  const gw = await startGateway({
    mcpServers: {
      sloppy: { type: 'streamable-http', url: sloppy.url },
      good: { type: 'streamable-http', url: good.url },
    },
    systemConfig: { timeouts: FAST_TIMEOUTS },
  });
  try {
    const status = await gw.waitForServer('sloppy', (s) => s.status === 'connected', 'connected');
    await gw.waitForServer('good', (s) => s.status === 'connected', 'connected');
    assert.deepEqual(
      status.tools.map((t) => t.name),
      ['fine'],
    );
    assert.equal(status.listProblems?.length, 2);
    assert.match(status.listProblems?.[0] ?? '', /^tools\[1\] "no_schema" left out: inputSchema: /);
    assert.match(status.listProblems?.[1] ?? '', /^tools\[2\] left out: name: /);

    const client = await gw.client();
    const names = (await client.listTools()).tools.map((t) => t.name);
    assert.ok(names.includes('sloppy__fine'));
    assert.ok(names.includes('good__echo'));
    assert.ok(!names.some((n) => n.includes('no_schema')));
    assert.equal(textOf(await client.callTool({ name: 'sloppy__fine', arguments: {} })), 'called fine');
  } finally {
    await gw.close();
    await sloppy.close();
    await good.stop();
  }
});
