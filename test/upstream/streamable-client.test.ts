/**
 * Gatehouse's Streamable HTTP client transport against real SDK servers (SSE and JSON response
 * modes, with and without resumability) and a plain HTTP server, driven by the SDK's Client.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryEventStore } from '@modelcontextprotocol/sdk/examples/shared/inMemoryEventStore.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CallToolResultSchema,
  ElicitRequestSchema,
  ElicitResultSchema,
  ErrorCode,
  McpError,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { GatehouseError } from '../../server/errors.js';
import { classifyFailure, shouldFallBackToSse } from '../../server/upstream/policy.js';
import { StreamableClientTransport } from '../../server/upstream/streamable-client.js';

interface ServerOptions {
  /** `enableJsonResponse`: answers are plain JSON, server messages only on the GET stream. */
  json?: boolean;
  /** An event store, so streams carry event ids; `retryMs` becomes the SSE `retry:` field. */
  resumable?: { retryMs: number };
}

interface Seen {
  method: string;
  headers: IncomingMessage['headers'];
  /** The tool a tools/call POST names. */
  tool: string | undefined;
  res: ServerResponse;
  /** The client hung up before the server finished the response. */
  abandoned: boolean;
}

/** A real SDK McpServer per session behind node:http on 127.0.0.1:0, recording every request. */
class TestUpstream {
  readonly seen: Seen[] = [];
  /** Opened by the test once it has seen the progress it waits for. */
  progressGate = deferred();
  hangStarted = deferred();
  readonly #sessions = new Map<string, { server: McpServer; transport: StreamableHTTPServerTransport }>();
  readonly #options: ServerOptions;
  #http: Server | undefined;

  constructor(options: ServerOptions) {
    this.#options = options;
  }

  get url(): URL {
    return new URL(`http://127.0.0.1:${(this.#http?.address() as AddressInfo).port}/mcp`);
  }
  get transports(): StreamableHTTPServerTransport[] {
    return [...this.#sessions.values()].map((s) => s.transport);
  }
  /** GET streams whose headers went out and that are still open. */
  get openGets(): Seen[] {
    return this.seen.filter((s) => s.method === 'GET' && s.res.headersSent && !s.res.writableEnded);
  }

  async start(): Promise<this> {
    this.#http = createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500).end(String(error));
      });
    });
    await new Promise<void>((resolve) => this.#http?.listen(0, '127.0.0.1', resolve));
    return this;
  }

  addTool(name: string): void {
    for (const { server } of this.#sessions.values()) {
      server.registerTool(name, { description: name }, async () => ({
        content: [{ type: 'text', text: name }],
      }));
    }
  }

  /** Forgets every session, as a restarted server would. */
  async expire(): Promise<void> {
    const sessions = [...this.#sessions.values()];
    this.#sessions.clear();
    await Promise.all(sessions.map((s) => s.server.close()));
  }

  async close(): Promise<void> {
    await this.expire();
    this.#http?.closeAllConnections();
    await new Promise<void>((resolve) => this.#http?.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const port = this.url.port;
    // /moved: within the origin; /away: localhost is another origin than 127.0.0.1.
    if (req.url === '/moved') return void res.writeHead(307, { location: '/mcp' }).end();
    if (req.url === '/away')
      return void res.writeHead(307, { location: `http://localhost:${port}/mcp` }).end();
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body =
      chunks.length > 0 ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown) : undefined;
    const tool = (body as { params?: { name?: string } } | undefined)?.params?.name;
    const seen: Seen = { method: req.method ?? '', headers: req.headers, tool, res, abandoned: false };
    this.seen.push(seen);
    res.on('close', () => (seen.abandoned = !res.writableFinished));
    const id = req.headers['mcp-session-id'];
    if (typeof id === 'string') {
      const session = this.#sessions.get(id);
      if (!session) return void res.writeHead(404).end('Session not found');
      return session.transport.handleRequest(req, res, body);
    }
    const server = this.#build();
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse: this.#options.json ?? false,
      eventStore: this.#options.resumable ? new InMemoryEventStore() : undefined,
      retryInterval: this.#options.resumable?.retryMs,
      onsessioninitialized: (sid) => void this.#sessions.set(sid, { server, transport }),
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  }

  #build(): McpServer {
    const server = new McpServer({ name: 'test-upstream', version: '1.0.0' });
    const text = (t: string) => ({ content: [{ type: 'text' as const, text: t }] });
    server.registerTool('echo', { inputSchema: { text: z.string() } }, async ({ text: t }) =>
      text(`echo:${t}`),
    );
    server.registerTool('progress', {}, async (extra) => {
      for (const progress of [1, 2]) {
        await extra.sendNotification({
          method: 'notifications/progress',
          params: { progressToken: extra._meta?.progressToken ?? 0, progress, total: 2 },
        });
      }
      // Answers only once the client has seen the progress: delivered at stream end would be too late.
      await this.progressGate.promise;
      return text('progressed');
    });
    server.registerTool('confirm_inline', {}, async (extra) => {
      // Related to the call, so it travels on the call's own POST stream.
      const answer = await extra.sendRequest(
        { method: 'elicitation/create', params: { message: 'ok?', requestedSchema: schema() } },
        ElicitResultSchema,
      );
      return text(`${answer.action}:${JSON.stringify(answer.content)}`);
    });
    server.registerTool('confirm_standalone', {}, async () => {
      // Unrelated to any request, so it travels on the standalone GET stream.
      const answer = await server.server.elicitInput({ message: 'ok?', requestedSchema: schema() });
      return text(`${answer.action}:${JSON.stringify(answer.content)}`);
    });
    server.registerTool('hang', {}, async (extra) => {
      this.hangStarted.resolve();
      await new Promise((resolve) => extra.signal.addEventListener('abort', resolve));
      return text('aborted');
    });
    server.registerTool('answer_later', {}, async (extra) => {
      // Spec 2025-11-25: the server may end the POST's stream and answer on a resumed GET.
      extra.closeSSEStream?.();
      await new Promise((resolve) => setTimeout(resolve, 100));
      return text('answered after resume');
    });
    return server;
  }
}

