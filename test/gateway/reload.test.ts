import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import type { GatehouseError } from '../../server/errors.js';
import {
  FAST_TIMEOUTS,
  nextEvent,
  startGateway,
  textOf,
  waitUntil,
  type TestGateway,
} from '../fixtures/gateway.js';
import { startHttpUpstream, type HttpUpstream } from '../fixtures/mcp-upstream.js';

describe('hot reload of mcp_settings.json', () => {
  let stable: HttpUpstream;
  let extra: HttpUpstream;
  let moved: HttpUpstream;
  let gw: TestGateway;
  const base = () => ({
    mcpServers: { stable: { type: 'streamable-http', url: stable.url } } as Record<string, unknown>,
    systemConfig: { timeouts: FAST_TIMEOUTS },
  });

  before(async () => {
    stable = await startHttpUpstream('stable');
    extra = await startHttpUpstream('extra');
    moved = await startHttpUpstream('moved');
    gw = await startGateway(base());
    await gw.waitForServer('stable', (s) => s.status === 'connected', 'connected');
  });
  after(async () => {
    await gw?.close();
    await Promise.all([stable, extra, moved].map((u) => u?.stop()));
  });

  test('adding, changing and removing servers touches only those servers; an open session keeps working', async () => {
    const client = await gw.client();
    let listChanged = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
      listChanged++;
    });
    const stableInits = stable.initializeCount;

    // Add
    const added = base();
    added.mcpServers.extra = { type: 'streamable-http', url: extra.url };
    await gw.writeSettings(added);
    await gw.waitForServer('extra', (s) => s.status === 'connected', 'added and connected');
    await waitUntil(
      async () => (await client.listTools()).tools.some((t) => t.name === 'extra__echo'),
      'extra tools',
    );
    assert.ok(listChanged > 0, 'the open session was told the tool list changed');
    assert.equal(textOf(await client.callTool({ name: 'extra__echo', arguments: { text: 'a' } })), 'extra:a');

    // Change: "extra" now points at another upstream.
    const changed = base();
    changed.mcpServers.extra = { type: 'streamable-http', url: moved.url };
    await gw.writeSettings(changed);
    await waitUntil(
      async () =>
        textOf(
          await client.callTool({ name: 'extra__echo', arguments: { text: 'b' } }).catch(() => ({})),
        ).startsWith('moved:'),
      'extra to reconnect to the new URL',
    );

    // Remove
    await gw.writeSettings(base());
    await waitUntil(async () => !(await gw.servers()).some((s) => s.name === 'extra'), 'extra removed');
    await waitUntil(
      async () => !(await client.listTools()).tools.some((t) => t.name.startsWith('extra__')),
      'tools gone',
    );

    // The untouched upstream never reconnected and the same session still works.
    assert.equal(stable.initializeCount, stableInits);
    assert.equal(
      textOf(await client.callTool({ name: 'stable__echo', arguments: { text: 'c' } })),
      'stable:c',
    );
  });

  test('an invalid edit is rejected and the last good config stays live', async () => {
    const client = await gw.client();
    const rejected = () =>
      nextEvent<GatehouseError>((listener) => gw.store.on('invalid', listener), 'the edit to be rejected');
    const invalid = rejected();
    await writeFile(gw.settingsPath, '{ "mcpServers": { "stable": { "url": "not a url" } } }');
    assert.equal((await invalid).code, 'SETTINGS_INVALID');
    assert.equal(gw.store.current.servers.get('stable')?.type, 'streamable-http');
    assert.equal(
      textOf(await client.callTool({ name: 'stable__echo', arguments: { text: 'd' } })),
      'stable:d',
    );
    const broken = rejected();
    await writeFile(gw.settingsPath, '{ "mcpServers": { broken json');
    assert.equal((await broken).code, 'SETTINGS_INVALID_JSON');
    assert.equal((await gw.servers()).find((s) => s.name === 'stable')?.status, 'connected');

    // A valid edit after them is applied: the watcher is still alive and the bad ones were skipped.
    const restored = base();
    restored.mcpServers.extra = { type: 'streamable-http', url: extra.url };
    await gw.writeSettings(restored);
    await gw.waitForServer('extra', (s) => s.status === 'connected', 'connected after a good edit');
    await gw.writeSettings(base());
    await waitUntil(async () => !(await gw.servers()).some((s) => s.name === 'extra'), 'extra removed again');
  });

  test('a disabled tool is neither listed nor callable, and toggling it does not reconnect', async () => {
    const client = await gw.client();
    const inits = stable.initializeCount;
    const next = base();
    next.mcpServers.stable = {
      type: 'streamable-http',
      url: stable.url,
      tools: { echo: { enabled: false } },
    };
    await gw.writeSettings(next);
    await waitUntil(
      async () => !(await client.listTools()).tools.some((t) => t.name === 'stable__echo'),
      'echo hidden',
    );
    await assert.rejects(
      client.callTool({ name: 'stable__echo', arguments: { text: 'x' } }),
      /tool "stable__echo" is disabled/,
    );
    const status = (await gw.servers()).find((s) => s.name === 'stable')!;
    assert.equal(status.tools.find((t) => t.name === 'echo')?.enabled, false);
    assert.equal(stable.initializeCount, inits, 'no reconnect for a tool filter change');

    await gw.writeSettings(base());
    await waitUntil(
      async () => (await client.listTools()).tools.some((t) => t.name === 'stable__echo'),
      'echo back',
    );
  });

  test('a disabled server is shown as disabled and its calls fail naming it', async () => {
    const client = await gw.client();
    const next = base();
    next.mcpServers.stable = { type: 'streamable-http', url: stable.url, enabled: false };
    await gw.writeSettings(next);
    await gw.waitForServer('stable', (s) => s.status === 'disabled', 'disabled');
    await assert.rejects(
      client.callTool({ name: 'stable__echo', arguments: { text: 'x' } }),
      /server "stable" is disabled/,
    );
    await gw.writeSettings(base());
    await gw.waitForServer('stable', (s) => s.status === 'connected', 'enabled again');
  });
});
