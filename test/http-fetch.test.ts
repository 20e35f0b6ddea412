/**
 * The node:http fetch for upstream MCP traffic (server/http-fetch.ts) against plain
 * node:http servers on 127.0.0.1:0 that record every request they receive.
 */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { createHttpFetch, redirectHop, type HttpFetch } from '../server/http-fetch.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  socket: Socket;
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

interface TestServer {
  /** Every request, recorded once its body has arrived. */
  seen: Seen[];
  /** Every TCP connection the server accepted. */
  connections: Socket[];
  origin: string;
  url(path: string): string;
}

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
}

function deferred(): Deferred {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const cleanups: Array<() => void | Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startServer(handler: Handler): Promise<TestServer> {
  const seen: Seen[] = [];
  const connections: Socket[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body,
        socket: req.socket,
      });
      handler(req, res, body);
    });
  });
  server.on('connection', (socket: Socket) => connections.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { seen, connections, origin, url: (path) => `${origin}${path}` };
}

/** A fetch whose sockets are destroyed after the test. */
function httpFetch(): HttpFetch {
  const http = createHttpFetch();
  cleanups.push(() => http.close());
  return http;
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected the promise to reject');
}

/**
 * Asserts that `error` is the very `reason` object. (assert.equal would try to diff a DOMException
 * against an Error and fail with ERR_INVALID_THIS instead of saying what arrived.)
 */
function assertIsReason(error: unknown, reason: unknown): void {
  const code = (error as { code?: unknown } | null)?.code;
  assert.ok(
    error === reason,
    `rejected with ${String(error)}${code === undefined ? '' : ` (${String(code)})`}`,
  );
}

/** Reads until the text so far ends with `end` (an SSE event's blank line). */
async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, end: string): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  while (!text.endsWith(end)) {
    const { value, done } = await reader.read();
    if (done) assert.fail(`the stream ended before ${JSON.stringify(end)}; got ${JSON.stringify(text)}`);
    text += decoder.decode(value, { stream: true });
  }
  return text;
}

async function readToEnd(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return text + decoder.decode();
    text += decoder.decode(value, { stream: true });
  }
}

/** Answers every request with 200 and a short body. */
const ok: Handler = (_req, res) => res.end('ok');

describe('createHttpFetch: requests', () => {
  it('a GET sends its method, path, query and headers, and no body or content-length', async () => {
    const server = await startServer(ok);
    const { fetch } = httpFetch();
    const response = await fetch(server.url('/path?x=1&y=two'), { headers: { 'x-test': 'one' } });
    assert.equal(await response.text(), 'ok');
    const [seen] = server.seen;
    assert.equal(seen?.method, 'GET');
    assert.equal(seen?.url, '/path?x=1&y=two');
    assert.equal(seen?.headers['x-test'], 'one');
    assert.equal(seen?.headers['content-length'], undefined);
    assert.equal(seen?.headers['transfer-encoding'], undefined);
    assert.equal(seen?.body.length, 0);
  });

  it('headers given as a record, a Headers or pairs all reach the server', async () => {
    const server = await startServer(ok);
    const { fetch } = httpFetch();
    const forms: HeadersInit[] = [
      { 'X-Form': 'record', Authorization: 'Bearer t' },
      new Headers({ 'X-Form': 'headers', Authorization: 'Bearer t' }),
      [
        ['X-Form', 'pairs'],
        ['Authorization', 'Bearer t'],
      ],
    ];
    for (const headers of forms) await (await fetch(server.url('/'), { headers })).text();
    assert.deepEqual(
      server.seen.map((s) => [s.headers['x-form'], s.headers.authorization]),
      [
        ['record', 'Bearer t'],
        ['headers', 'Bearer t'],
        ['pairs', 'Bearer t'],
      ],
    );
  });

  it('a POST with a string body sends its UTF-8 bytes with their byte length as content-length', async () => {
    const server = await startServer(ok);
    const { fetch } = httpFetch();
    const text = '{"say":"héllo ✓"}';
    await (
      await fetch(server.url('/mcp'), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: text,
      })
    ).text();
    const [seen] = server.seen;
    assert.equal(seen?.method, 'POST');
    assert.deepEqual(seen?.body, Buffer.from(text, 'utf8'));
    // 17 characters, 21 bytes: the length counts bytes.
    assert.equal(seen?.headers['content-length'], String(Buffer.byteLength(text)));
    assert.notEqual(Buffer.byteLength(text), text.length);
    assert.equal(seen?.headers['content-type'], 'application/json');
  });

  it('a POST with a Uint8Array body sends exactly the bytes of the view, not of its whole buffer', async () => {
    const server = await startServer(ok);
    const { fetch } = httpFetch();
    const backing = new Uint8Array([9, 9, 0x00, 0xff, 0x7f, 0x80, 9, 9]);
    const view = backing.subarray(2, 6);
    await (await fetch(server.url('/bytes'), { method: 'PUT', body: view })).text();
    const [seen] = server.seen;
    assert.equal(seen?.method, 'PUT');
    assert.deepEqual([...(seen?.body ?? [])], [0x00, 0xff, 0x7f, 0x80]);
    assert.equal(seen?.headers['content-length'], '4');
  });

  it('a URLSearchParams body is form-encoded with content-type application/x-www-form-urlencoded;charset=UTF-8', async () => {
    const server = await startServer(ok);
    const { fetch } = httpFetch();
    await (
      await fetch(server.url('/form'), { method: 'POST', body: new URLSearchParams({ q: 'a b&c', n: '1' }) })
    ).text();
    const [seen] = server.seen;
    assert.equal(seen?.body.toString('utf8'), 'q=a+b%26c&n=1');
    assert.equal(seen?.headers['content-type'], 'application/x-www-form-urlencoded;charset=UTF-8');
    assert.equal(seen?.headers['content-length'], '13');
  });

  it("a caller's content-type, in any letter case, wins over the one derived from a URLSearchParams body", async () => {
    const server = await startServer(ok);
    const { fetch } = httpFetch();
    await (
      await fetch(server.url('/form'), {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ a: '1' }),
      })
    ).text();
    const [seen] = server.seen;
    assert.equal(seen?.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(seen?.body.toString('utf8'), 'a=1');
  });
});