function schema() {
  return { type: 'object' as const, properties: { ok: { type: 'boolean' as const } }, required: ['ok'] };
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Waits for `promise`; fails naming `what` after `ms`, so a broken stream fails fast. */
async function within<T>(promise: Promise<T>, what: string, ms = 3000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `condition` until it holds; fails naming `what` after `ms`. */
async function until(condition: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const cleanups: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

async function upstream(options: ServerOptions = {}): Promise<TestUpstream> {
  const server = await new TestUpstream(options).start();
  cleanups.push(() => server.close());
  return server;
}

/** An SDK Client over our transport, answering elicitations with `{ok: true}`. */
async function connect(
  url: URL,
  opts: ConstructorParameters<typeof StreamableClientTransport>[1] = {},
): Promise<{ client: Client; transport: StreamableClientTransport; errors: Error[] }> {
  const transport = new StreamableClientTransport(url, opts);
  const client = new Client(
    { name: 'test', version: '1.0.0' },
    { capabilities: { elicitation: { form: {} } } },
  );
  client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { ok: true } }));
  const errors: Error[] = [];
  client.onerror = (error) => errors.push(error);
  cleanups.push(() => client.close());
  await client.connect(transport, { timeout: 3000 });
  return { client, transport, errors };
}

function textOf(result: Awaited<ReturnType<Client['callTool']>>): string {
  const content = result.content as Array<{ type: string; text?: string }>;
  return content[0]?.text ?? '';
}

