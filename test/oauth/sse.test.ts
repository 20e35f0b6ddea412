import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';

import { startAuthServer, type AuthServer } from '../fixtures/oidc-provider.js';
import { startProtectedMcp, type ProtectedMcp } from '../fixtures/protected-mcp.js';
import { connect, consent, createEngine, textOf } from './harness.js';

describe('an SSE upstream behind OAuth', () => {
  let as: AuthServer;
  let mcp: ProtectedMcp;
  before(async () => {
    as = await startAuthServer({ accessTokenTtl: 2 });
    mcp = await startProtectedMcp({ authServer: as, transport: 'sse' });
  });
  after(async () => {
    await mcp.close();
    await as.close();
  });

  test('the SSE GET and the message POSTs carry the token, and a refresh keeps POSTs working', async () => {
    const engine = createEngine({ serverUrl: mcp.url });
    await engine.init();
    // The SDK's SSE transport reports the first 401 as its own SseError; the stage tells what to do.
    await assert.rejects(connect(engine, mcp.url, 'sse'));
    const status = engine.status();
    assert.equal(status.stage, 'awaiting_user');
    assert.ok(status.authorizationUrl);
    assert.equal(new URL(status.authorizationUrl).searchParams.get('resource'), mcp.resource);

    await consent(engine, status.authorizationUrl);
    const client = await connect(engine, mcp.url, 'sse');
    assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { text: 'one' } })), 'echo: one');
    await sleep(2_500); // the access token has expired by now
    assert.equal(textOf(await client.callTool({ name: 'echo', arguments: { text: 'two' } })), 'echo: two');
    assert.ok(as.counts.refreshes >= 1);
    await client.close();
    engine.close();
  });
});