describe('createHttpFetch: responses', () => {
  it('status, statusText and headers come from the response; repeated headers are joined with ", "', async () => {
    const server = await startServer((_req, res) => {
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.setHeader('x-multi', ['one', 'two']);
      res.setHeader('content-type', 'application/json');
      res.writeHead(418, 'Short And Stout');
      res.end('{}');
    });
    const { fetch } = httpFetch();
    const response = await fetch(server.url('/'));
    assert.equal(response.status, 418);
    assert.equal(response.statusText, 'Short And Stout');
    assert.equal(response.ok, false);
    assert.equal(response.headers.get('content-type'), 'application/json');
    assert.equal(response.headers.get('x-multi'), 'one, two');
    assert.equal(response.headers.get('set-cookie'), 'a=1, b=2');
    assert.deepEqual(response.headers.getSetCookie(), ['a=1', 'b=2']);
    await response.text();
  });

  it('the body reads with text() and json()', async () => {
    const server = await startServer((req, res) => {
      res.setHeader('content-type', req.url === '/json' ? 'application/json' : 'text/plain; charset=utf-8');
      res.end(req.url === '/json' ? '{"jsonrpc":"2.0","id":1,"result":{"ok":true}}' : 'plain ✓ text');
    });
    const { fetch } = httpFetch();
    assert.equal(await (await fetch(server.url('/text'))).text(), 'plain ✓ text');
    assert.deepEqual(await (await fetch(server.url('/json'))).json(), {
      jsonrpc: '2.0',
      id: 1,
      result: { ok: true },
    });
  });

  it('a 204 response has a null body', async () => {
    const server = await startServer((_req, res) => res.writeHead(204, { 'x-after': 'empty' }).end());
    const { fetch } = httpFetch();
    const response = await fetch(server.url('/'), { method: 'DELETE' });
    assert.equal(response.status, 204);
    assert.equal(response.body, null);
    assert.equal(response.headers.get('x-after'), 'empty');
    assert.equal(await response.text(), '');
  });

  it('a HEAD response has a null body even with a content-length', async () => {
    const server = await startServer((_req, res) => res.writeHead(200, { 'content-length': '5' }).end());
    const { fetch } = httpFetch();
    const response = await fetch(server.url('/'), { method: 'HEAD' });
    assert.equal(response.status, 200);
    assert.equal(response.body, null);
    assert.equal(response.headers.get('content-length'), '5');
  });

  it(
    'a text/event-stream body is readable event by event while the server holds back the next one',
    { timeout: 5000 },
    async () => {
      const second = deferred();
      const server = await startServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        res.write('event: message\ndata: {"n":1}\n\n');
        void second.promise.then(() => res.end('event: message\ndata: {"n":2}\n\n'));
      });
      const { fetch } = httpFetch();
      const response = await fetch(server.url('/sse'));
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), 'text/event-stream');
      const reader = response.body!.getReader();
      // The server writes the second event only once this read has returned the first.
      assert.equal(await readUntil(reader, '\n\n'), 'event: message\ndata: {"n":1}\n\n');
      second.resolve();
      assert.equal(await readToEnd(reader), 'event: message\ndata: {"n":2}\n\n');
    },
  );
});

