/**
 * Health and shutdown for load balancers (issue 15): `/healthz` (liveness) and `/readyz`
 * (readiness; public, see public-routes.test.ts); draining refuses new MCP requests while the calls
 * in flight finish.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { initializeStatus, startGateway, textOf, type TestGateway } from '../fixtures/gateway.js';
import { startHttpUpstream, type HttpUpstream } from '../fixtures/mcp-upstream.js';

describe('health and draining', () => {
  let upstream: HttpUpstream;
  let gw: TestGateway;
  let client: Client;

  before(async () => {
    upstream = await startHttpUpstream('slowpoke');
    gw = await startGateway({ mcpServers: { slowpoke: { type: 'streamable-http', url: upstream.url } } });
    await gw.waitForServer('slowpoke', (s) => s.status === 'connected');
    client = await gw.client();
  });
  after(async () => {
    await gw?.close();
    await upstream?.stop();
  });

  test('/healthz says the process answers; /readyz says it is ready and why', async () => {
    const live = await fetch(`${gw.base}/healthz`);
    assert.equal(live.status, 200);
    assert.deepEqual(await live.json(), { status: 'ok' });
    const ready = await fetch(`${gw.base}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), {
      ready: true,
      checks: { settings: 'ok', store: 'ok', shutdown: 'no' },
    });
  });

  test('draining: not ready, new MCP requests refused with 503, the call in flight finishes', async () => {
    let progressed: () => void = () => undefined;
    const first = new Promise<void>((resolve) => (progressed = resolve));
    const call = client.callTool(
      { name: 'slowpoke__slow', arguments: { steps: 4, delayMs: 100 } },
      undefined,
      {
        onprogress: () => progressed(),
      },
    );
    await first;
    const drained = gw.gateway.drain(60_000);
    const ready = await fetch(`${gw.base}/readyz`);
    assert.equal(ready.status, 503);
    assert.equal(((await ready.json()) as { checks: { shutdown: string } }).checks.shutdown, 'draining');
    assert.equal(await initializeStatus(`${gw.base}/mcp`), 503);
    assert.equal(textOf(await call), 'done 4');
    assert.equal(await drained, 0, 'nothing was left running');
  });
});
