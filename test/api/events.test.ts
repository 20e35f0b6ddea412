/**
 * GET /api/events read by a real SSE client: the server list first, then one `server` event per
 * changed server (state, lists, settings), `removed`, and `settings` for applied and rejected
 * edits; coalescing, pings, cleanup when the page goes, and a clean end on shutdown.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import Fastify from 'fastify';
import { eventsRoutes, type LiveChange } from '../../server/api/events-routes.js';
import type { ServerStatus } from '../../server/api/status.js';
import type { SettingsStatus } from '../../server/settings/status.js';
import {
  ADMIN_TOKEN,
  FAST_TIMEOUTS,
  startGateway,
  waitUntil,
  type TestGateway,
} from '../fixtures/gateway.js';
import { startHttpUpstream, type HttpUpstream } from '../fixtures/mcp-upstream.js';
import { signIn } from './admin-session-client.js';
import { openEventStream, type SseEvent, type SseReader } from './sse-client.js';

const bearer = { authorization: `Bearer ${ADMIN_TOKEN}` };
const isServer = (name: string, predicate: (s: ServerStatus) => boolean) => (event: SseEvent) =>
  event.event === 'server' &&
  (event.data as ServerStatus).name === name &&
  predicate(event.data as ServerStatus);

describe('the event stream of a real gateway', () => {
  let a: HttpUpstream;
  let b: HttpUpstream;
  let gw: TestGateway;
  let stream: SseReader;
  const settings = (extra: Record<string, unknown> = {}) => ({
    mcpServers: {
      a: { type: 'streamable-http', url: a.url },
      b: { type: 'streamable-http', url: b.url },
      ...extra,
    },
    systemConfig: { timeouts: FAST_TIMEOUTS },
  });

  before(async () => {
    a = await startHttpUpstream('a');
    b = await startHttpUpstream('b');
    gw = await startGateway(settings());
    await gw.waitForServer('a', (s) => s.status === 'connected', 'a connected');
    await gw.waitForServer('b', (s) => s.status === 'connected', 'b connected');
    stream = await openEventStream(`${gw.base}/api/events`, bearer);
  });
  after(async () => {
    stream?.close();
    await gw?.close();
    await a?.stop();
    await b?.stop();
  });

  test('it is an event stream that starts with the whole server list, as GET /api/servers gives it', async () => {
    assert.equal(stream.response.status, 200);
    assert.match(stream.response.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(stream.response.headers.get('cache-control'), 'no-store');
    const first = await stream.next(() => true, 'the first event');
    assert.equal(first.event, 'servers');
    assert.deepEqual(first.data, await gw.servers());
  });

  test('a server whose tool list changes is sent on its own', async () => {
    b.addTool('fresh');
    const event = await stream.next(
      isServer('b', (s) => s.tools.some((t) => t.name === 'fresh')),
      'b with its new tool',
    );
    assert.equal((event.data as ServerStatus).status, 'connected');
  });

  test('a hand edit that disables a server: `settings`, then the server as disabled', async () => {
    await gw.writeSettings(settings({ a: { type: 'streamable-http', url: a.url, enabled: false } }));
    const applied = await stream.next((e) => e.event === 'settings', 'the settings event');
    assert.equal((applied.data as SettingsStatus).valid, true);
    await stream.next(
      isServer('a', (s) => s.status === 'disabled' && s.enabled === false),
      'a disabled',
    );
  });

  test('a rejected edit is sent as `settings` with the problem; the fix clears it', async () => {
    await writeFile(gw.settingsPath, '{ "mcpServers": { "a": { "url": 5 } } }');
    const rejected = await stream.next(
      (e) => e.event === 'settings' && (e.data as SettingsStatus).valid === false,
      'the rejection',
    );
    const status = rejected.data as SettingsStatus;
    assert.equal(status.rejected?.code, 'SETTINGS_INVALID');
    assert.deepEqual(status.rejected?.problems[0]?.path, 'mcpServers.a.url');
    assert.deepEqual(status, (await (await gw.api('/api/settings/status')).json()) as SettingsStatus);
    await gw.writeSettings(settings({ a: { type: 'streamable-http', url: a.url, enabled: false } }));
    await stream.next(
      (e) => e.event === 'settings' && (e.data as SettingsStatus).valid === true,
      'valid again',
    );
  });

  test('a removed server is sent as `removed`', async () => {
    await gw.writeSettings({
      mcpServers: { a: { type: 'streamable-http', url: a.url, enabled: false } },
      systemConfig: { timeouts: FAST_TIMEOUTS },
    });
    const removed = await stream.next((e) => e.event === 'removed', 'the removal');
    assert.deepEqual(removed.data, { name: 'b' });
  });

  test('the session cookie opens the stream too', async () => {
    const tab = await signIn(gw.base);
    const own = await openEventStream(`${gw.base}/api/events`, { cookie: tab.cookie });
    try {
      assert.equal(own.response.status, 200);
      assert.equal((await own.next(() => true, 'the list')).event, 'servers');
    } finally {
      own.close();
    }
    const none = await openEventStream(`${gw.base}/api/events`, {});
    assert.equal(none.response.status, 401);
  });

  test('shutdown ends every open stream cleanly, without holding up app.close()', async () => {
    const other = await openEventStream(`${gw.base}/api/events`, bearer);
    await other.next((e) => e.event === 'servers', 'the list');
    await gw.close();
    await other.ended; // rejects if the connection was cut instead of ended
    await stream.ended;
  });
});

describe('the event stream route on its own', () => {
  const summaries = new Map<string, ServerStatus>();
  const listeners = new Set<(change: LiveChange) => void>();
  const app = Fastify({ forceCloseConnections: true });
  let base: string;
  const summary = (name: string, status: ServerStatus['status']): ServerStatus =>
    ({ name, type: 'stdio', enabled: true, status, tools: [] }) as unknown as ServerStatus;
  const fire = (change: LiveChange) => listeners.forEach((listener) => listener(change));

  before(async () => {
    await app.register(eventsRoutes, {
      summaries: { list: async () => [...summaries.values()], one: async (name) => summaries.get(name) },
      settingsStatus: () => ({ file: 'f', valid: true, warnings: [] }),
      subscribe: (listener) => {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      pingMs: 20,
    });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(() => app.close());

  test('changes made together go out once per server, with the state at sending time', async () => {
    summaries.set('x', summary('x', 'connecting'));
    const stream = await openEventStream(`${base}/api/events`, {});
    try {
      await stream.next((e) => e.event === 'servers', 'the list');
      for (const status of ['connecting', 'error', 'connecting', 'connected'] as const) {
        summaries.set('x', summary('x', status));
        fire({ kind: 'server', name: 'x' });
        fire({ kind: 'settings' });
      }
      await stream.next((e) => e.event === 'server', 'x');
      fire({ kind: 'server', name: 'gone' }); // not in the summaries: removed
      await stream.next((e) => e.event === 'removed', 'the removal');
      assert.deepEqual(
        stream.events.map((e) => [e.event, (e.data as { name?: string; status?: string }).status ?? null]),
        [
          ['servers', null],
          ['settings', null],
          ['server', 'connected'],
          ['removed', null],
        ],
      );
    } finally {
      stream.close();
    }
  });

  test('a ping comment keeps an idle stream open', async () => {
    const stream = await openEventStream(`${base}/api/events`, {});
    try {
      await stream.comment('ping');
    } finally {
      stream.close();
    }
  });

  test('a page that goes away unsubscribes', async () => {
    await waitUntil(() => listeners.size === 0, 'the earlier streams to unsubscribe');
    const stream = await openEventStream(`${base}/api/events`, {});
    await stream.next((e) => e.event === 'servers', 'the list');
    assert.equal(listeners.size, 1);
    stream.close();
    await waitUntil(() => listeners.size === 0, 'the stream to unsubscribe');
  });
});
