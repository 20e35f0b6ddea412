/**
 * An HTTP upstream that breaks the protocol in one answer: that call fails with an error naming the
 * server (or, for one bad SSE event before a good answer, succeeds); the upstream's other calls and
 * the other upstreams keep working. The upstream is a hand-written node:http server that speaks
 * just enough Streamable HTTP, so each answer can be wrong in exactly one way.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { FAST_TIMEOUTS, startGateway, textOf, type TestGateway } from '../fixtures/gateway.js';
import { startHttpUpstream, type HttpUpstream } from '../fixtures/mcp-upstream.js';

interface Rpc {
  jsonrpc: '2.0';
  id?: string | number;
  method?: string;
  params?: { name?: string; protocolVersion?: string };
}

const TOOLS = ['fine', 'garbled_event', 'broken_json', 'html', 'wrong_id'].map((name) => ({
  name,
  inputSchema: { type: 'object' },
}));

function json(res: ServerResponse, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(200, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

function answer(req: Rpc, res: ServerResponse): void {
  const id = req.id!;
  const result = (text: string) => ({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text }] } });
  switch (req.method) {
    case 'initialize':
      return json(
        res,
        {
          jsonrpc: '2.0',
          id,
          result: {
            protocolVersion: req.params?.protocolVersion,
            capabilities: { tools: {} },
            serverInfo: { name: 'garbled', version: '1' },
          },
        },
        { 'mcp-session-id': 'garbled-session' },
      );
    case 'ping':
      return json(res, { jsonrpc: '2.0', id, result: {} });
    case 'tools/list':
      return json(res, { jsonrpc: '2.0', id, result: { tools: TOOLS } });
    case 'tools/call':
      break;
    default:
      return json(res, { jsonrpc: '2.0', id, error: { code: -32601, message: 'not here' } });
  }
  switch (req.params?.name) {
    case 'garbled_event':
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('event: message\ndata: {not json\n\n');
      res.end(`event: message\ndata: ${JSON.stringify(result('after the bad event'))}\n\n`);
      return;
    case 'broken_json':
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"jsonrpc": "2.0", "id": ');
      return;
    case 'html':
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html>maintenance</html>');
      return;
    case 'wrong_id':
      return json(res, { ...result('for someone else'), id: 'not-the-request' });
    default:
      return json(res, result('fine'));
  }
}

async function startGarbled(): Promise<{ url: string; http: Server }> {
  const http = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'GET') return void res.writeHead(405).end();
    if (req.method === 'DELETE') return void res.writeHead(200).end();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const message = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Rpc;
      if (message.id === undefined) return void res.writeHead(202).end();
      answer(message, res);
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`, http };
}

describe('an upstream that breaks the protocol in one answer', () => {
  let garbled: { url: string; http: Server };
  let good: HttpUpstream;
  let gw: TestGateway;
  let client: Client;

  before(async () => {
    garbled = await startGarbled();
    good = await startHttpUpstream('good');
    gw = await startGateway({
      mcpServers: {
        garbled: { type: 'streamable-http', url: garbled.url },
        good: { type: 'streamable-http', url: good.url },
      },
      systemConfig: { timeouts: { ...FAST_TIMEOUTS, requestMs: 1500 } },
    });
    await gw.waitForServer('garbled', (s) => s.status === 'connected', 'connected');
    await gw.waitForServer('good', (s) => s.status === 'connected', 'connected');
    client = await gw.client();
  });
  after(async () => {
    await gw?.close();
    await good?.stop();
    garbled?.http.closeAllConnections();
    garbled?.http.close();
  });

  const call = (name: string) => client.callTool({ name, arguments: {} });

  /** The upstream is still connected and answers, and so is the other one. */
  async function othersStillWork(): Promise<void> {
    assert.equal(textOf(await call('garbled__fine')), 'fine');
    assert.equal(textOf(await client.callTool({ name: 'good__echo', arguments: { text: 'x' } })), 'good:x');
    const status = (await gw.servers()).find((s) => s.name === 'garbled');
    assert.equal(status?.status, 'connected');
  }

  test('one event that is not JSON before the answer: the answer still arrives', async () => {
    assert.equal(textOf(await call('garbled__garbled_event')), 'after the bad event');
    await othersStillWork();
  });

  test('an answer that is not JSON fails that call, naming the server and the problem', async () => {
    await assert.rejects(call('garbled__broken_json'), (error: Error & { data?: { code?: string } }) => {
      assert.match(error.message, /garbled/);
      assert.equal(error.data?.code, 'UPSTREAM_PROTOCOL_ERROR');
      return true;
    });
    await othersStillWork();
  });

  test('an answer that is not JSON-RPC at all (text/html) fails that call, naming the server', async () => {
    await assert.rejects(call('garbled__html'), (error: Error & { data?: { code?: string } }) => {
      assert.match(error.message, /garbled/);
      assert.match(error.message, /text\/html/);
      assert.equal(error.data?.code, 'UPSTREAM_PROTOCOL_ERROR');
      return true;
    });
    await othersStillWork();
  });

  test('an answer for another request id: the call times out, the rest goes on', async () => {
    await assert.rejects(call('garbled__wrong_id'), (error: Error & { data?: { code?: string } }) => {
      assert.equal(error.data?.code, 'UPSTREAM_TIMEOUT');
      return true;
    });
    await othersStillWork();
  });
});