for (const mode of ['sse', 'json'] as const) {
  describe(`against an SDK server answering with ${mode === 'sse' ? 'SSE streams' : 'JSON bodies'}`, () => {
    const json = mode === 'json';

    test('initializes, lists and calls tools, sending the session and protocol headers', async () => {
      const server = await upstream({ json });
      const { client, transport } = await connect(server.url, {
        requestInit: { headers: { 'X-Configured': 'yes' } },
      });
      assert.ok(transport.sessionId, 'the session id from the initialize response');
      assert.equal(transport.protocolVersion, '2025-11-25');
      const tools = await client.listTools();
      assert.ok(tools.tools.some((t) => t.name === 'echo'));
      assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { text: 'hi' } })), 'echo:hi');

      const [initialize, ...later] = server.seen;
      assert.equal(initialize?.headers['mcp-session-id'], undefined);
      assert.equal(initialize?.headers['content-type'], 'application/json');
      assert.equal(initialize?.headers.accept, 'application/json, text/event-stream');
      for (const request of later) {
        assert.equal(request.headers['mcp-session-id'], transport.sessionId, request.method);
        assert.equal(request.headers['mcp-protocol-version'], '2025-11-25', request.method);
      }
      assert.ok(server.seen.every((s) => s.headers['x-configured'] === 'yes'));
    });

    test('a tools/list_changed notification arrives on the standalone GET stream', async () => {
      const server = await upstream({ json });
      const { client } = await connect(server.url);
      const changed = deferred();
      client.setNotificationHandler(ToolListChangedNotificationSchema, async () => changed.resolve());
      await until(() => server.openGets.length === 1, 'the GET stream');
      assert.equal(server.openGets[0]?.headers.accept, 'text/event-stream');
      server.addTool('fresh');
      await within(changed.promise, 'tools/list_changed');
      assert.ok((await client.listTools()).tools.some((t) => t.name === 'fresh'));
    });

    test('a server→client request during a call is answered by the client', async () => {
      const server = await upstream({ json });
      const { client } = await connect(server.url);
      // JSON mode has no stream per POST: the server's request can only come on the GET stream.
      if (json) await until(() => server.openGets.length === 1, 'the GET stream');
      const name = json ? 'confirm_standalone' : 'confirm_inline';
      const result = await client.callTool({ name, arguments: {} }, undefined, { timeout: 3000 });
      assert.equal(textOf(result), 'accept:{"ok":true}');
    });

    test('a request in an expired session fails with StreamableHTTPError 404', async () => {
      const server = await upstream({ json });
      const { client } = await connect(server.url);
      await server.expire();
      const error = await client.listTools().then(
        () => assert.fail('listTools succeeded'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof StreamableHTTPError, String(error));
      assert.equal(error.code, 404);
      assert.equal(classifyFailure(error).kind, 'session-expired');
    });

    test('close() aborts an in-flight call at the HTTP level and calls onclose once', async () => {
      const server = await upstream({ json });
      const { client, transport } = await connect(server.url);
      let closes = 0;
      const onclose = transport.onclose;
      transport.onclose = () => {
        closes++;
        onclose?.();
      };
      const call = client.callTool({ name: 'hang', arguments: {} });
      await within(server.hangStarted.promise, 'the hang tool to start');
      const hang = server.seen.find((s) => s.tool === 'hang');
      await transport.close();
      await transport.close();
      await assert.rejects(
        call,
        (e: unknown) => e instanceof McpError && e.code === ErrorCode.ConnectionClosed,
      );
      // The tool still hangs: only the client hanging up can have ended the call's HTTP exchange.
      await until(() => hang?.abandoned === true, 'the server to see the call abandoned');
      assert.equal(closes, 1);
    });
  });
}

describe('SSE specifics', () => {
  test('progress notifications are delivered while the call is still running', async () => {
    const server = await upstream();
    const { client } = await connect(server.url);
    const seen: number[] = [];
    const result = await client.callTool({ name: 'progress', arguments: {} }, undefined, {
      timeout: 3000,
      onprogress: (p) => {
        seen.push(p.progress);
        if (p.progress === 2) server.progressGate.resolve();
      },
    });
    assert.equal(textOf(result), 'progressed');
    assert.deepEqual(seen, [1, 2]);
  });

  test('a POST stream cut before its answer, or a resumption token, resumes by GET with Last-Event-ID', async () => {
    const server = await upstream({ resumable: { retryMs: 20 } });
    const { client } = await connect(server.url);
    const tokens: string[] = [];
    const result = await client.callTool({ name: 'answer_later', arguments: {} }, undefined, {
      timeout: 3000,
      onresumptiontoken: (token) => tokens.push(token),
    });
    assert.equal(textOf(result), 'answered after resume');
    const resume = server.seen.find((s) => s.method === 'GET' && s.headers['last-event-id'] !== undefined);
    assert.ok(resume, 'a GET carrying last-event-id');
    assert.equal(resume.headers['last-event-id'], tokens[0], 'resumes after the priming event');

    // A request sent with a resumption token replays that stream instead of POSTing again, and
    // the replayed answer resolves the new request.
    const posts = server.seen.filter((s) => s.method === 'POST').length;
    const replayed = await client.request(
      { method: 'tools/call', params: { name: 'answer_later', arguments: {} } },
      CallToolResultSchema,
      { timeout: 3000, resumptionToken: tokens[0] },
    );
    assert.equal(textOf(replayed), 'answered after resume');
    assert.equal(server.seen.filter((s) => s.method === 'POST').length, posts, 'nothing POSTed');
    assert.equal(server.seen.at(-1)?.headers['last-event-id'], tokens[0]);
  });

  test('the GET stream is reopened after the server ends it, honouring its retry: field', async () => {
    const server = await upstream({ resumable: { retryMs: 20 } });
    const { client } = await connect(server.url);
    await until(() => server.openGets.length === 1, 'the GET stream');
    const ended = Date.now();
    for (const transport of server.transports) transport.closeStandaloneSSEStream();
    // The default backoff would wait 1 s; the server asked for 20 ms.
    await until(() => server.seen.filter((s) => s.method === 'GET').length === 2, 'a second GET', 900);
    assert.ok(Date.now() - ended < 900);
    await until(() => server.openGets.length === 1, 'the reopened GET stream');
    const changed = deferred();
    client.setNotificationHandler(ToolListChangedNotificationSchema, async () => changed.resolve());
    server.addTool('after-reopen');
    await within(changed.promise, 'tools/list_changed on the reopened stream');
  });
});

