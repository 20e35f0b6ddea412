import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FAST_TIMEOUTS, startGateway, stdioFixture, textOf, waitUntil } from '../fixtures/gateway.js';
import { HttpUpstream, startBlackHole, startHttpUpstream } from '../fixtures/mcp-upstream.js';
import { downPort } from '../fixtures/process.js';

describe('upstreams that are down, crash or hang', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  test('an upstream down at start does not block the others, is shown with its retry time, and connects once up', async () => {
    const good = await startHttpUpstream('good');
    cleanups.push(() => good.stop());
    // Held by this test for its whole length: no other test's server can answer on it meanwhile.
    const port = await downPort();
    cleanups.push(() => port.close());
    const gw = await startGateway({
      mcpServers: {
        good: { type: 'streamable-http', url: good.url },
        late: { type: 'streamable-http', url: port.url('/mcp') },
      },
      // A first retry 1–2 s away: long enough for the call below to find the server in `error`
      // (with 100 ms it was often back in `connecting` already), short enough to see it come up.
      systemConfig: { timeouts: { ...FAST_TIMEOUTS, initialBackoffMs: 2_000, maxBackoffMs: 4_000 } },
    });
    cleanups.push(() => gw.close());
    await gw.waitForServer('good', (s) => s.status === 'connected', 'connected');
    const down = await gw.waitForServer('late', (s) => s.status === 'error', 'error');
    assert.equal(down.error?.code, 'UPSTREAM_CONNECT_FAILED');
    // The held port resets every connection.
    assert.match(down.error?.message ?? '', /ECONNRESET/);
    assert.equal(typeof down.nextRetryAt, 'number');

    const client = await gw.client();
    assert.equal(textOf(await client.callTool({ name: 'good__echo', arguments: { text: 'ok' } })), 'good:ok');
    await assert.rejects(
      client.callTool({ name: 'late__echo', arguments: { text: 'x' } }),
      (error: Error & { data?: { code: string; server: string } }) =>
        /server "late" is unavailable/.test(error.message) && error.data?.server === 'late',
    );

    // The upstream comes up on that port: the backoff loop finds it.
    const late = new HttpUpstream('late');
    await late.start(0);
    cleanups.push(() => late.stop());
    port.forwardTo(Number(new URL(late.url).port));
    await gw.waitForServer('late', (s) => s.status === 'connected', 'connected after coming up');
    assert.equal(textOf(await client.callTool({ name: 'late__echo', arguments: { text: 'up' } })), 'late:up');
  });

  test('an HTTP upstream that crashes comes back by itself', async () => {
    const flaky = await startHttpUpstream('flaky');
    const gw = await startGateway({
      mcpServers: { flaky: { type: 'streamable-http', url: flaky.url } },
      systemConfig: { timeouts: FAST_TIMEOUTS },
    });
    cleanups.push(() => gw.close());
    await gw.waitForServer('flaky', (s) => s.status === 'connected', 'connected');
    await flaky.crash();

    const client = await gw.client();
    // The next call notices the dead upstream.
    await assert.rejects(client.callTool({ name: 'flaky__echo', arguments: { text: 'x' } }));
    await gw.waitForServer('flaky', (s) => s.status === 'error', 'error after crash');
    flaky.revive();
    cleanups.push(() => flaky.stop());
    await gw.waitForServer('flaky', (s) => s.status === 'connected', 'reconnected');
    assert.equal(
      textOf(await client.callTool({ name: 'flaky__echo', arguments: { text: 'again' } })),
      'flaky:again',
    );
  });

  test('a stdio upstream that crashes is restarted', async () => {
    const gw = await startGateway({
      mcpServers: { proc: stdioFixture('proc') },
      systemConfig: { timeouts: FAST_TIMEOUTS },
    });
    cleanups.push(() => gw.close());
    await gw.waitForServer('proc', (s) => s.status === 'connected', 'connected');
    const client = await gw.client();
    const before = JSON.parse(textOf(await client.callTool({ name: 'proc__pids', arguments: {} }))) as {
      pid: number;
    };
    await client.callTool({ name: 'proc__crash', arguments: {} });
    await waitUntil(async () => {
      try {
        const now = JSON.parse(textOf(await client.callTool({ name: 'proc__pids', arguments: {} }))) as {
          pid: number;
        };
        return now.pid !== before.pid;
      } catch {
        return false;
      }
    }, 'a new stdio process answering');
    const status = await gw.waitForServer('proc', (s) => s.status === 'connected', 'connected');
    assert.equal(status.status, 'connected');
  });

  test('a hanging upstream times out without blocking start-up or the other upstreams', async () => {
    const hole = await startBlackHole();
    cleanups.push(() => hole.close());
    const good = await startHttpUpstream('fine');
    cleanups.push(() => good.stop());
    const gw = await startGateway({
      mcpServers: {
        stuck: { type: 'streamable-http', url: hole.url },
        stuckproc: { command: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'] },
        fine: { type: 'streamable-http', url: good.url },
      },
      systemConfig: { timeouts: { ...FAST_TIMEOUTS, connectMs: 800 }, connectConcurrency: 2 },
    });
    cleanups.push(() => gw.close());
    await gw.waitForServer('fine', (s) => s.status === 'connected', 'connected');
    const stuck = await gw.waitForServer('stuck', (s) => s.status === 'error', 'error');
    assert.equal(stuck.error?.code, 'UPSTREAM_TIMEOUT');
    const stuckProc = await gw.waitForServer('stuckproc', (s) => s.status === 'error', 'error');
    assert.equal(stuckProc.error?.code, 'UPSTREAM_TIMEOUT');
    const client = await gw.client();
    assert.equal(textOf(await client.callTool({ name: 'fine__echo', arguments: { text: 'y' } })), 'fine:y');
  });

  test('a request to an upstream that hangs mid-call times out and is cancelled upstream', async () => {
    const upstream = await startHttpUpstream('slowpoke');
    cleanups.push(() => upstream.stop());
    const gw = await startGateway({
      mcpServers: { slowpoke: { type: 'streamable-http', url: upstream.url } },
      systemConfig: { timeouts: { ...FAST_TIMEOUTS, requestMs: 500 } },
    });
    cleanups.push(() => gw.close());
    await gw.waitForServer('slowpoke', (s) => s.status === 'connected', 'connected');
    const client = await gw.client();
    await assert.rejects(client.callTool({ name: 'slowpoke__hang', arguments: {} }), /timed out/i);
    await waitUntil(() => upstream.events.cancelled.length === 1, 'the upstream to see the cancellation');
    // The connection itself is fine.
    assert.equal(
      textOf(await client.callTool({ name: 'slowpoke__echo', arguments: { text: 'z' } })),
      'slowpoke:z',
    );
  });
});
