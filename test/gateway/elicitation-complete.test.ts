/**
 * MCP 2025-11-25 URL-mode elicitation through the gateway: an upstream's
 * `notifications/elicitation/complete` reaches the client session that was asked (by an
 * `elicitation/create` request or by a -32042 error), and a -32042 error reaches the client with
 * its code and data. Real SDK servers and clients on 127.0.0.1:0.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  ElicitationCompleteNotificationSchema,
  ElicitRequestSchema,
  ErrorCode,
  McpError,
  UrlElicitationRequiredError,
  type ServerNotification,
} from '@modelcontextprotocol/sdk/types.js';
import { CallerRelay, type Caller } from '../../server/gateway/relay.js';
import { silentLogger, type Logger } from '../../server/log.js';
import { startGateway, textOf, waitUntil, type TestGateway } from '../fixtures/gateway.js';

const URL_ELICITATION = {
  mode: 'url' as const,
  elicitationId: 'pay-1',
  url: 'https://pay.example/checkout/1',
  message: 'Pay at the checkout page',
};

/** An upstream whose tools ask for URL-mode elicitations; the test decides when they complete. */
class ElicitingUpstream {
  /** The McpServer of the (one) session the gateway opened. */
  server: McpServer | undefined;
  #http: HttpServer | undefined;
  readonly #transports = new Map<string, StreamableHTTPServerTransport>();

  get url(): string {
    return `http://127.0.0.1:${(this.#http!.address() as AddressInfo).port}/mcp`;
  }

  async start(): Promise<this> {
    this.#http = createServer((req, res) => {
      void this.#handle(
        req,
        res.once('error', () => undefined),
      );
    });
    await new Promise<void>((resolve) => this.#http!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  /** Sends the completion of `elicitationId`, outside any request. */
  async complete(elicitationId: string): Promise<void> {
    await this.server!.server.createElicitationCompletionNotifier(elicitationId)();
  }

  async stop(): Promise<void> {
    await this.server?.close();
    this.#http?.closeAllConnections();
    await new Promise<void>((resolve) => this.#http?.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: import('node:http').ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const body = text ? (JSON.parse(text) as unknown) : undefined;
    const id = req.headers['mcp-session-id'];
    const existing = typeof id === 'string' ? this.#transports.get(id) : undefined;
    if (existing) return existing.handleRequest(req, res, body);
    const server = this.#build();
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (sid) => void this.#transports.set(sid, transport),
    });
    this.server = server;
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  }

  #build(): McpServer {
    const server = new McpServer({ name: 'eliciting', version: '1.0.0' });
    server.registerTool('checkout', { description: 'Asks the person to pay at a URL' }, async (extra) => {
      const answer = await server.server.elicitInput(URL_ELICITATION);
      // The person finished at the URL: say so on this call's stream, then answer.
      await server.server.createElicitationCompletionNotifier(URL_ELICITATION.elicitationId, {
        relatedRequestId: extra.requestId,
      })();
      return { content: [{ type: 'text', text: `checkout ${answer.action}` }] };
    });
    server.registerTool('needs_consent', { description: 'Fails until consent is given' }, async () => {
      throw new UrlElicitationRequiredError(
        [{ mode: 'url', elicitationId: 'consent-7', url: 'https://consent.example/7', message: 'Consent' }],
        'Consent is required first',
      );
    });
    return server;
  }
}

describe('URL-mode elicitation completions through the gateway', () => {
  let upstream: ElicitingUpstream;
  let gw: TestGateway;
  let logs: string[];
  before(async () => {
    upstream = await new ElicitingUpstream().start();
    logs = [];
    gw = await startGateway(
      { mcpServers: { shop: { type: 'streamable-http', url: upstream.url } } },
      { logger: { level: 'debug', stream: { write: (line: string) => void logs.push(line) } } },
    );
    await gw.waitForServer('shop', (s) => s.status === 'connected', 'connected');
  });
  after(async () => {
    await gw?.close();
    await upstream?.stop();
  });

  async function urlClient(): Promise<{ client: Client; completed: string[] }> {
    const client = await gw.client('/mcp', { capabilities: { elicitation: { url: {} } } });
    const completed: string[] = [];
    client.setNotificationHandler(ElicitationCompleteNotificationSchema, async (notification) => {
      completed.push(notification.params.elicitationId);
    });
    return { client, completed };
  }

  test('the completion of an elicitation/create in URL mode reaches the client that was asked', async () => {
    const { client, completed } = await urlClient();
    const asked: unknown[] = [];
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      asked.push(request.params);
      return { action: 'accept' };
    });
    const result = await client.callTool({ name: 'shop__checkout', arguments: {} });
    assert.equal(textOf(result), 'checkout accept');
    assert.deepEqual(asked, [URL_ELICITATION]);
    await waitUntil(() => completed.length > 0, 'the completion notification');
    assert.deepEqual(completed, ['pay-1']);
  });

  test('a -32042 error reaches the client with code and data; its completion follows, an unknown id does not', async () => {
    const { client, completed } = await urlClient();
    const error = await client.callTool({ name: 'shop__needs_consent', arguments: {} }).then(
      () => assert.fail('the call succeeded'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof McpError, String(error));
    assert.equal(error.code, ErrorCode.UrlElicitationRequired);
    assert.equal(error.message, 'MCP error -32042: Consent is required first');
    assert.deepEqual(error.data, {
      elicitations: [
        { mode: 'url', elicitationId: 'consent-7', url: 'https://consent.example/7', message: 'Consent' },
      ],
    });

    await upstream.complete('nobody-asked');
    await waitUntil(
      () => logs.some((line) => line.includes('elicitation completion for an unknown elicitation dropped')),
      'the unknown completion to be dropped',
    );
    await upstream.complete('consent-7');
    await waitUntil(() => completed.length > 0, 'the completion notification');
    // Notifications keep their order on a stream: the unknown one would have come first.
    assert.deepEqual(completed, ['consent-7']);
  });
});

describe('the relay remembers who was asked', () => {
  function caller(sent: string[]): Caller {
    const record = async (n: ServerNotification): Promise<void> => {
      sent.push((n.params as { elicitationId: string }).elicitationId);
    };
    return {
      extra: { sendNotification: record } as unknown as Caller['extra'],
      capabilities: () => ({}),
      notify: record,
    };
  }
  const quiet: Logger = silentLogger;

  test('by upstream: another upstream cannot complete an elicitation it did not ask for', async () => {
    const relay = new CallerRelay({ timeoutMs: () => 1000, logger: quiet });
    const sent: string[] = [];
    relay.awaitCompletion('a', 'same-id', caller(sent));
    relay.elicitationComplete('b', 'same-id');
    relay.elicitationComplete('a', 'same-id');
    relay.elicitationComplete('a', 'same-id'); // once only
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(sent, ['same-id']);
  });

  test('for a bounded time and number', async () => {
    let now = 0;
    const relay = new CallerRelay({ timeoutMs: () => 1000, logger: quiet, now: () => now });
    const sent: string[] = [];
    relay.awaitCompletion('a', 'old', caller(sent));
    now += 31 * 60 * 1000;
    relay.elicitationComplete('a', 'old');
    for (let i = 0; i < 1001; i++) relay.awaitCompletion('a', `n${i}`, caller(sent));
    relay.elicitationComplete('a', 'n0'); // the oldest, evicted by the 1001st
    relay.elicitationComplete('a', 'n1000');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(sent, ['n1000']);
  });
});
