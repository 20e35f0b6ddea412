/**
 * Three replicas on Redis behind a round-robin proxy without stickiness, an OAuth upstream with
 * 5-second tokens (test/fixtures/replicas-oauth.ts), issue 15:
 * - an authorization started on A completes with the callback on B, and C serves without consent;
 * - sessions move freely between replicas; killing A mid-load loses only the calls in flight on A;
 * - Redis stopped and started again mid-run (it persists to disk, as a production Redis does):
 *   calls go on while it is down, the rest recover, and no credential is lost.
 * The 60-second refresh load is in replicas-refresh.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { textOf, waitUntil } from '../fixtures/gateway.js';
import { startOAuthReplicas, type OAuthReplicas } from '../fixtures/replicas-oauth.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('three replicas on Redis, an OAuth upstream with 5-second tokens', () => {
  let team: OAuthReplicas;

  before(async () => {
    team = await startOAuthReplicas();
  });
  after(() => team?.close());

  test('an authorization started on A completes with the callback on B; C serves without consent', async () => {
    const before = team.replicas.counts()[1]!;
    const callback = await team.authorize(0, 1);
    assert.equal(callback.status, 200, await callback.text());
    assert.equal(team.replicas.counts()[1], before + 1, 'B answered the callback');
    for (const i of [0, 1, 2]) {
      await waitUntil(async () => (await team.statusOn(i)) === 'connected', `replica ${i} connected`);
    }
    team.routeTo(2);
    try {
      const [client] = await team.openClients(1);
      assert.equal(textOf(await client!.callTool({ name: 'linear__whoami', arguments: {} })), 'alice');
    } finally {
      team.routeTo(undefined);
    }
    assert.equal(team.linear.seen.tokensBySubject.get('alice')?.size, 1, 'one token, used by all three');
  });

  test('sessions move between replicas; killing A mid-load loses only the calls in flight on A', async () => {
    const callers = await team.openClients(16);
    let killedAt = 0;
    const end = Date.now() + 12_000;
    const result = await team.run(
      callers,
      () => Date.now() >= end,
      async () => {
        await sleep(3_000);
        await team.replicas.kill(0);
        killedAt = Date.now();
      },
    );
    // Each caller's session went to every replica (the proxy has no stickiness).
    assert.ok(result.ok > callers.length * 3, `${result.ok} calls answered`);
    // Each caller has at most one call in flight: at most that many are lost, all at the kill.
    assert.ok(
      result.failures.length <= callers.length,
      `${result.failures.length} calls failed: ${JSON.stringify(result.failures.map((f) => ({ ...f, at: f.at - killedAt })))}`,
    );
    const late = result.failures.filter((f) => f.at > killedAt + 2_000);
    assert.deepEqual(late, [], 'no failure after the kill was over');
    assert.ok(
      result.lastOk.every((at) => at > killedAt),
      'every session went on after the kill, on B and C',
    );
    await team.replicas.restart(0);
    await waitUntil(
      async () => (await team.statusOn(0)) === 'connected',
      'A back, connected without consent',
    );
  });

  test('Redis stopped and started mid-run: calls go on, the rest recover, no credential lost', async () => {
    const callers = await team.openClients(8);
    // Each session is rebuilt on every replica before Redis goes (a rebuild needs Redis).
    let warm = 0;
    await team.run(callers, () => warm++ >= callers.length * 6);
    let downAt = 0;
    let upAt = 0;
    const end = Date.now() + 12_000;
    const result = await team.run(
      callers,
      () => Date.now() >= end,
      async () => {
        await sleep(2_000);
        await team.redis.stop();
        downAt = Date.now();
        await sleep(3_000);
        await team.redis.start();
        upAt = Date.now();
      },
    );
    // Tokens still valid when Redis went: the calls that had them went on without it.
    const duringOutage = result.okAt.filter((at) => at > downAt && at < upAt).length;
    assert.ok(duringOutage > 0, 'calls were answered while Redis was down');
    assert.ok(
      result.lastOk.every((at) => at > upAt),
      `every caller is answered again after Redis is back (${result.failures.length} calls failed meanwhile)`,
    );
    // No credential lost: a replica started now reads the tokens from Redis and connects at once.
    await team.replicas.restart(2);
    await waitUntil(
      async () => (await team.statusOn(2)) === 'connected',
      'C restarted, connected without consent',
    );
  });
});
