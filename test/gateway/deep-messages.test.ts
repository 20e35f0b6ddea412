/**
 * A message nested deeper than any real one (a few thousand levels: enough to overflow the stack of
 * anything recursive that walks it) is refused at the door with a JSON-RPC error, on both the
 * Streamable HTTP endpoint and the legacy SSE one; the session and the upstream live on.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, textOf, type TestGateway } from '../fixtures/gateway.js';
import { startHttpUpstream, type HttpUpstream } from '../fixtures/mcp-upstream.js';

const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
const LEVELS = 20_000;

/** A tools/call to a real tool whose arguments nest `levels` arrays deep. */
function deepCall(id: number, levels: number): string {
  const deep = '['.repeat(levels) + ']'.repeat(levels);
  return `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"up__echo","arguments":{"text":${deep}}}}`;
}

interface RpcRefusal {
  jsonrpc: string;
  id: unknown;
  error: { code: number; message: string; data?: { code?: string } };
}

function assertDepthRefusal(status: number, body: RpcRefusal): void {
  assert.equal(status, 400);
  assert.equal(body.jsonrpc, '2.0');
  assert.equal(body.id, null);
  assert.equal(body.error.code, -32600);
  assert.match(body.error.message, /nests more than 64 levels/);
  assert.equal(body.error.data?.code, 'MCP_MESSAGE_TOO_DEEP');
}

describe('deeply nested messages', () => {
  let upstream: HttpUpstream;
  let gw: TestGateway;
  before(async () => {
    upstream = await startHttpUpstream('up');
    gw = await startGateway({ mcpServers: { up: { type: 'streamable-http', url: upstream.url } } });
    await gw.waitForServer('up', (s) => s.status === 'connected', 'connected');
  });
  after(async () => {
    await gw?.close();
    await upstream?.stop();
  });

  test('on /mcp: 400 with a JSON-RPC error (id null); the session, the upstream and 64 levels work', async () => {
    const client = await gw.client();
    const sessionId = (client.transport as { sessionId?: string }).sessionId;
    assert.ok(sessionId);
    const headers = { ...HEADERS, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' };

    const res = await fetch(`${gw.base}/mcp`, { method: 'POST', headers, body: deepCall(7, LEVELS) });
    assertDepthRefusal(res.status, (await res.json()) as RpcRefusal);

    // Exactly the limit passes the door (the upstream then refuses the argument's type).
    const atLimit = await fetch(`${gw.base}/mcp`, { method: 'POST', headers, body: deepCall(8, 60) });
    assert.equal(atLimit.status, 200);
    assert.equal(((await atLimit.json()) as { id: number }).id, 8);

    assert.equal((await gw.servers()).find((s) => s.name === 'up')?.status, 'connected');
    assert.equal(
      textOf(await client.callTool({ name: 'up__echo', arguments: { text: 'alive' } })),
      'up:alive',
    );
  });

  test('on /messages (legacy SSE): 400 with a JSON-RPC error; the stream lives on', async () => {
    const abort = new AbortController();
    const stream = await fetch(`${gw.base}/sse`, {
      headers: { accept: 'text/event-stream' },
      signal: abort.signal,
    });
    assert.equal(stream.status, 200);
    const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
    let received = '';
    const until = async (pattern: RegExp): Promise<RegExpMatchArray> => {
      for (;;) {
        const match = received.match(pattern);
        if (match) return match;
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${pattern}`);
        received += value;
      }
    };
    try {
      const [, endpoint] = await until(/event: endpoint\ndata: (\S+)\n/);
      const messages = new URL(endpoint!, gw.base);

      const res = await fetch(messages, { method: 'POST', headers: HEADERS, body: deepCall(1, LEVELS) });
      assertDepthRefusal(res.status, (await res.json()) as RpcRefusal);

      const ping = await fetch(messages, {
        method: 'POST',
        headers: HEADERS,
        body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping' }),
      });
      assert.equal(ping.status, 202);
      await until(/"id":2/);
    } finally {
      abort.abort();
      await reader.cancel().catch(() => undefined);
    }
  });
});
