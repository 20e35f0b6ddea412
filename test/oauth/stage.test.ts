import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  EventLog,
  describe as describeEvent,
  transition,
  type AuthStage,
  type StageEvent,
  type StageKind,
} from '../../server/oauth/stage.js';

const stages: Record<StageKind, AuthStage> = {
  unauthenticated: { kind: 'unauthenticated' },
  discovering: { kind: 'discovering' },
  registering: { kind: 'registering' },
  awaiting_user: { kind: 'awaiting_user', authorizationUrl: 'https://as.example/auth?x', expiresAt: 10 },
  exchanging: { kind: 'exchanging' },
  authorized: { kind: 'authorized', expiresAt: 5 },
  refreshing: { kind: 'refreshing' },
  failed: { kind: 'failed', code: 'OAUTH_DISCOVERY_FAILED', message: 'no metadata' },
};

const events: Record<StageEvent['type'], StageEvent> = {
  discover: { type: 'discover' },
  register: { type: 'register' },
  ready: { type: 'ready' },
  await_user: {
    type: 'await_user',
    authorizationUrl: 'https://as.example/auth?y',
    expiresAt: 20,
    reason: 'step_up',
  },
  exchange: { type: 'exchange' },
  authorized: { type: 'authorized', expiresAt: 30, via: 'refresh' },
  refresh: { type: 'refresh' },
  refresh_failed: {
    type: 'refresh_failed',
    expiresAt: 40,
    code: 'OAUTH_REFRESH_FAILED',
    message: 'network error',
  },
  fail: { type: 'fail', code: 'OAUTH_INVALID_GRANT', message: 'rejected' },
  disconnect: { type: 'disconnect' },
};

/**
 * Written out from DESIGN.md, "One upstream's state", not from the implementation's table:
 *
 *   unauthenticated → discovering → registering → awaiting_user (authorization URL, expires)
 *     → exchanging → authorized (expires at) ⇄ refreshing → authorized
 *   any → failed ;  authorized → revoked/expired → awaiting_user ;  any → unauthenticated (disconnect)
 *
 * plus issue 11: a refresh that fails for a passing reason (network, timeout, 5xx) keeps the tokens.
 */
const ALLOWED: Array<[from: StageKind, event: StageEvent['type'], to: StageKind]> = [
  ['unauthenticated', 'discover', 'discovering'],
  ['discovering', 'register', 'registering'],
  ['registering', 'await_user', 'awaiting_user'],
  // A client from the settings needs no registration: discovery leads straight to the person.
  ['discovering', 'await_user', 'awaiting_user'],
  ['awaiting_user', 'exchange', 'exchanging'],
  ['exchanging', 'authorized', 'authorized'],
  ['authorized', 'refresh', 'refreshing'],
  ['refreshing', 'authorized', 'authorized'],
  // Expired or revoked: back to a person.
  ['authorized', 'await_user', 'awaiting_user'],
  ['refreshing', 'refresh_failed', 'authorized'],
  ['unauthenticated', 'fail', 'failed'],
  ['discovering', 'fail', 'failed'],
  ['registering', 'fail', 'failed'],
  ['awaiting_user', 'fail', 'failed'],
  ['exchanging', 'fail', 'failed'],
  ['authorized', 'fail', 'failed'],
  ['refreshing', 'fail', 'failed'],
  ['failed', 'fail', 'failed'],
  ['unauthenticated', 'disconnect', 'unauthenticated'],
  ['discovering', 'disconnect', 'unauthenticated'],
  ['registering', 'disconnect', 'unauthenticated'],
  ['awaiting_user', 'disconnect', 'unauthenticated'],
  ['exchanging', 'disconnect', 'unauthenticated'],
  ['authorized', 'disconnect', 'unauthenticated'],
  ['refreshing', 'disconnect', 'unauthenticated'],
  ['failed', 'disconnect', 'unauthenticated'],
];

/** Events that make no sense from a stage: refused, and the stage stays as it is. */
const REFUSED: Array<[from: StageKind, event: StageEvent['type'], why: string]> = [
  ['unauthenticated', 'refresh', 'there is no token to refresh'],
  ['discovering', 'refresh', 'there is no token to refresh'],
  ['exchanging', 'refresh', 'the token is not there yet'],
  ['awaiting_user', 'refresh', 'a refresh must not hide a pending step-up'],
  ['awaiting_user', 'authorized', 'tokens come from the code exchange, not from waiting'],
  ['unauthenticated', 'register', 'registration needs the discovered metadata'],
  ['awaiting_user', 'register', 'registration comes before the person'],
  ['exchanging', 'exchange', 'one code exchange at a time'],
  ['authorized', 'refresh_failed', 'only a refresh in flight can fail'],
  ['unauthenticated', 'refresh_failed', 'only a refresh in flight can fail'],
];

describe('auth stage transitions', () => {
  for (const [from, type, to] of ALLOWED) {
    test(`${from} --${type}--> ${to}`, () => {
      assert.equal(transition(stages[from], events[type])?.kind, to);
    });
  }

  for (const [from, type, why] of REFUSED) {
    test(`${from} --${type}--> refused (${why})`, () => {
      assert.equal(transition(stages[from], events[type]), null);
    });
  }

  test('events carry their data into the stage', () => {
    assert.deepEqual(transition(stages.authorized, events.await_user), {
      kind: 'awaiting_user',
      authorizationUrl: 'https://as.example/auth?y',
      expiresAt: 20,
    });
    assert.deepEqual(transition(stages.refreshing, events.authorized), { kind: 'authorized', expiresAt: 30 });
    // A refresh that failed for a passing reason keeps the token it had, with its expiry.
    assert.deepEqual(transition(stages.refreshing, events.refresh_failed), {
      kind: 'authorized',
      expiresAt: 40,
    });
    assert.deepEqual(transition(stages.discovering, events.fail), {
      kind: 'failed',
      code: 'OAUTH_INVALID_GRANT',
      message: 'rejected',
    });
  });

  test('log lines say what happened without the URL', () => {
    assert.equal(describeEvent(events.await_user), 'waiting for a person to authorize (step-up)');
    assert.equal(describeEvent(events.fail), 'OAUTH_INVALID_GRANT: rejected');
    for (const event of Object.values(events)) assert.doesNotMatch(describeEvent(event), /https?:/);
  });

  test('the event log keeps the last entries only', () => {
    const log = new EventLog(3);
    for (let i = 0; i < 5; i++) log.append({ at: i, stage: 'discovering', detail: `step ${i}` });
    assert.deepEqual(
      log.list().map((e) => e.at),
      [2, 3, 4],
    );
  });
});