describe('HTTP failures and the injected fetch', () => {
  test('a redirect is followed within the origin only; another is StreamableHTTPError 307', async () => {
    const server = await upstream();
    const { client } = await connect(new URL('/moved', server.url));
    assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { text: 'x' } })), 'echo:x');

    const error = await connect(new URL('/away', server.url)).then(
      () => assert.fail('connected across origins'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof StreamableHTTPError, String(error));
    assert.equal(error.code, 307);
  });

  test('a 400 to the initialize POST is StreamableHTTPError 400, which falls back to SSE', async () => {
    const http = createServer((_req, res) => res.writeHead(400).end('not an MCP endpoint'));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => http.close(resolve)));
    const url = new URL(`http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`);
    const error = await connect(url).then(
      () => assert.fail('connected'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof StreamableHTTPError, String(error));
    assert.equal(error.code, 400);
    assert.ok(shouldFallBackToSse(error));
  });

  test('an HTML page for the initialize POST is UPSTREAM_NOT_MCP naming status and type, not the page', async () => {
    for (const status of [200, 404, 501]) {
      const http = createServer((_req, res) =>
        res
          .writeHead(status, { 'content-type': 'text/html; charset=utf-8' })
          .end('<html><h1>Shop</h1></html>'),
      );
      await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
      cleanups.push(() => new Promise((resolve) => http.close(resolve)));
      const url = new URL(`http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`);
      const error = await connect(url).then(
        () => assert.fail('connected'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof GatehouseError, String(error));
      assert.equal(error.code, 'UPSTREAM_NOT_MCP');
      assert.equal(
        error.message,
        `this URL does not look like an MCP endpoint (it answered ${status} text/html); check the path`,
      );
      assert.equal(shouldFallBackToSse(error), status === 404, `fallback after ${status}`);
    }
  });

  test('an HTTP error whose body is markup keeps the markup out of the message', async () => {
    const http = createServer((_req, res) => res.writeHead(400).end('<html><body>Bad</body></html>'));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => http.close(resolve)));
    const url = new URL(`http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`);
    const error = await connect(url).then(
      () => assert.fail('connected'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof StreamableHTTPError, String(error));
    assert.equal(error.message, 'Streamable HTTP error: POST answered 400: Bad Request');
  });

  test('every request goes through the injected fetch, whose own errors come out unchanged', async () => {
    const server = await upstream();
    const refusal = new GatehouseError('UPSTREAM_AUTH_REQUIRED', 'authorize first');
    const methods: string[] = [];
    let refuse = false;
    const gated = async (input: string | URL, init?: RequestInit): Promise<Response> => {
      methods.push(init?.method ?? 'GET');
      if (refuse) throw refusal;
      return fetch(input, init);
    };
    const { client, transport, errors } = await connect(server.url, { fetch: gated });
    await until(() => server.openGets.length === 1, 'the GET stream');
    assert.deepEqual(methods, ['POST', 'POST', 'GET']);
    refuse = true;
    await assert.rejects(client.listTools(), (e: unknown) => e === refusal);
    assert.ok(errors.includes(refusal), 'reported to onerror as well');
    refuse = false;
    await transport.terminateSession();
    assert.equal(transport.sessionId, undefined);
    assert.equal(methods.at(-1), 'DELETE');
    assert.ok(server.seen.some((s) => s.method === 'DELETE' && s.headers['mcp-session-id'] !== undefined));
  });

  test('a refusal from the injected fetch for the GET stream goes to onerror unchanged', async () => {
    const server = await upstream();
    const refusal = new GatehouseError('UPSTREAM_AUTH_REQUIRED', 'authorize first');
    const gated = async (input: string | URL, init?: RequestInit): Promise<Response> => {
      if (init?.method === 'GET') throw refusal;
      return fetch(input, init);
    };
    const { errors } = await connect(server.url, { fetch: gated });
    await until(() => errors.includes(refusal), 'the refusal on onerror');
  });
});
