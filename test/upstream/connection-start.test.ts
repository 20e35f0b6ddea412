/**
 * How an upstream's first moments read (issue 11, items 16 and 18): a stdio program that exits at
 * once says why, and an HTTP upstream whose server starts a moment after the gateway is connected
 * without an error (and without a warning) in between.
 */
import assert from 'node:assert/strict';
import { createServer as createNetServer } from 'node:net';
import { after, describe, test } from 'node:test';

import type { ConnectionState } from '../../server/upstream/state.js';
import {
  FAST_TIMEOUTS,
  startGateway,
  stdioFixture,
  waitUntil,
  type TestGateway,
} from '../fixtures/gateway.js';
import { HttpUpstream } from '../fixtures/mcp-upstream.js';

/**
 * A port nothing listens on, on a loopback address of its own (127.77.0.1): other tests bind
 * 127.0.0.1, so nobody takes this port before the test binds it itself.
 */
async function quietPort(host: string): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('the first moments of an upstream', () => {
  const closers: Array<() => Promise<void>> = [];
  let gw: TestGateway | undefined;
  after(async () => {
    await gw?.close();
    for (const close of closers.reverse()) await close();
  });

  test('a stdio program that exits at once: the error carries its last stderr lines', async () => {
    gw = await startGateway({
      mcpServers: {
        broken: {
          command: process.execPath,
          args: ['-e', "console.error('Error: Cannot find module /nowhere/server.js'); process.exit(1)"],
        },
      },
      systemConfig: { timeouts: FAST_TIMEOUTS },
    });
    const status = await gw.waitForServer('broken', (s) => s.status === 'error', 'error');
    assert.equal(status.error?.code, 'UPSTREAM_CLOSED');
    assert.match(status.error?.message ?? '', /Cannot find module \/nowhere\/server\.js/);
    await gw.close();
    gw = undefined;
  });

  test('a stdio program that dies later: the error carries what it wrote since it started', async () => {
    gw = await startGateway({
      mcpServers: { crashy: stdioFixture('crashy') },
      systemConfig: { timeouts: { ...FAST_TIMEOUTS, initialBackoffMs: 5_000, maxBackoffMs: 10_000 } },
    });
    await gw.waitForServer('crashy', (s) => s.status === 'connected', 'connected');
    const client = await gw.client();
    await client.callTool({ name: 'crashy__crash', arguments: {} });
    const status = await gw.waitForServer('crashy', (s) => s.status === 'error', 'error');
    assert.equal(status.error?.code, 'UPSTREAM_CLOSED');
    assert.match(status.error?.message ?? '', /fixture crashy is crashing on purpose/);
    await gw.close();
    gw = undefined;
  });

  test('an HTTP server that starts a moment after the gateway is connected without an error first', async () => {
    const host = '127.77.0.1';
    const port = await quietPort(host);
    gw = await startGateway(
      {
        mcpServers: { late: { type: 'streamable-http', url: `http://${host}:${port}/mcp` } },
        systemConfig: { timeouts: FAST_TIMEOUTS },
      },
      { startupGraceMs: 5_000 },
    );
    const states: ConnectionState['status'][] = [];
    gw.manager.on((event) => {
      if (event.type === 'state' && event.server === 'late') states.push(event.state.status);
    });
    // A quiet retry after a refused attempt shows as `connecting` again: wait for one.
    await waitUntil(() => states.length > 0, 'a retry after a refused attempt');
    const upstream = await new HttpUpstream('late').start(port, host);
    closers.push(() => upstream.stop());
    await gw.waitForServer('late', (s) => s.status === 'connected', 'connected');
    assert.ok(!states.includes('error'), `states: ${states.join(' → ')}`);
  });
});