describe('createHttpFetch: redirects', () => {
  /** A POST to /from answered with `status` and Location /to; /to answers with the method it saw. */
  async function redirectingServer(status: number): Promise<TestServer> {
    return startServer((req, res) => {
      if (req.url === '/from') res.writeHead(status, { location: '/to' }).end('moved');
      else res.end(`landed by ${req.method}`);
    });
  }

  function post(fetch: HttpFetch['fetch'], url: string, redirect?: RequestRedirect): Promise<Response> {
    return fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'the body',
      ...(redirect ? { redirect } : {}),
    });
  }

  it('follow (the default) on a 307 or 308 sends the POST again with its body to the Location', async () => {
    for (const status of [307, 308]) {
      const server = await redirectingServer(status);
      const { fetch } = httpFetch();
      const response = await post(fetch, server.url('/from'));
      assert.equal(response.status, 200);
      assert.equal(await response.text(), 'landed by POST');
      assert.deepEqual(
        server.seen.map((s) => [s.method, s.url, s.body.toString('utf8'), s.headers['content-length']]),
        [
          ['POST', '/from', 'the body', '8'],
          ['POST', '/to', 'the body', '8'],
        ],
        `status ${status}`,
      );
    }
  });

  it('follow on a 303 after a POST continues as a GET without a body', async () => {
    const server = await redirectingServer(303);
    const { fetch } = httpFetch();
    const response = await post(fetch, server.url('/from'), 'follow');
    assert.equal(await response.text(), 'landed by GET');
    const [, second] = server.seen;
    assert.equal(second?.method, 'GET');
    assert.equal(second?.url, '/to');
    assert.equal(second?.body.length, 0);
    assert.equal(second?.headers['content-length'], undefined);
    assert.equal(second?.headers['transfer-encoding'], undefined);
  });

  it('follow on a 301 or 302 after a POST continues as a GET without a body', async () => {
    for (const status of [301, 302]) {
      const server = await redirectingServer(status);
      const { fetch } = httpFetch();
      const response = await post(fetch, server.url('/from'), 'follow');
      assert.equal(await response.text(), 'landed by GET', `status ${status}`);
      assert.equal(server.seen[1]?.body.length, 0, `status ${status}`);
    }
  });

  it('follow on a 303 also drops the request-body headers such as content-type (Fetch §4.4 HTTP-redirect fetch step 12)', async () => {
    const server = await redirectingServer(303);
    const { fetch } = httpFetch();
    await (await post(fetch, server.url('/from'), 'follow')).text();
    assert.equal(server.seen[1]?.headers['content-type'], undefined);
  });

  it('follow to another origin drops the Authorization header (Fetch §4.4 HTTP-redirect fetch step 13)', async () => {
    const target = await startServer(ok);
    const origin = await startServer((_req, res) =>
      res.writeHead(307, { location: target.url('/elsewhere') }).end(),
    );
    const { fetch } = httpFetch();
    const response = await fetch(origin.url('/mcp'), { headers: { authorization: 'Bearer secret' } });
    assert.equal(await response.text(), 'ok');
    assert.equal(origin.seen[0]?.headers.authorization, 'Bearer secret');
    assert.equal(target.seen[0]?.headers.authorization, undefined);
  });

  it('manual returns the 3xx response with its Location and does not request the target', async () => {
    const server = await redirectingServer(307);
    const { fetch } = httpFetch();
    const response = await post(fetch, server.url('/from'), 'manual');
    assert.equal(response.status, 307);
    assert.equal(response.headers.get('location'), '/to');
    assert.equal(await response.text(), 'moved');
    assert.deepEqual(
      server.seen.map((s) => s.url),
      ['/from'],
    );
  });

  it('error rejects with a TypeError and does not request the target', async () => {
    const server = await redirectingServer(302);
    const { fetch } = httpFetch();
    const error = await rejectionOf(post(fetch, server.url('/from'), 'error'));
    assert.ok(error instanceof TypeError, String(error));
    assert.deepEqual(
      server.seen.map((s) => s.url),
      ['/from'],
    );
  });

  it('follow takes 20 redirects and rejects the 21st with a TypeError', async () => {
    // /hop/N redirects to /hop/N-1; /hop/0 answers.
    const server = await startServer((req, res) => {
      const n = Number(req.url?.split('/')[2]);
      if (n > 0) res.writeHead(302, { location: `/hop/${n - 1}` }).end();
      else res.end('landed');
    });
    const { fetch } = httpFetch();
    const twenty = await fetch(server.url('/hop/20'));
    assert.equal(await twenty.text(), 'landed');
    assert.equal(server.seen.length, 21);

    server.seen.length = 0;
    const error = await rejectionOf(fetch(server.url('/hop/21')));
    assert.ok(error instanceof TypeError, String(error));
    assert.equal(server.seen.length, 21);
    assert.equal(server.seen.at(-1)?.url, '/hop/1');
  });

  it('a relative Location resolves against the URL of the request that received it', async () => {
    const server = await startServer((req, res) => {
      if (req.url === '/dir/start') res.writeHead(302, { location: 'next?q=1' }).end();
      else if (req.url === '/dir/next?q=1') res.writeHead(302, { location: '../top' }).end();
      else res.end(`at ${req.url}`);
    });
    const { fetch } = httpFetch();
    const response = await fetch(server.url('/dir/start'));
    assert.equal(await response.text(), 'at /top');
    assert.deepEqual(
      server.seen.map((s) => s.url),
      ['/dir/start', '/dir/next?q=1', '/top'],
    );
  });
});

