import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { startAuthServer, type AuthServer } from '../fixtures/oidc-provider.js';
import { startProtectedMcp, type ProtectedMcp } from '../fixtures/protected-mcp.js';
import { authorizeOnFirstContact, createEngine } from './harness.js';
import { startTinyServer, type TinyServer } from './tiny-server.js';

const initialize = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
};
const mcpHeaders = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/** Authorizes, uses the token once, then has the resource server reject it from now on. */
async function authorizedThenRejected(engine: ReturnType<typeof createEngine>, mcp: ProtectedMcp) {
  await engine.init();
  await authorizeOnFirstContact(engine, mcp.url);
  const first = await engine.fetch(mcp.url, {
    method: 'POST',
    headers: mcpHeaders,
    body: JSON.stringify(initialize),
  });
  assert.equal(first.status, 200);
  await first.body?.cancel();
  mcp.revokeSeenTokens();
}

describe('engine.fetch', () => {
  let as: AuthServer;
  let mcp: ProtectedMcp;
  let open: TinyServer;
  before(async () => {
    as = await startAuthServer();
    mcp = await startProtectedMcp({ authServer: as });
    open = await startTinyServer(() => ({
      '/mcp': (req, res) =>
        void res.writeHead(200, { 'x-had-authorization': String(!!req.headers.authorization) }).end('{}'),
      '/slow': () => undefined, // never answers
    }));
  });
  after(async () => {
    await open.close();
    await mcp.close();
    await as.close();
  });

  test('an upstream that needs no auth gets the request unchanged', async () => {
    const engine = createEngine({ serverUrl: `${open.origin}/mcp` });
    await engine.init();
    const response = await engine.fetch(`${open.origin}/mcp`, { method: 'POST', body: '{}' });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-had-authorization'), 'false');
    assert.equal(engine.stage.kind, 'unauthenticated');
    engine.close();
  });

  test("the caller's AbortSignal reaches the upstream request", async () => {
    const engine = createEngine({ serverUrl: `${open.origin}/slow` });
    const controller = new AbortController();
    const pending = engine.fetch(`${open.origin}/slow`, { signal: controller.signal });
    controller.abort();
    await assert.rejects(pending, { name: 'AbortError' });
    engine.close();
  });

  test('a rejected token is refreshed and a Request with a body is sent again', async () => {
    const engine = createEngine({ serverUrl: mcp.url });
    await authorizedThenRejected(engine, mcp);
    const refreshes = as.counts.refreshes;
    const request = new Request(mcp.url, {
      method: 'POST',
      headers: mcpHeaders,
      body: JSON.stringify(initialize),
    });
    const response = await engine.fetch(request);
    assert.equal(response.status, 200);
    assert.match(await response.text(), /"protocolVersion"/);
    assert.equal(as.counts.refreshes, refreshes + 1);
    assert.equal(engine.stage.kind, 'authorized');
    engine.close();
  });

  test('a stream body is buffered so the retry can send it again', async () => {
    const engine = createEngine({ serverUrl: mcp.url });
    await authorizedThenRejected(engine, mcp);
    const refreshes = as.counts.refreshes;
    const body = new Blob([JSON.stringify(initialize)]).stream();
    const response = await engine.fetch(mcp.url, {
      method: 'POST',
      headers: mcpHeaders,
      body,
      duplex: 'half',
    } as RequestInit);
    assert.equal(response.status, 200);
    await response.body?.cancel();
    assert.equal(as.counts.refreshes, refreshes + 1);
    engine.close();
  });
});
