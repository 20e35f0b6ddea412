/**
 * "Try it" (issue 12): `POST /api/servers/:name/tools/:tool/call` runs a tool through the same path
 * as a call on /mcp and streams its progress, then its result (isError ones too) or an error.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  CallToolRequestSchema,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
} from '@modelcontextprotocol/sdk/types.js';

import { FAST_TIMEOUTS, startGateway, waitUntil, type TestGateway } from '../fixtures/gateway.js';
import { startHttpUpstream, startLowLevelUpstream, type HttpUpstream } from '../fixtures/mcp-upstream.js';
import { downPort, type DownPort } from '../fixtures/process.js';

interface StreamEvent {
  event: string;
  data: Record<string, unknown>;
}

/** Parses a whole text/event-stream body into its events. */
function parseEvents(text: string): StreamEvent[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const lines = block.split('\n');
      const event = lines.find((l) => l.startsWith('event: '))?.slice(7) ?? 'message';
      const data = lines
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice(6))
        .join('\n');
      return { event, data: JSON.parse(data) as Record<string, unknown> };
    });
}

/** A real SDK server whose tools fail: `refuse` with an `isError` result, `reject` with a JSON-RPC error. */
function startFailingUpstream() {
  return startLowLevelUpstream('failing', (server) => {
    server.setRequestHandler(ListToolsRequestSchema, async () => ({
      tools: [
        { name: 'refuse', description: 'Always fails', inputSchema: { type: 'object' } },
        { name: 'reject', description: 'Refuses the request', inputSchema: { type: 'object' } },
      ],
    }));
    server.setRequestHandler(CallToolRequestSchema, async (request) => {
      if (request.params.name === 'reject') throw new McpError(ErrorCode.InvalidParams, 'bad arguments');
      return { content: [{ type: 'text', text: 'the tool refused' }], isError: true };
    });
  });
}

describe('trying a tool from the admin API', () => {
  let upstream: HttpUpstream;
  let failing: Awaited<ReturnType<typeof startFailingUpstream>>;
  let down: DownPort;
  let gw: TestGateway;

  const call = (server: string, tool: string, body: unknown, init: RequestInit = {}) =>
    gw.api(`/api/servers/${encodeURIComponent(server)}/tools/${encodeURIComponent(tool)}/call`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      ...init,
    });

  before(async () => {
    upstream = await startHttpUpstream('up');
    failing = await startFailingUpstream();
    down = await downPort();
    gw = await startGateway({
      mcpServers: {
        up: { type: 'streamable-http', url: upstream.url, tools: { hang: {}, whoami: { enabled: false } } },
        failing: { type: 'streamable-http', url: failing.url },
        down: { type: 'streamable-http', url: down.url('/mcp') },
      },
      // A request timeout far beyond the test's own wait: a cancellation seen upstream is ours.
      systemConfig: { timeouts: { ...FAST_TIMEOUTS, requestMs: 60_000 } },
    });
    await gw.waitForServer('up', (s) => s.status === 'connected', 'connected');
    await gw.waitForServer('failing', (s) => s.status === 'connected', 'connected');
  });
  after(async () => {
    await gw?.close();
    await upstream?.stop();
    await failing?.close();
    await down?.close();
  });

  test('streams each progress report of the upstream, then the result', async () => {
    const res = await call('up', 'slow', { arguments: { steps: 3, delayMs: 20 } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const events = parseEvents(await res.text());
    assert.deepEqual(
      events.filter((e) => e.event === 'progress').map((e) => e.data),
      [1, 2, 3].map((i) => ({ progress: i, total: 3, message: `step ${i}` })),
    );
    const last = events.at(-1);
    assert.equal(last?.event, 'result');
    assert.deepEqual(last?.data.content, [{ type: 'text', text: 'done 3' }]);
  });

  test("an isError result is the tool's answer: a result event, not an error", async () => {
    const events = parseEvents(await (await call('failing', 'refuse', { arguments: {} })).text());
    assert.deepEqual(
      events.map((e) => e.event),
      ['result'],
    );
    assert.equal(events[0]?.data.isError, true);
    assert.deepEqual(events[0]?.data.content, [{ type: 'text', text: 'the tool refused' }]);
  });

  test("an upstream's JSON-RPC error is an error event with its own words and code", async () => {
    const events = parseEvents(await (await call('failing', 'reject', { arguments: {} })).text());
    assert.deepEqual(events, [
      {
        event: 'error',
        data: { code: 'UPSTREAM_REQUEST_FAILED', message: 'bad arguments', rpcCode: ErrorCode.InvalidParams },
      },
    ]);
  });

  test('the arguments may be left out', async () => {
    const res = await call('failing', 'refuse', {});
    assert.equal(res.status, 200);
    assert.deepEqual(
      parseEvents(await res.text()).map((e) => e.event),
      ['result'],
    );
  });

  test('a server that is down answers with an error event naming its state', async () => {
    await gw.waitForServer('down', (s) => s.status === 'error', 'down');
    const res = await call('down', 'echo', { arguments: { text: 'x' } });
    assert.equal(res.status, 200);
    const events = parseEvents(await res.text());
    assert.equal(events.length, 1);
    assert.equal(events[0]?.event, 'error');
    assert.equal(events[0]?.data.code, 'UPSTREAM_CONNECT_FAILED');
    assert.match(String(events[0]?.data.message), /"down" is unavailable/);
  });

  test('a disabled tool is refused as on /mcp, before anything is sent upstream', async () => {
    const res = await call('up', 'whoami', { arguments: {} });
    assert.equal(res.status, 403);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'TOOL_DISABLED');
  });

  test('an unknown server or tool is a 404 naming it', async () => {
    const server = await call('nope', 'echo', {});
    assert.equal(server.status, 404);
    assert.equal(((await server.json()) as { error: { code: string } }).error.code, 'SERVER_NOT_FOUND');
    const tool = await call('up', 'nope', {});
    assert.equal(tool.status, 404);
    assert.equal(((await tool.json()) as { error: { code: string } }).error.code, 'TOOL_NOT_FOUND');
  });

  test('a body that is not { arguments: {…} } is a 400', async () => {
    const res = await call('up', 'echo', { arguments: 'text' });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'BAD_REQUEST');
  });

  test('the route needs the admin credential', async () => {
    const res = await fetch(`${gw.base}/api/servers/up/tools/echo/call`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ arguments: { text: 'x' } }),
    });
    assert.equal(res.status, 401);
  });

  test('closing the stream cancels the call upstream', async () => {
    const before = upstream.events.cancelled.length;
    const stop = new AbortController();
    const res = await call('up', 'hang', {}, { signal: stop.signal });
    assert.equal(res.status, 200);
    stop.abort();
    await waitUntil(() => upstream.events.cancelled.length > before, 'the upstream to see the cancellation');
    // The connection stays up: a cancelled call is not a lost upstream.
    const events = parseEvents(await (await call('up', 'echo', { arguments: { text: 'still' } })).text());
    assert.deepEqual(events.at(-1)?.data.content, [{ type: 'text', text: 'up:still' }]);
  });
});
