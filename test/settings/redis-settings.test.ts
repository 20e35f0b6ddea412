/**
 * The settings document in Redis (issue 15): three gateways in this process (A, B, C), each over
 * its own settings file with the same text, share `systemConfig.store: { type: "redis" }` on a
 * real redis-server. C reaches Redis through a Unix-socket relay the test can cut, to play one
 * replica losing its connection while the others keep theirs. Upstreams are real SDK servers.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createClient } from '@redis/client';
import type { GatehouseError } from '../../server/errors.js';
import type { SettingsChange } from '../../server/settings/store.js';
import { callApi } from '../api/admin-session-client.js';
import { FAST_TIMEOUTS, nextEvent, startGateway, waitUntil, type TestGateway } from '../fixtures/gateway.js';
import { startHttpUpstream, type HttpUpstream } from '../fixtures/mcp-upstream.js';
import { startRedis, type TestRedis } from '../fixtures/redis.js';

/** A relay in front of Redis's socket that can drop its connections and refuse new ones. */
interface Relay {
  url: string;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

async function startRelay(target: string): Promise<Relay> {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-relay-'));
  const path = join(dir, 'relay.sock');
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const listen = async () => {
    await rm(path, { force: true });
    const next = createServer((client) => {
      const upstream = createConnection(target);
      const drop = () => {
        for (const s of [client, upstream]) {
          s.destroy();
          sockets.delete(s);
        }
      };
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('error', drop).on('close', drop);
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => next.listen(path, resolve));
    server = next;
  };
  const cut = async () => {
    const current = server;
    server = undefined;
    if (!current) return;
    const closed = new Promise((resolve) => current.close(resolve));
    for (const s of sockets) s.destroy();
    sockets.clear();
    await closed;
  };
  await listen();
  return {
    url: `unix://${path}`,
    cut,
    restore: listen,
    close: async () => {
      await cut();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

describe('the settings document in Redis, shared by three replicas', () => {
  let redis: TestRedis;
  let relay: Relay;
  let one: HttpUpstream;
  let two: HttpUpstream;
  let a: TestGateway;
  let b: TestGateway;
  let c: TestGateway;
  let peek: ReturnType<typeof createClient>;
  const gateways: TestGateway[] = [];
  const settings = () => ({
    mcpServers: { one: { type: 'streamable-http', url: one.url } },
    systemConfig: { timeouts: FAST_TIMEOUTS, store: { type: 'redis', url: '${GH_TEST_REDIS}' } },
  });
  const start = async (doc: object, redisUrl: string) => {
    const gw = await startGateway(doc, { env: { ...process.env, GH_TEST_REDIS: redisUrl } });
    gateways.push(gw);
    return gw;
  };
  const has = (gw: TestGateway, name: string) => gw.store.current.servers.has(name);
  const connected = (gw: TestGateway, name: string) =>
    gw.waitForServer(name, (s) => s.status === 'connected', `${name} connected`);
  const readyz = async (gw: TestGateway) => (await fetch(`${gw.base}/readyz`)).status;
  const fileState = async (gw: TestGateway) => {
    const { ino, mtimeMs } = await stat(gw.settingsPath);
    return { ino, mtimeMs, text: await readFile(gw.settingsPath, 'utf8') };
  };

  before(async () => {
    redis = await startRedis();
    relay = await startRelay(redis.socket);
    [one, two] = await Promise.all([startHttpUpstream('one'), startHttpUpstream('two')]);
    // Started together: the file is imported once (version 1), whoever comes first.
    [a, b, c] = await Promise.all([
      start(settings(), redis.url),
      start(settings(), redis.url),
      start(settings(), relay.url),
    ]);
    for (const gw of [a, b, c]) await connected(gw, 'one');
    peek = createClient({ socket: { path: redis.socket, reconnectStrategy: false } });
    peek.on('error', () => undefined);
    await peek.connect();
  });
  after(async () => {
    if (peek?.isOpen) peek.destroy();
    for (const gw of gateways) await gw.close();
    await Promise.all([one?.stop(), two?.stop()]);
    await relay?.close();
    await redis?.close();
  });

  test('the file is imported once as version 1; a dashboard edit on B reaches A and C, only the added server connects', async () => {
    assert.deepEqual(await peek.hGetAll('gatehouse:settings'), {
      text: JSON.stringify(settings(), null, 2),
      version: '1',
    });
    const oneSince = (await connected(a, 'one')).connectedSince;
    const onA = nextEvent<SettingsChange>(
      (listener) => a.store.on('change', listener),
      'A to apply the edit',
    );
    const onB: SettingsChange[] = [];
    const unsubscribe = b.store.on('change', (change) => void onB.push(change));
    const added = await callApi(b, 'POST', '/api/servers', {
      name: 'two',
      entry: { type: 'streamable-http', url: two.url },
    });
    assert.equal(added.status, 201);
    assert.deepEqual((await onA).diff.added, ['two']);
    await connected(a, 'two');
    await connected(c, 'two');
    assert.equal((await connected(a, 'one')).connectedSince, oneSince, 'one did not reconnect on A');
    assert.equal(await peek.hGet('gatehouse:settings', 'version'), '2');
    unsubscribe();
    assert.equal(onB.length, 1, 'B applied its own write once, not again when it was announced');
  });

  test('concurrent edits on A and B of different servers all survive (compare-and-set, then retry)', async () => {
    const addMany = async (gw: TestGateway, prefix: string) => {
      for (let i = 0; i < 6; i++) {
        const answer = await callApi(gw, 'POST', '/api/servers', {
          name: `${prefix}${i}`,
          entry: { type: 'streamable-http', url: one.url, enabled: false },
        });
        assert.equal(answer.status, 201, JSON.stringify(answer.error));
      }
    };
    await Promise.all([addMany(a, 'from-a-'), addMany(b, 'from-b-')]);
    const names = ['a', 'b'].flatMap((p) => [0, 1, 2, 3, 4, 5].map((i) => `from-${p}-${i}`));
    for (const gw of [a, b, c]) {
      await waitUntil(() => names.every((n) => has(gw, n)), 'every added server on every replica');
    }
    const stored = JSON.parse((await peek.hGet('gatehouse:settings', 'text')) ?? '{}') as {
      mcpServers: Record<string, unknown>;
    };
    for (const n of names) assert.ok(stored.mcpServers[n], `${n} is in Redis's document`);
  });

  test('a new replica with a different file uses the document in Redis, and never writes its file', async () => {
    const other = { mcpServers: { elsewhere: { type: 'streamable-http', url: two.url } } };
    const d = await start(
      { ...other, systemConfig: { store: { type: 'redis', url: '${GH_TEST_REDIS}' } } },
      redis.url,
    );
    assert.ok(has(d, 'two') && has(d, 'from-a-0'));
    assert.equal(has(d, 'elsewhere'), false);
    const raw = await callApi<{ text: string }>(d, 'GET', '/api/settings/raw');
    assert.equal(raw.status, 200);
    assert.match(raw.body.text, /"from-b-5"/, 'the raw editor shows (exports) the live document');
    assert.doesNotMatch(raw.body.text, /elsewhere/);

    const before = await fileState(d);
    const edited = await callApi(d, 'PATCH', '/api/servers/two', { enabled: false });
    assert.equal(edited.status, 204);
    for (const gw of [a, b, c]) {
      await waitUntil(
        () => gw.store.current.servers.get('two')?.enabled === false,
        'two disabled everywhere',
      );
    }
    assert.deepEqual(await fileState(d), before, 'the file is untouched');
    assert.equal((await callApi(b, 'PATCH', '/api/servers/two', { enabled: true })).status, 204);
    await connected(a, 'two');
  });

  test('a document in Redis that does not load is rejected on every replica; the last good settings stay', async () => {
    const good = (await peek.hGet('gatehouse:settings', 'text')) ?? '';
    const write = async (text: string) => {
      const version = String(Number(await peek.hGet('gatehouse:settings', 'version')) + 1);
      await peek.hSet('gatehouse:settings', { text, version });
      await peek.publish('gatehouse:settings-changes', version);
    };
    const rejected = nextEvent<GatehouseError>(
      (listener) => c.store.on('invalid', listener),
      'C to reject it',
    );
    await write('{ "mcpServers": { "broken": { "url": 5 } } }');
    assert.equal((await rejected).code, 'SETTINGS_INVALID');
    for (const gw of [a, b, c]) {
      await waitUntil(() => !gw.store.status().valid, 'the rejection in the status');
      assert.ok(has(gw, 'two') && !has(gw, 'broken'));
    }
    await write(good);
    for (const gw of [a, b, c]) await waitUntil(() => gw.store.status().valid, 'valid again');
  });

  test('C cut off from Redis: its edit fails with STORE_UNAVAILABLE; a version published meanwhile is applied once it reconnects', async () => {
    await relay.cut();
    await waitUntil(async () => (await readyz(c)) === 503, 'C to notice');
    const refused = await callApi(c, 'POST', '/api/servers', {
      name: 'from-c',
      entry: { type: 'streamable-http', url: one.url },
    });
    assert.equal(refused.status, 503);
    assert.equal(refused.error?.code, 'STORE_UNAVAILABLE');
    assert.equal(has(c, 'from-c'), false);
    assert.ok(has(c, 'two'), 'the live settings stay');

    const added = await callApi(a, 'POST', '/api/servers', {
      name: 'while-away',
      entry: { type: 'streamable-http', url: one.url, enabled: false },
    });
    assert.equal(added.status, 201);
    await waitUntil(() => has(b, 'while-away'), 'B to apply it');
    await relay.restore();
    await waitUntil(() => has(c, 'while-away'), 'C to re-read what it missed');
  });

  test('Redis down: edits fail with STORE_UNAVAILABLE and nothing changes; Redis back (empty): edits work and reach every replica', async () => {
    peek.destroy();
    await redis.stop();
    await waitUntil(async () => (await readyz(b)) === 503, 'B to notice');
    const refused = await callApi(b, 'PATCH', '/api/servers/two', { enabled: false });
    assert.equal(refused.status, 503);
    assert.equal(refused.error?.code, 'STORE_UNAVAILABLE');
    assert.equal(b.store.current.servers.get('two')?.enabled, true);

    await redis.start();
    for (const gw of [a, b, c]) await waitUntil(async () => (await readyz(gw)) === 200, 'ready again');
    // Redis restarted without persistence: the document is written back from a replica's live one.
    const after = await callApi(b, 'POST', '/api/servers', {
      name: 'after-outage',
      entry: { type: 'streamable-http', url: one.url, enabled: false },
    });
    assert.equal(after.status, 201, JSON.stringify(after.error));
    for (const gw of [a, c]) {
      await waitUntil(() => has(gw, 'after-outage') && has(gw, 'while-away'), 'the edit everywhere');
    }
  });
});
