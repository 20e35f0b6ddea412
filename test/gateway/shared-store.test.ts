/**
 * Two replicas on one Redis (issue 15, first part): two gateways in this process, each with its
 * own settings folder, sharing `systemConfig.store: { type: "redis" }` (a real redis-server). An
 * API key made on one is accepted by the other and, revoked on one, refused by the other at once;
 * a person's own credentials set through one replica serve their calls on the other.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { initializeStatus, startGateway, textOf, waitUntil, type TestGateway } from '../fixtures/gateway.js';
import { keyedProgram } from '../fixtures/per-user-team.js';
import { startRedis, type TestRedis } from '../fixtures/redis.js';
import { cookieClient, signIn } from '../api/admin-session-client.js';

describe('two replicas sharing Redis', () => {
  let redis: TestRedis;
  let a: TestGateway;
  let b: TestGateway;
  const clients: Client[] = [];

  before(async () => {
    redis = await startRedis();
    const settings = {
      mcpServers: { keyed: keyedProgram('keyed') },
      systemConfig: { inboundAuth: {}, store: { type: 'redis', url: redis.url } },
    };
    a = await startGateway(settings);
    b = await startGateway(settings);
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await a?.close();
    await b?.close();
    await redis?.close();
  });

  async function createKey(gw: TestGateway, user: string): Promise<{ id: string; secret: string }> {
    const response = await gw.api('/api/keys', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: `${user}'s agent`, scopes: ['mcp:all'], user }),
    });
    assert.equal(response.status, 201);
    const { key, secret } = (await response.json()) as { key: { id: string }; secret: string };
    return { id: key.id, secret };
  }

  test('an API key made on A works on B; revoked on A, B refuses it at once', async () => {
    const { id, secret } = await createKey(a, 'carol');
    assert.equal(await initializeStatus(`${b.base}/mcp`, secret), 200);
    const revoked = await a.api(`/api/keys/${id}`, { method: 'DELETE' });
    assert.equal(revoked.status, 204);
    await waitUntil(
      async () => (await initializeStatus(`${b.base}/mcp`, secret)) === 401,
      'B to refuse it',
      1_000,
    );
  });

  test('a person’s own key set through A serves their calls on B', async () => {
    const { secret } = await createKey(a, 'alice');
    await a.manager.setInputsFor('keyed', 'alice', { key: 'alice-shared-key' });
    const client = new Client({ name: 'alice-on-b', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${b.base}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${secret}` } },
      }),
    );
    clients.push(client);
    const env = JSON.parse(textOf(await client.callTool({ name: 'keyed__env', arguments: {} }))) as {
      API_KEY?: string;
    };
    assert.equal(env.API_KEY, 'alice-shared-key');
  });

  test('a dashboard session made on A is signed in on B; signed out on B, A refuses it', async () => {
    const onA = await signIn(a.base);
    const onB = cookieClient(b.base, onA.sessionId);
    const session = await onB.fetch('/api/session');
    assert.equal(session.status, 200);
    assert.deepEqual(await session.json(), { signedIn: true, subject: 'admin', role: 'admin' });
    assert.equal((await onB.fetch('/api/servers')).status, 200);
    assert.equal((await onB.fetch('/api/session', { method: 'DELETE' })).status, 204);
    assert.equal((await onA.fetch('/api/session')).status, 401);
  });

  test('Redis down: not ready, naming the store; back up: ready again', async () => {
    const readiness = async (gw: TestGateway) => {
      const response = await fetch(`${gw.base}/readyz`);
      return { status: response.status, ...((await response.json()) as { checks: { store: string } }) };
    };
    assert.equal((await readiness(a)).status, 200);
    await redis.stop();
    await waitUntil(async () => (await readiness(a)).status === 503, 'A not ready');
    assert.equal((await readiness(a)).checks.store, 'unreachable');
    await redis.start();
    await waitUntil(
      async () => (await readiness(a)).status === 200 && (await readiness(b)).status === 200,
      'both ready',
    );
  });
});
