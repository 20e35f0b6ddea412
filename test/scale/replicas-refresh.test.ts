/**
 * One refresh per expiry across replicas (issue 15): three replicas on Redis behind a round-robin
 * proxy without stickiness, 32 callers for 60 s of an OAuth upstream whose authorization server
 * issues 5-second access tokens with rotating refresh tokens. No call fails, and every refresh the
 * authorization server granted gave one token that was then used: none was refreshed twice (a
 * rotated refresh token used again would also have revoked the grant, and failed calls).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { waitUntil } from '../fixtures/gateway.js';
import { startOAuthReplicas, type OAuthReplicas } from '../fixtures/replicas-oauth.js';

describe('three replicas refreshing one upstream token', () => {
  let team: OAuthReplicas;

  before(async () => {
    team = await startOAuthReplicas();
    const callback = await team.authorize(0, 1);
    assert.equal(callback.status, 200, await callback.text());
    for (const i of [0, 1, 2]) {
      await waitUntil(async () => (await team.statusOn(i)) === 'connected', `replica ${i} connected`);
    }
  });
  after(() => team?.close());

  test('32 callers for 60 s over three replicas: no failed call, one refresh per expiry', async () => {
    const callers = await team.openClients(32);
    const tokensBefore = team.linear.seen.tokensBySubject.get('alice')?.size ?? 0;
    const refreshesBefore = team.as.refreshesByAccount.get('alice') ?? 0;
    const countsBefore = team.replicas.counts();
    const end = Date.now() + 60_000;
    const result = await team.run(callers, () => Date.now() >= end);

    assert.deepEqual(
      result.failures.slice(0, 3),
      [],
      `${result.failures.length} of ${result.ok} calls failed`,
    );
    const tokens = (team.linear.seen.tokensBySubject.get('alice')?.size ?? 0) - tokensBefore;
    const refreshes = (team.as.refreshesByAccount.get('alice') ?? 0) - refreshesBefore;
    // 60 s of 5-second tokens: about a dozen expiries, each refreshed once by one of the replicas.
    assert.ok(refreshes >= 8, `${refreshes} refreshes in 60 s of 5-second tokens`);
    assert.equal(tokens, refreshes, 'each refresh gave one new token that was used; none refreshed twice');
    const served = team.replicas.counts().map((n, i) => n - countsBefore[i]!);
    assert.ok(
      served.every((n) => n > result.ok / 10),
      `every replica served calls: ${served.join(', ')}`,
    );
  });
});
