/**
 * Three replicas on one Redis behind a round-robin proxy without stickiness (issue 15), as child
 * processes of the built gateway (test/fixtures/replicas.ts). What works across replicas today: an
 * API key made through one replica's own URL and revoked there is refused by another within a
 * second; MCP requests with that key through the proxy are answered by every replica; a replica
 * killed is skipped by the proxy (its refused connections), and serves again once restarted; a
 * server added through B's admin API (the dashboard's edit) reaches A and C. Sessions moving between
 * replicas, and OAuth upstreams, are in replicas-oauth.test.ts and replicas-refresh.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { initializeStatus, initializeWith, waitUntil } from '../fixtures/gateway.js';
import { startHttpUpstream, type HttpUpstream } from '../fixtures/mcp-upstream.js';
import { startRedis, type TestRedis } from '../fixtures/redis.js';
import { startReplicas, type Replicas } from '../fixtures/replicas.js';

describe('three replicas on one Redis behind a round-robin proxy', () => {
  let redis: TestRedis;
  let upstream: HttpUpstream;
  let replicas: Replicas;

  before(async () => {
    redis = await startRedis();
    upstream = await startHttpUpstream('alpha');
    replicas = await startReplicas({
      count: 3,
      redis,
      settings: {
        mcpServers: { alpha: { type: 'streamable-http', url: upstream.url } },
        systemConfig: { inboundAuth: {} },
      },
    });
  });
  after(async () => {
    await replicas?.close();
    await upstream?.stop();
    await redis?.close();
  });

  /** Makes an API key through replica `i`'s own URL with the shared admin token. */
  async function createKey(i: number, name: string): Promise<{ id: string; secret: string }> {
    const response = await fetch(`${replicas.bases[i]}/api/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${replicas.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name, scopes: ['mcp:all'], user: 'carol' }),
    });
    assert.equal(response.status, 201, await response.clone().text());
    const { key, secret } = (await response.json()) as { key: { id: string }; secret: string };
    return { id: key.id, secret };
  }

  /** An MCP initialize with `secret` through the proxy: its status, and whether Gatehouse answered it. */
  async function initializeThroughProxy(secret: string): Promise<{ status: number; gatehouse: boolean }> {
    const response = await initializeWith(`${replicas.url}/mcp`, secret);
    const text = await response.text();
    return { status: response.status, gatehouse: /"serverInfo":\{"name":"gatehouse"/i.test(text) };
  }

  test('an API key made through A works through B; revoked through A, B refuses it within a second', async () => {
    const { id, secret } = await createKey(0, 'carol’s agent');
    assert.equal(await initializeStatus(`${replicas.bases[1]}/mcp`, secret), 200);
    const revoked = await fetch(`${replicas.bases[0]}/api/keys/${id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${replicas.adminToken}` },
    });
    assert.equal(revoked.status, 204);
    await waitUntil(
      async () => (await initializeStatus(`${replicas.bases[1]}/mcp`, secret)) === 401,
      'B to refuse the revoked key',
      1_000,
    );
  });

  test('MCP requests with a key through the proxy are answered by every replica', async () => {
    const { secret } = await createKey(1, 'spread');
    const before = replicas.counts();
    for (let i = 0; i < 9; i++) {
      assert.deepEqual(
        await initializeThroughProxy(secret),
        { status: 200, gatehouse: true },
        `request ${i}`,
      );
    }
    const served = replicas.counts().map((n, i) => n - before[i]!);
    for (const [i, n] of served.entries()) assert.ok(n > 0, `replica ${i} served none of them: ${served}`);
  });

  test('a killed replica is skipped by the proxy; restarted, it serves again', async () => {
    const { secret } = await createKey(2, 'failover');
    await replicas.kill(2);
    const before = replicas.counts();
    for (let i = 0; i < 6; i++) {
      assert.deepEqual(
        await initializeThroughProxy(secret),
        { status: 200, gatehouse: true },
        `request ${i}`,
      );
    }
    const whileDown = replicas.counts().map((n, i) => n - before[i]!);
    assert.equal(whileDown[2], 0, `the killed replica served nothing: ${whileDown}`);
    assert.equal(whileDown[0]! + whileDown[1]!, 6);

    await replicas.restart(2);
    // A new process on a new port, with nothing of its own: the key comes from Redis.
    assert.equal(await initializeStatus(`${replicas.bases[2]}/mcp`, secret), 200);
    const again = replicas.counts();
    for (let i = 0; i < 3; i++) await initializeThroughProxy(secret);
    assert.ok(replicas.counts()[2]! > again[2]!, 'the restarted replica serves through the proxy');
  });

  test('a server added through B (the dashboard’s edit) reaches A and C', async () => {
    const beta = await startHttpUpstream('beta');
    try {
      const added = await fetch(`${replicas.bases[1]}/api/servers`, {
        method: 'POST',
        headers: { authorization: `Bearer ${replicas.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'beta', entry: { type: 'streamable-http', url: beta.url } }),
      });
      assert.equal(added.status, 201, await added.clone().text());
      for (const i of [0, 2]) {
        await waitUntil(async () => {
          const response = await fetch(`${replicas.bases[i]}/api/servers/beta`, {
            headers: { authorization: `Bearer ${replicas.adminToken}` },
          });
          return response.ok && ((await response.json()) as { status: string }).status === 'connected';
        }, `replica ${i} to connect beta`);
      }
    } finally {
      await beta.stop();
    }
  });
});