describe('redirectHop: the one redirect rule, shared with the Streamable HTTP client', () => {
  const from = new URL('http://127.0.0.1:1/mcp');
  const redirect = (status: number, location?: string) =>
    new Response(null, { status, headers: location === undefined ? {} : { location } });

  it('307 and 308 keep the method and body; 303, and 301/302 after POST, turn into a body-less GET', () => {
    assert.deepEqual(redirectHop(redirect(307, '/next'), from, 'POST'), {
      url: new URL('http://127.0.0.1:1/next'),
      method: 'POST',
      dropsBody: false,
      crossOrigin: false,
    });
    assert.equal(redirectHop(redirect(308, '/next'), from, 'POST')?.dropsBody, false);
    for (const status of [301, 302, 303]) {
      const hop = redirectHop(redirect(status, '/next'), from, 'POST');
      assert.deepEqual([hop?.method, hop?.dropsBody], ['GET', true], String(status));
    }
    assert.deepEqual(
      [
        redirectHop(redirect(301, '/x'), from, 'GET')?.method,
        redirectHop(redirect(303, '/x'), from, 'HEAD')?.method,
      ],
      ['GET', 'HEAD'],
    );
  });

  it('another origin is marked; no redirect, no Location or a Location that is no URL give none', () => {
    assert.equal(redirectHop(redirect(302, 'http://localhost:1/mcp'), from, 'GET')?.crossOrigin, true);
    assert.equal(redirectHop(new Response('x', { status: 200 }), from, 'GET'), undefined);
    assert.equal(redirectHop(redirect(302), from, 'GET'), undefined);
    assert.equal(redirectHop(redirect(302, 'http://[bad'), from, 'GET'), undefined);
  });
});

