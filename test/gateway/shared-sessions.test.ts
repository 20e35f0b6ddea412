/**
 * Inbound MCP sessions any replica can serve (issue 15): two gateways in this process on one real
 * redis-server, an SDK client whose requests go to whichever replica the test names (a load
 * balancer without stickiness), a real upstream. A session opened on one replica is rebuilt on the
 * other from its record in Redis, knows the client's capabilities there, refuses another person,
 * ends everywhere on a DELETE anywhere, and outlives the replica that opened it. Without Redis,
 * nothing is written to `mcp-sessions`.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createClient } from '@redis/client';
import { ElicitRequestSchema, type ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { silentLogger } from '../../server/log.js';
import { SESSIONS_COLLECTION } from '../../server/gateway/shared-sessions.js';
import { SecretBox } from '../../server/settings/secrets.js';
import { RedisStateStore, redisClientOptions } from '../../server/settings/redis-state.js';
import { STATE_FILE } from '../../server/settings/state-store.js';
import {
  FAST_TIMEOUTS,
  initializeWith,
  startGateway,
  textOf,
  waitUntil,
  type TestGateway,
} from '../fixtures/gateway.js';
import { startHttpUpstream, type HttpUpstream } from '../fixtures/mcp-upstream.js';
import { startRedis, type TestRedis } from '../fixtures/redis.js';

const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

let nextRequestId = 1;

/** A tools/list on a session, sent straight to one replica with a credential; returns the status and body. */
async function listOn(
  gw: TestGateway,
  sessionId: string,
  secret?: string,
): Promise<{ status: number; body: { error?: { data?: { code?: string } } } }> {
  const response = await fetch(`${gw.base}/mcp`, {
    method: 'POST',
    headers: {
      ...MCP_HEADERS,
      ...(secret === undefined ? {} : { authorization: `Bearer ${secret}` }),
      'mcp-session-id': sessionId,
      'mcp-protocol-version': '2025-06-18',
    },
    // Requests in flight together on one session need ids of their own (JSON-RPC).
    body: JSON.stringify({ jsonrpc: '2.0', id: nextRequestId++, method: 'tools/list' }),
  });
  return {
    status: response.status,
    body: (await response.json()) as { error?: { data?: { code?: string } } },
  };
}

/** Opens a session on one replica with a raw initialize; returns its id. */
async function openOn(gw: TestGateway, secret: string): Promise<string> {
  const response = await initializeWith(`${gw.base}/mcp`, secret);
  assert.equal(response.status, 200);
  await response.text();
  const id = response.headers.get('mcp-session-id');
  assert.ok(id);
  return id;
}

