import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  ALLOWED_FROM,
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
  fail: { type: 'fail', code: 'OAUTH_INVALID_GRANT', message: 'rejected' },
  disconnect: { type: 'disconnect' },
};

/** The whole table: which event moves which stage where (null: not allowed, the stage stays). */
const expected: Record<StageEvent['type'], Partial<Record<StageKind, StageKind>>> = {
  discover: {
    unauthenticated: 'discovering',
    awaiting_user: 'discovering',
    authorized: 'discovering',
    failed: 'discovering',
  },
  register: { discovering: 'registering' },
  ready: { discovering: 'unauthenticated', registering: 'unauthenticated' },
  await_user: {
    unauthenticated: 'awaiting_user',
    discovering: 'awaiting_user',
    registering: 'awaiting_user',
    awaiting_user: 'awaiting_user',
    authorized: 'awaiting_user',
    refreshing: 'awaiting_user',
    failed: 'awaiting_user',
  },
  exchange: {
    unauthenticated: 'exchanging',
    discovering: 'exchanging',
    registering: 'exchanging',
    awaiting_user: 'exchanging',
    authorized: 'exchanging',
    refreshing: 'exchanging',
    failed: 'exchanging',
  },
  authorized: {
    exchanging: 'authorized',
    refreshing: 'authorized',
    unauthenticated: 'authorized',
    failed: 'authorized',
  },
  refresh: { authorized: 'refreshing', failed: 'refreshing' },
  fail: Object.fromEntries(Object.keys(stages).map((k) => [k, 'failed'])),
  disconnect: Object.fromEntries(Object.keys(stages).map((k) => [k, 'unauthenticated'])),
};

describe('auth stage transitions', () => {
  for (const [type, event] of Object.entries(events) as Array<[StageEvent['type'], StageEvent]>) {
    test(`${type} moves exactly the stages the table allows`, () => {
      for (const [kind, stage] of Object.entries(stages) as Array<[StageKind, AuthStage]>) {
        const next = transition(stage, event);
        assert.equal(next?.kind ?? null, expected[type][kind] ?? null, `${kind} --${type}-->`);
        assert.equal(ALLOWED_FROM[type].includes(kind), next !== null);
      }
    });
  }

  test('events carry their data into the stage', () => {
    assert.deepEqual(transition(stages.authorized, events.await_user), {
      kind: 'awaiting_user',
      authorizationUrl: 'https://as.example/auth?y',
      expiresAt: 20,
    });
    assert.deepEqual(transition(stages.refreshing, events.authorized), { kind: 'authorized', expiresAt: 30 });
    assert.deepEqual(transition(stages.discovering, events.fail), {
      kind: 'failed',
      code: 'OAUTH_INVALID_GRANT',
      message: 'rejected',
    });
  });

  test('a refresh does not hide a pending step-up', () => {
    assert.equal(transition(stages.awaiting_user, events.refresh), null);
    assert.equal(transition(stages.awaiting_user, events.authorized), null);
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