describe('createHttpFetch: cancellation and failures', () => {
  /** A server that never answers; `received` resolves once a request has arrived. */
  async function silentServer(): Promise<{ server: TestServer; received: Deferred; hungUp: Deferred }> {
    const received = deferred();
    const hungUp = deferred();
    const server = await startServer((_req, res) => {
      res.once('close', () => hungUp.resolve());
      received.resolve();
    });
    return { server, received, hungUp };
  }

  it(
    'controller.abort() before the response rejects with the signal reason, an AbortError',
    { timeout: 5000 },
    async () => {
      const { server, received, hungUp } = await silentServer();
      const { fetch } = httpFetch();
      const controller = new AbortController();
      const pending = fetch(server.url('/'), { signal: controller.signal });
      await received.promise;
      controller.abort();
      const error = await rejectionOf(pending);
      assertIsReason(error, controller.signal.reason);
      assert.equal((error as Error).name, 'AbortError');
      await hungUp.promise;
    },
  );

  it('an abort with a reason of its own rejects with that reason', { timeout: 5000 }, async () => {
    const { server, received } = await silentServer();
    const { fetch } = httpFetch();
    const controller = new AbortController();
    const reason = new Error('the downstream client went away');
    const pending = fetch(server.url('/'), { method: 'POST', body: '{}', signal: controller.signal });
    await received.promise;
    controller.abort(reason);
    assertIsReason(await rejectionOf(pending), reason);
  });

  it('a signal aborted before the call rejects with its reason and sends nothing', async () => {
    const server = await startServer(ok);
    const { fetch } = httpFetch();
    const signal = AbortSignal.abort();
    const error = await rejectionOf(fetch(server.url('/never'), { signal }));
    assertIsReason(error, signal.reason);
    assert.equal((error as Error).name, 'AbortError');
    await (await fetch(server.url('/after'))).text();
    assert.deepEqual(
      server.seen.map((s) => s.url),
      ['/after'],
    );
  });

  /** An SSE response that sends one event and then holds the stream open. */
  async function streamingServer(): Promise<{ server: TestServer; hungUp: Deferred }> {
    const hungUp = deferred();
    const server = await startServer((_req, res) => {
      res.once('close', () => hungUp.resolve());
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: first\n\n');
    });
    return { server, hungUp };
  }

  it('an abort while the body streams errors the pending read and hangs up', { timeout: 5000 }, async () => {
    const { server, hungUp } = await streamingServer();
    const { fetch } = httpFetch();
    const controller = new AbortController();
    const response = await fetch(server.url('/sse'), { signal: controller.signal });
    const reader = response.body!.getReader();
    assert.equal(await readUntil(reader, '\n\n'), 'data: first\n\n');
    const read = reader.read();
    controller.abort();
    const error = await rejectionOf(read);
    assert.ok(error instanceof Error, String(error));
    await hungUp.promise;
  });

  it(
    "an abort while the body streams rejects the pending read with the signal's reason, as the global fetch does",
    { timeout: 5000 },
    async () => {
      const { server } = await streamingServer();
      const { fetch } = httpFetch();
      const controller = new AbortController();
      const response = await fetch(server.url('/sse'), { signal: controller.signal });
      const reader = response.body!.getReader();
      await readUntil(reader, '\n\n');
      const read = reader.read();
      controller.abort();
      assertIsReason(await rejectionOf(read), controller.signal.reason);
    },
  );

  it(
    'aborting the signal of a finished request leaves its pooled socket to the next request',
    { timeout: 5000 },
    async () => {
      const slow = deferred();
      const server = await startServer((req, res) => {
        if (req.url === '/slow') void slow.promise.then(() => res.end('slow done'));
        else res.end('ok');
      });
      const { fetch } = httpFetch();
      const controller = new AbortController();
      assert.equal(await (await fetch(server.url('/first'), { signal: controller.signal })).text(), 'ok');
      const next = fetch(server.url('/slow'));
      while (server.seen.length < 2) await new Promise((resolve) => setImmediate(resolve));
      controller.abort();
      slow.resolve();
      assert.equal(await (await next).text(), 'slow done');
      assert.equal(server.connections.length, 1);
    },
  );

  it('a refused connection rejects with a TypeError whose cause has code ECONNREFUSED', async () => {
    // A port that was just free: bind it, note it, release it.
    const probe = createNetServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const { fetch } = httpFetch();
    const error = await rejectionOf(fetch(`http://127.0.0.1:${port}/mcp`));
    assert.ok(error instanceof TypeError, String(error));
    assert.equal((error.cause as { code?: unknown } | undefined)?.code, 'ECONNREFUSED');
  });

  it('a URL that is not http or https rejects with a TypeError', async () => {
    const { fetch } = httpFetch();
    for (const url of [
      'ftp://127.0.0.1/file',
      'file:///etc/hostname',
      'data:text/plain,hi',
      'ws://127.0.0.1/',
    ]) {
      const error = await rejectionOf(fetch(url));
      assert.ok(error instanceof TypeError, `${url}: ${String(error)}`);
    }
  });
});

describe('createHttpFetch: connections', () => {
  it('two sequential requests reuse one keep-alive socket', async () => {
    const server = await startServer(ok);
    const { fetch } = httpFetch();
    assert.equal(await (await fetch(server.url('/one'))).text(), 'ok');
    assert.equal(
      await (await fetch(server.url('/two'), { method: 'POST', body: 'x', headers: { a: 'b' } })).text(),
      'ok',
    );
    assert.equal(server.connections.length, 1);
    assert.equal(server.seen[0]?.socket, server.seen[1]?.socket);
  });

  it('close() destroys an idle keep-alive socket', { timeout: 5000 }, async () => {
    const server = await startServer(ok);
    const http = httpFetch();
    assert.equal(await (await http.fetch(server.url('/'))).text(), 'ok');
    const [socket] = server.connections;
    assert.ok(socket);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    // Let the socket go back to the pool, then check it is still open before close().
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(socket.destroyed, false);
    http.close();
    await closed;
  });
});