describe('inbound MCP sessions served by any replica (Redis)', () => {
  let redis: TestRedis;
  let upstream: HttpUpstream;
  let a: TestGateway;
  let b: TestGateway;
  let settings: object;
  let alice: string;
  let bob: string;
  /** Where the routed clients' next request goes, and which replica served each request. */
  let target: () => TestGateway;
  const served: Array<{ replica: TestGateway; method: string }> = [];
  const clients: Client[] = [];

  before(async () => {
    redis = await startRedis();
    upstream = await startHttpUpstream('asker');
    settings = {
      mcpServers: { asker: { type: 'streamable-http', url: upstream.url } },
      systemConfig: {
        inboundAuth: {},
        store: { type: 'redis', url: redis.url },
        timeouts: FAST_TIMEOUTS,
      },
    };
    a = await startGateway(settings);
    b = await startGateway(settings);
    target = () => a;
    for (const gw of [a, b]) await gw.waitForServer('asker', (s) => s.status === 'connected', 'connected');
    alice = await createKey(a, 'alice');
    bob = await createKey(a, 'bob');
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await a?.close();
    await b?.close();
    await upstream?.stop();
    await redis?.close();
  });

  async function createKey(gw: TestGateway, user: string): Promise<string> {
    const response = await gw.api('/api/keys', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: `${user}'s agent`, scopes: ['mcp:all'], user }),
    });
    assert.equal(response.status, 201);
    return ((await response.json()) as { secret: string }).secret;
  }

  /** An SDK client (as `secret`) whose every request goes to `target()`: no stickiness. */
  async function routedClient(
    secret: string,
    capabilities: ClientCapabilities = {},
  ): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
    const client = new Client({ name: 'routed', version: '2.0.0' }, { capabilities });
    const transport = new StreamableHTTPClientTransport(new URL(`${a.base}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${secret}` } },
      fetch: (url, init) => {
        const replica = target();
        served.push({ replica, method: init?.method ?? 'GET' });
        const routed = new URL(url);
        routed.host = new URL(replica.base).host;
        return fetch(routed, init);
      },
    });
    await client.connect(transport);
    clients.push(client);
    return { client, transport };
  }

  test('a session opened on A lists and calls tools on B, then on A again, with the same id', async () => {
    target = () => a;
    const { client, transport } = await routedClient(alice);
    const id = transport.sessionId;
    assert.ok(id);

    target = () => b;
    const tools = await client.listTools();
    assert.ok(tools.tools.some((t) => t.name === 'asker__echo'));
    assert.equal(
      textOf(await client.callTool({ name: 'asker__echo', arguments: { text: 'on b' } })),
      'asker:on b',
    );
    assert.ok(served.some((s) => s.replica === b && s.method === 'POST'));

    target = () => a;
    assert.equal(
      textOf(await client.callTool({ name: 'asker__echo', arguments: { text: 'on a' } })),
      'asker:on a',
    );
    assert.equal(transport.sessionId, id);
  });

  test('the record in Redis holds the path, the person and the client hello, not the credential', async () => {
    const id = await openOn(a, alice);
    const reader = await RedisStateStore.open({
      url: redis.url,
      secrets: new SecretBox({ key: Buffer.alloc(32, 7) }),
      logger: silentLogger,
    });
    try {
      const record = await reader.get(SESSIONS_COLLECTION, id);
      assert.deepEqual(record, {
        kind: 'streamable',
        scopeName: '',
        principal: { kind: 'key', subject: 'alice' },
        initialize: {
          protocolVersion: '2025-06-18',
          capabilities: {},
          clientInfo: { name: 'raw', version: '1' },
        },
      });
      assert.ok(!JSON.stringify(record).includes(alice.slice(-12)));
    } finally {
      await reader.close();
    }
  });

  test('the session rebuilt on B knows the client’s capabilities (an upstream’s elicitation reaches it)', async () => {
    target = () => a;
    const { client } = await routedClient(alice, { elicitation: {} });
    client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { ok: true } }));
    target = () => b;
    const before = served.length;
    const result = await client.callTool({ name: 'asker__confirm', arguments: {} });
    assert.equal(textOf(result), 'accept:{"ok":true}');
    assert.ok(served.slice(before).every((s) => s.replica === b));
  });

  test('another person presenting the session id on B is refused; its owner is served', async () => {
    const id = await openOn(a, alice);
    const refused = await listOn(b, id, bob);
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error?.data?.code, 'INBOUND_SESSION_MISMATCH');
    assert.equal((await listOn(b, id, alice)).status, 200);
  });

  test('concurrent first requests on B build one copy from one read of the record', async () => {
    const id = await openOn(a, alice);
    const redisClient = createClient(redisClientOptions(redis.url));
    await redisClient.connect();
    try {
      const copies = b.gateway.sessionCount;
      await redisClient.sendCommand(['CONFIG', 'RESETSTAT']);
      const answers = await Promise.all(Array.from({ length: 6 }, () => listOn(b, id, alice)));
      assert.deepEqual(
        answers.map((r) => r.status),
        Array.from({ length: 6 }, () => 200),
      );
      assert.equal(b.gateway.sessionCount, copies + 1);
      const stats = await redisClient.sendCommand(['INFO', 'commandstats']);
      assert.match(String(stats), /cmdstat_hget:calls=1,/);
    } finally {
      await redisClient.close();
    }
  });

  test('DELETE through B ends the session on A too', async () => {
    target = () => a;
    const { client, transport } = await routedClient(alice);
    const id = transport.sessionId!;
    target = () => b;
    await client.listTools();
    assert.equal((await listOn(a, id, alice)).status, 200, 'A holds its copy');
    await transport.terminateSession();
    // A's copy closes when it hears the record removed; until then A would still answer 200.
    await waitUntil(async () => (await listOn(a, id, alice)).status === 404, 'A to forget the session');
    assert.equal((await listOn(b, id, alice)).status, 404);
  });

  test('a session outlives the replica that opened it: a new A on the same Redis serves it', async () => {
    target = () => a;
    const { client, transport } = await routedClient(alice);
    const id = transport.sessionId;
    target = () => b;
    await a.close();
    a = await startGateway(settings);
    await a.waitForServer('asker', (s) => s.status === 'connected', 'connected');
    target = () => a;
    const before = served.length;
    assert.equal(
      textOf(await client.callTool({ name: 'asker__echo', arguments: { text: 'again' } })),
      'asker:again',
    );
    assert.ok(served.slice(before).some((s) => s.replica === a && s.method === 'POST'));
    assert.equal(transport.sessionId, id);
  });

  // Last: a stopped redis-server comes back empty (no persistence), keys and sessions gone.
  test('Redis down: a held session goes on, a rebuild is refused 503 STORE_UNAVAILABLE, initialize works', async () => {
    const held = await openOn(a, alice);
    assert.equal((await listOn(b, held, alice)).status, 200, 'B holds a copy too');
    const onlyOnA = await openOn(a, alice);
    await redis.stop();
    try {
      assert.equal((await listOn(a, held, alice)).status, 200);
      assert.equal((await listOn(b, held, alice)).status, 200);
      const refused = await listOn(b, onlyOnA, alice);
      assert.equal(refused.status, 503);
      assert.equal(refused.body.error?.data?.code, 'STORE_UNAVAILABLE');
      // The record cannot be written: the session works here, it just cannot move.
      const local = await openOn(a, alice);
      assert.equal((await listOn(a, local, alice)).status, 200);
    } finally {
      await redis.start();
    }
  });
});

