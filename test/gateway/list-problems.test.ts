/**
 * An upstream that lists entries which are not valid MCP: those entries are left out with the
 * reason (log and status API); the upstream's valid entries and the other upstreams stay.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { FAST_TIMEOUTS, startGateway, textOf } from '../fixtures/gateway.js';
import { startHttpUpstream } from '../fixtures/mcp-upstream.js';

/** A real SDK server whose tools/list handler returns two malformed tools beside a valid one. */
async function startSloppyUpstream() {
  const transports = new Map<string, StreamableHTTPServerTransport>();
  const http = createServer((req, res) => {
    void (async () => {
      const body = req.method === 'POST' ? await readJson(req) : undefined;
      const id = req.headers['mcp-session-id'];
      const known = typeof id === 'string' ? transports.get(id) : undefined;
      if (known) return known.handleRequest(req, res, body);
      const server = new Server({ name: 'sloppy', version: '1' }, { capabilities: { tools: {} } });
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
      const transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (sid) => void transports.set(sid, transport),
      });
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
    })();
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    close: async () => {
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown) : undefined;
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
