/**
 * A URL that is not an MCP endpoint (a web page, a framework's 404 or 501 page, a POST answered
 * 404) is reported as such, naming what it answered, never with its HTML and never as
 * "SSE error: Invalid content type": for Streamable HTTP, for `type: sse` and for a bare `url`
 * (Streamable HTTP, then SSE). Hand-written node:http servers on 127.0.0.1:0.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startGateway, FAST_TIMEOUTS, type TestGateway } from '../fixtures/gateway.js';
import {
  isNotMcpAnswer,
  shouldFallBackToSse,
  errorAfterFallback,
  notMcpEndpoint,
} from '../../server/upstream/policy.js';
import { GatehouseError } from '../../server/errors.js';

const PAGE = '<!doctype html><html><head><title>Welcome</title></head><body><h1>Our shop</h1></body></html>';

interface Site {
  url: string;
  close: () => Promise<void>;
}

async function site(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Site> {
  const http = createServer((req, res) => {
    req.resume();
    req.once('end', () => handler(req, res));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    close: async () => {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

const html = (status: number) => (_req: IncomingMessage, res: ServerResponse) =>
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);

function sentence(status: number, type: string): string {
  return `this URL does not look like an MCP endpoint (it answered ${status} ${type}); check the path`;
}

describe('a URL that is not an MCP endpoint', () => {
  const sites: Record<string, Site> = {};
  let gw: TestGateway;
  before(async () => {
    sites.page = await site(html(200));
    sites.missing = await site(html(404));
    // What `python -m http.server` does: a listing for GET, 501 for POST.
    sites.static = await site((req, res) => html(req.method === 'POST' ? 501 : 200)(req, res));
    // An API that knows no /mcp: an empty 404 for the POST, its HTML home page for the GET.
    sites.api = await site((req, res) =>
      req.method === 'POST' ? res.writeHead(404).end() : html(200)(req, res),
    );
    gw = await startGateway({
      mcpServers: {
        'page-http': { type: 'streamable-http', url: sites.page.url },
        'missing-http': { type: 'streamable-http', url: sites.missing.url },
        'static-http': { type: 'streamable-http', url: sites.static.url },
        'page-sse': { type: 'sse', url: sites.page.url },
        'missing-auto': { url: sites.missing.url },
        'static-auto': { url: sites.static.url },
        'api-auto': { url: sites.api.url },
      },
      systemConfig: { timeouts: FAST_TIMEOUTS },
    });
  });
  after(async () => {
    await gw?.close();
    await Promise.all(Object.values(sites).map((s) => s.close()));
  });

  const cases: Array<[server: string, status: number, type: string]> = [
    ['page-http', 200, 'text/html'],
    ['missing-http', 404, 'text/html'],
    ['static-http', 501, 'text/html'],
    ['page-sse', 200, 'text/html'],
    // Both attempts failed; the error names what the Streamable HTTP POST saw.
    ['missing-auto', 404, 'text/html'],
    ['static-auto', 501, 'text/html'],
    ['api-auto', 404, 'with no content type'],
  ];
  for (const [server, status, type] of cases) {
    test(`${server}: UPSTREAM_NOT_MCP naming ${status} ${type}`, async () => {
      const found = await gw.waitForServer(
        server,
        (s) => s.status === 'error' && s.error?.code === 'UPSTREAM_NOT_MCP',
        'UPSTREAM_NOT_MCP',
      );
      const message = found.error?.message ?? '';
      assert.ok(message.includes(sentence(status, type)), message);
      assert.doesNotMatch(message, /<|Invalid content type|SSE error/);
    });
  }
});

test('which first answers show a URL is no MCP endpoint', () => {
  const no = (method: 'POST' | 'GET', status: number, contentType?: string) =>
    isNotMcpAnswer({ method, status, contentType });
  assert.equal(no('POST', 200, 'text/html'), true);
  assert.equal(no('POST', 500, 'text/html'), true);
  assert.equal(no('POST', 404, undefined), true);
  assert.equal(no('POST', 200, 'text/plain'), true);
  assert.equal(no('GET', 200, 'application/json'), true);
  assert.equal(no('POST', 200, 'application/json'), false);
  assert.equal(no('POST', 200, 'text/event-stream'), false);
  assert.equal(no('GET', 200, 'text/event-stream'), false);
  // Access and load problems say nothing about the URL, whatever page comes with them.
  for (const status of [401, 403, 429, 502, 503, 504]) assert.equal(no('POST', status, 'text/html'), false);
  // A status that an MCP server may send for a POST it does not take (an SSE-only server): no verdict.
  assert.equal(no('POST', 405, undefined), false);
  assert.equal(no('POST', 400, 'application/json'), false);
});

test('a POST answered 4xx falls back to SSE; after both fail, the first answer is shown', () => {
  const post404 = notMcpEndpoint({ method: 'POST', status: 404, contentType: 'text/html' });
  const post200 = notMcpEndpoint({ method: 'POST', status: 200, contentType: 'text/html' });
  const get200 = notMcpEndpoint({ method: 'GET', status: 200, contentType: 'text/html' });
  assert.equal(shouldFallBackToSse(post404), true);
  assert.equal(shouldFallBackToSse(post200), false);
  assert.equal(errorAfterFallback(post404, get200), post404);
  const sseNeedsAuth = new GatehouseError('UPSTREAM_AUTH_REQUIRED');
  assert.equal(errorAfterFallback(post404, sseNeedsAuth), sseNeedsAuth);
  const other = new GatehouseError('UPSTREAM_HTTP_ERROR', 'HTTP 405');
  assert.equal(errorAfterFallback(other, get200), get200);
});