describe('a shared session’s record lives as long as the session is used (Redis)', () => {
  const IDLE_MS = 2_000;
  let redis: TestRedis;
  let a: TestGateway;
  let b: TestGateway;

  before(async () => {
    redis = await startRedis();
    const settings = { mcpServers: {}, systemConfig: { store: { type: 'redis', url: redis.url } } };
    a = await startGateway(settings, { sessionIdleMs: IDLE_MS });
    b = await startGateway(settings, { sessionIdleMs: IDLE_MS });
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await redis?.close();
  });

  test('a session used on A for longer than the idle time can still be rebuilt on B', async () => {
    // The open loopback endpoint: every request is the local person, no credential.
    const response = await initializeWith(`${a.base}/mcp`);
    await response.text();
    const id = response.headers.get('mcp-session-id')!;
    // Its record was written once, expiring after IDLE_MS; requests on A move the expiry on.
    const until = Date.now() + IDLE_MS * 1.5;
    while (Date.now() < until) {
      assert.equal((await listOn(a, id)).status, 200);
      // The client's own pace (a call every 100 ms), not a wait for the gateway.
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal((await listOn(b, id)).status, 200);
  });
});

describe('sessions without Redis (the file store)', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway({ mcpServers: {} });
  });
  after(async () => {
    await gw?.close();
  });

  test('a session writes nothing to mcp-sessions', async () => {
    const client = await gw.client();
    await client.listTools();
    let records: Record<string, unknown> = {};
    try {
      const file = JSON.parse(await readFile(join(gw.dir, STATE_FILE), 'utf8')) as {
        records: Record<string, unknown>;
      };
      records = file.records;
    } catch (error) {
      if ((error as { code?: string }).code !== 'ENOENT') throw error;
    }
    assert.equal(records[SESSIONS_COLLECTION], undefined);
  });
});
