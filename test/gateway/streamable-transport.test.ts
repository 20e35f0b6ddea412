/**
 * The gateway's own Streamable HTTP server transport (server/gateway/streamable-transport.ts),
 * spoken to with plain fetch so that every status, header and body is visible.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, waitUntil, type TestGateway } from '../fixtures/gateway.js';
import { startHttpUpstream, type HttpUpstream } from '../fixtures/mcp-upstream.js';

const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
const INIT = {
  jsonrpc: '2.0',
  id: 0,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};

interface RpcResponse {
  jsonrpc: '2.0';
  id: string | number;
  result?: { content?: Array<{ text: string }>; tools?: Array<{ name: string }> };
  error?: { code: number; message: string };
}

/** The `data:` payloads of an SSE body, parsed. */
function events(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n\n')
    .flatMap((block) => block.split('\n').filter((line) => line.startsWith('data: ')))
    .map((line) => JSON.parse(line.slice('data: '.length)) as Record<string, unknown>);
}

describe('inbound Streamable HTTP transport', () => {
  let gw: TestGateway;
  let upstream: HttpUpstream;
  let one: HttpUpstream;

  before(async () => {
    upstream = await startHttpUpstream('alpha');
    one = await startHttpUpstream('beta');
    gw = await startGateway({
      mcpServers: {
        alpha: { type: 'streamable-http', url: upstream.url },
        beta: { type: 'streamable-http', url: one.url },
      },
      groups: { pair: { servers: ['alpha'] } },
    });
    await gw.waitForServer('alpha', (s) => s.status === 'connected');
    await gw.waitForServer('beta', (s) => s.status === 'connected');
  });
  after(async () => {
    await gw?.close();
    await upstream?.stop();
    await one?.stop();
  });

  async function open(path = '/mcp'): Promise<string> {
    const res = await post(path, INIT);
    assert.equal(res.status, 200);
    await res.text();
    const id = res.headers.get('mcp-session-id');
    assert.ok(id, 'the initialize response carries mcp-session-id');
    const initialized = await post(path, { jsonrpc: '2.0', method: 'notifications/initialized' }, id);
    assert.equal(initialized.status, 202);
    return id;
  }

  function post(path: string, body: unknown, session?: string, headers: Record<string, string> = {}) {
    return fetch(`${gw.base}${path}`, {
      method: 'POST',
      headers: { ...HEADERS, ...(session ? { 'mcp-session-id': session } : {}), ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  }

  test('a call with nothing to stream is answered with one application/json body', async () => {
    const session = await open();
    const res = await post(
      '/mcp',
      {
        jsonrpc: '2.0',
        id: 7,
        method: 'tools/call',
        params: { name: 'alpha__echo', arguments: { text: 'hi' } },
      },
      session,
    );
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(res.headers.get('mcp-session-id'), session);
    const body = (await res.json()) as RpcResponse;
    assert.equal(body.id, 7);
    assert.equal(body.result?.content?.[0]?.text, 'alpha:hi');
  });

  test('progress for a call turns its answer into an SSE stream: progress first, then the result', async () => {
    const session = await open();
    const res = await post(
      '/mcp',
      {
        jsonrpc: '2.0',
        id: 'slow-1',
        method: 'tools/call',
        params: { name: 'alpha__slow', arguments: { steps: 3, delayMs: 20 }, _meta: { progressToken: 'p' } },
      },
      session,
    );
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const received = events(await res.text());
    const progress = received.filter((m) => m.method === 'notifications/progress');
    assert.deepEqual(
      progress.map((m) => (m.params as { progress: number }).progress),
      [1, 2, 3],
    );
    const last = received.at(-1) as unknown as RpcResponse;
    assert.equal(last.id, 'slow-1');
    assert.equal(last.result?.content?.[0]?.text, 'done 3');
  });

  test('a batch is answered with an array of responses in request order', async () => {
    const session = await open();
    const res = await post(
      '/mcp',
      [
        {
          jsonrpc: '2.0',
          id: 'a',
          method: 'tools/call',
          params: { name: 'alpha__slow', arguments: { steps: 2, delayMs: 30 } },
        },
        { jsonrpc: '2.0', id: 2, method: 'ping' },
      ],
      session,
    );
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    const body = (await res.json()) as RpcResponse[];
    assert.deepEqual(
      body.map((r) => r.id),
      ['a', 2],
    );
    assert.equal(body[0]?.result?.content?.[0]?.text, 'done 2');
  });

  test('a POST of notifications only gets 202 with an empty body', async () => {
    const session = await open();
    const res = await post('/mcp', { jsonrpc: '2.0', method: 'notifications/roots/list_changed' }, session);
    assert.equal(res.status, 202);
    assert.equal(await res.text(), '');
  });

  test('the list of a group is cached per path and follows a change of the group in the settings', async () => {
    const session = await open('/mcp/pair');
    const list = async () => {
      const res = await post('/mcp/pair', { jsonrpc: '2.0', id: 1, method: 'tools/list' }, session);
      const body = (await res.json()) as RpcResponse;
      return new Set(body.result?.tools?.map((t) => t.name.split('__')[0]));
    };
    assert.deepEqual(await list(), new Set(['alpha']));
    const settings = await gw.readSettings();
    await gw.writeSettings({ ...settings, groups: { pair: { servers: ['alpha', 'beta'] } } });
    await waitUntil(async () => (await list()).has('beta'), 'beta to join the group listing');
    assert.deepEqual(await list(), new Set(['alpha', 'beta']));
  });

  test('refusals: Accept without both types 406, bad envelope -32700, re-initialize 400, unknown protocol version 400', async () => {
    const session = await open();
    const tools = { jsonrpc: '2.0', id: 3, method: 'tools/list' };

    const notAcceptable = await post('/mcp', tools, session, { accept: 'application/json' });
    assert.equal(notAcceptable.status, 406);

    const invalid = await post('/mcp', { jsonrpc: '1.0', id: 1, method: 'tools/list' }, session);
    assert.equal(invalid.status, 400);
    assert.equal(((await invalid.json()) as RpcResponse).error?.code, -32700);

    const again = await post('/mcp', INIT, session);
    assert.equal(again.status, 400);
    assert.match(((await again.json()) as RpcResponse).error?.message ?? '', /already initialized/);

    const version = await post('/mcp', tools, session, { 'mcp-protocol-version': '1999-01-01' });
    assert.equal(version.status, 400);
    assert.match(
      ((await version.json()) as RpcResponse).error?.message ?? '',
      /Unsupported protocol version/,
    );

    const notAMessage = await post('/mcp', '42', session);
    assert.equal(notAMessage.status, 400);
    assert.equal(((await notAMessage.json()) as RpcResponse).error?.code, -32700);

    const empty = await post('/mcp', [], session);
    assert.equal(empty.status, 400);
    const tooMany = await post(
      '/mcp',
      Array.from({ length: 101 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'ping' })),
      session,
    );
    assert.equal(tooMany.status, 400);
    assert.match(((await tooMany.json()) as RpcResponse).error?.message ?? '', /batch holds 1 to 100/);

    // After all that, the session still answers.
    const ok = await post('/mcp', tools, session);
    assert.equal(ok.status, 200);
  });

  test('a request for an unknown method or with bad params gets its JSON-RPC error, the session lives on', async () => {
    const session = await open();
    const unknown = await post('/mcp', { jsonrpc: '2.0', id: 1, method: 'no/such/method' }, session);
    assert.equal(unknown.status, 200);
    assert.equal(((await unknown.json()) as RpcResponse).error?.code, -32601);
    const badParams = await post(
      '/mcp',
      { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { arguments: 'not an object' } },
      session,
    );
    // The SDK's Protocol rejects params that fail the method's schema (with its own code).
    const refused = ((await badParams.json()) as RpcResponse).error;
    assert.ok(refused, 'an error response');
    assert.match(refused.message, /name|arguments|invalid/i);
    const ok = await post('/mcp', { jsonrpc: '2.0', id: 3, method: 'ping' }, session);
    assert.deepEqual(await ok.json(), { jsonrpc: '2.0', id: 3, result: {} });
  });

  test('one standalone GET stream per session: a second gets 409; after the first closes a new one opens', async () => {
    const session = await open();
    const get = (signal?: AbortSignal) =>
      fetch(`${gw.base}/mcp`, {
        headers: { accept: 'text/event-stream', 'mcp-session-id': session },
        signal,
      });
    const first = new AbortController();
    const stream = await get(first.signal);
    assert.equal(stream.status, 200);
    assert.match(stream.headers.get('content-type') ?? '', /^text\/event-stream/);
    const second = await get();
    assert.equal(second.status, 409);
    await second.text();
    first.abort();
    await waitUntil(async () => {
      const again = await get(AbortSignal.timeout(2000));
      const ok = again.status === 200;
      await again.body?.cancel();
      return ok;
    }, 'a new GET stream after the first closed');
  });

  test('a server-to-client request during a call goes out on that call’s stream and its answer comes back', async () => {
    const res = await post('/mcp', {
      ...INIT,
      params: { ...INIT.params, capabilities: { elicitation: { form: {} } } },
    });
    const session = res.headers.get('mcp-session-id')!;
    await res.text();
    await post('/mcp', { jsonrpc: '2.0', method: 'notifications/initialized' }, session);

    const call = await post(
      '/mcp',
      { jsonrpc: '2.0', id: 'c', method: 'tools/call', params: { name: 'alpha__confirm', arguments: {} } },
      session,
    );
    assert.match(call.headers.get('content-type') ?? '', /^text\/event-stream/);
    const reader = call.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!text.includes('elicitation/create')) {
      const { value, done } = await reader.read();
      assert.ok(!done, 'the stream ended before the elicitation request');
      text += value;
    }
    const request = events(text).find((m) => m.method === 'elicitation/create')!;
    const answered = await post(
      '/mcp',
      { jsonrpc: '2.0', id: request.id, result: { action: 'accept', content: { ok: true } } },
      session,
    );
    assert.equal(answered.status, 202);
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    const final = events(text).at(-1) as unknown as RpcResponse;
    assert.equal(final.id, 'c');
    assert.equal(final.result?.content?.[0]?.text, 'accept:{"ok":true}');
  });
});
