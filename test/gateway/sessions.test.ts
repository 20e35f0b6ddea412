import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, waitUntil, type TestGateway } from '../fixtures/gateway.js';

const INIT = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};
const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

describe('inbound MCP sessions over Streamable HTTP', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway({ mcpServers: {}, groups: { empty: { servers: [] } } });
  });
  after(async () => {
    await gw?.close();
  });

  async function initialize(path = '/mcp'): Promise<string> {
    const res = await fetch(`${gw.base}${path}`, {
      method: 'POST',
      headers: HEADERS,
      body: JSON.stringify(INIT),
    });
    assert.equal(res.status, 200);
    await res.text();
    const id = res.headers.get('mcp-session-id');
    assert.ok(id);
    return id;
  }

  test('a request with an unknown mcp-session-id gets 404', async () => {
    const res = await fetch(`${gw.base}/mcp`, {
      method: 'POST',
      headers: { ...HEADERS, 'mcp-session-id': 'no-such-session' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
    });
    assert.equal(res.status, 404);
    const body = (await res.json()) as { error: { message: string } };
    assert.match(body.error.message, /Session not found/);
  });

  test('a terminated session gets 404 afterwards', async () => {
    const id = await initialize();
    const deleted = await fetch(`${gw.base}/mcp`, { method: 'DELETE', headers: { 'mcp-session-id': id } });
    assert.equal(deleted.status, 200);
    const after = await fetch(`${gw.base}/mcp`, {
      method: 'POST',
      headers: { ...HEADERS, 'mcp-session-id': id },
      body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list' }),
    });
    assert.equal(after.status, 404);
  });

  test('a session opened on /mcp/<group> is not valid on /mcp', async () => {
    const id = await initialize('/mcp/empty');
    const res = await fetch(`${gw.base}/mcp`, {
      method: 'POST',
      headers: { ...HEADERS, 'mcp-session-id': id },
      body: JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'tools/list' }),
    });
    assert.equal(res.status, 404);
  });

  test('a request without a session that is not initialize gets 400', async () => {
    const res = await fetch(`${gw.base}/mcp`, {
      method: 'POST',
      headers: HEADERS,
      body: JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'tools/list' }),
    });
    assert.equal(res.status, 400);
  });

  test('a malformed body is a JSON-RPC parse error and the gateway keeps serving', async () => {
    const res = await fetch(`${gw.base}/mcp`, {
      method: 'POST',
      headers: HEADERS,
      body: '{"jsonrpc": "2.0", "id": ',
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: { code: number } };
    assert.equal(body.error.code, -32700);
    await initialize();
  });

  test('an unknown /mcp/<name> is 404 naming it', async () => {
    const res = await fetch(`${gw.base}/mcp/nothing-here`, {
      method: 'POST',
      headers: HEADERS,
      body: JSON.stringify(INIT),
    });
    assert.equal(res.status, 404);
    assert.match(((await res.json()) as { error: { message: string } }).error.message, /nothing-here/);
  });

  test('POST /messages for an unknown SSE session gets 404', async () => {
    const res = await fetch(`${gw.base}/messages?sessionId=nope`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    assert.equal(res.status, 404);
  });
});

describe('idle sessions', () => {
  test('a session with no requests for sessionIdleMs is closed; its id then gets 404', async () => {
    const gw = await startGateway({ mcpServers: {} }, { sessionIdleMs: 300 });
    try {
      const res = await fetch(`${gw.base}/mcp`, {
        method: 'POST',
        headers: HEADERS,
        body: JSON.stringify(INIT),
      });
      await res.text();
      const id = res.headers.get('mcp-session-id')!;
      await waitUntil(() => gw.gateway.sessionCount === 0, 'the idle session to be closed');
      const after = await fetch(`${gw.base}/mcp`, {
        method: 'POST',
        headers: { ...HEADERS, 'mcp-session-id': id },
        body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' }),
      });
      assert.equal(after.status, 404);
    } finally {
      await gw.close();
    }
  });

  test('a session in use is kept', async () => {
    const gw = await startGateway({ mcpServers: {} }, { sessionIdleMs: 400 });
    try {
      const client = await gw.client();
      for (let i = 0; i < 8; i++) {
        await client.listTools();
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.equal(gw.gateway.sessionCount, 1);
    } finally {
      await gw.close();
    }
  });
});
