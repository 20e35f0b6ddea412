import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  AuthSequences,
  MAX_SEQUENCES,
  STEP_UP_LIMIT,
  decideStepUp,
  type AuthSequence,
} from '../../server/oauth/step-up.js';
import { requestKey } from '../../server/oauth/upstream-fetch.js';

const handed = (url: string, scopes?: string[], expiresAt = 600_000) => ({ url, expiresAt, scopes });

describe('step-up decisions', () => {
  const base = { granted: ['a'], challenged: ['b'], now: 0, reuseMarginMs: 60_000 };
  const sequence = (completed: number, extra: Partial<AuthSequence> = {}): AuthSequence => ({
    request: 'tools/call write',
    completed,
    ...extra,
  });

  test('asks for the union of granted and challenged scopes', () => {
    assert.deepEqual(decideStepUp({ ...base, sequence: undefined }), {
      kind: 'authorize',
      scopes: ['a', 'b'],
    });
  });

  test('a request still waiting for an authorization asking enough gets the same URL again', () => {
    const waiting = sequence(1, { pending: handed('https://as.example/auth?s', ['a', 'b', 'c']) });
    assert.deepEqual(decideStepUp({ ...base, sequence: waiting }), {
      kind: 'reuse',
      url: 'https://as.example/auth?s',
      scopes: ['a', 'b', 'c'],
    });
    const aboutToExpire = sequence(1, { pending: handed('https://as.example/auth?s', ['a', 'b'], 30_000) });
    assert.equal(decideStepUp({ ...base, sequence: aboutToExpire }).kind, 'authorize');
    const asksLess = sequence(1, { pending: handed('https://as.example/auth?s', ['a']) });
    assert.equal(decideStepUp({ ...base, sequence: asksLess }).kind, 'authorize');
    const fromA401 = sequence(0, { pending: handed('https://as.example/auth?s') });
    assert.equal(decideStepUp({ ...base, sequence: fromA401 }).kind, 'authorize', 'its scopes are unknown');
  });

  test(`gives up once ${STEP_UP_LIMIT} authorizations were completed for the request, the first one included`, () => {
    assert.equal(decideStepUp({ ...base, sequence: sequence(STEP_UP_LIMIT - 1) }).kind, 'authorize');
    assert.deepEqual(decideStepUp({ ...base, sequence: sequence(STEP_UP_LIMIT) }), {
      kind: 'limit',
      scopes: ['a', 'b'],
    });
    assert.equal(decideStepUp({ ...base, sequence: sequence(0, { limited: true }) }).kind, 'limit');
  });
});

describe('authorization sequences per request', () => {
  test('a completed callback counts for every request waiting for one; a success ends the sequence', () => {
    const sequences = new AuthSequences();
    sequences.handedOut('tools/list', handed('u1'));
    sequences.handedOut('tools/call a', handed('u1', ['x']));
    sequences.completed();
    sequences.completed(); // nobody waits any more: counts nothing
    assert.equal(sequences.get('tools/list')?.completed, 1);
    assert.equal(sequences.get('tools/call a')?.completed, 1);
    assert.equal(sequences.get('tools/list')?.pending, undefined);
    sequences.succeeded('tools/list');
    assert.equal(sequences.get('tools/list'), undefined);
    assert.deepEqual(sequences.wantedScopes(), ['x']);
  });

  test('a step-up keeps counting the authorizations of the 401 before it', () => {
    const sequences = new AuthSequences();
    sequences.handedOut('tools/list', handed('u1'));
    sequences.completed();
    sequences.handedOut('tools/list', handed('u2', ['s']));
    assert.equal(sequences.get('tools/list')?.completed, 1);
    assert.deepEqual(sequences.get('tools/list')?.scopes, ['s']);
  });

  test('a person starting an authorization lifts a limit and the request starts over', () => {
    const sequences = new AuthSequences();
    sequences.limit('tools/call admin', ['admin']);
    assert.equal(
      decideStepUp({
        sequence: sequences.get('tools/call admin'),
        granted: [],
        challenged: ['admin'],
        now: 0,
        reuseMarginMs: 0,
      }).kind,
      'limit',
    );
    sequences.liftLimits();
    sequences.handedOutToAll(handed('u9', ['admin']));
    const lifted = sequences.get('tools/call admin');
    assert.equal(lifted?.limited, undefined);
    assert.equal(lifted?.completed, 0);
    assert.equal(lifted?.pending?.url, 'u9');
    assert.deepEqual(sequences.wantedScopes(), ['admin']);
  });

  test(`at most ${MAX_SEQUENCES} requests are tracked; the least recent goes first`, () => {
    const sequences = new AuthSequences();
    for (let i = 0; i <= MAX_SEQUENCES; i++) sequences.handedOut(`r${i}`, handed('u'));
    assert.equal(sequences.get('r0'), undefined);
    assert.ok(sequences.get(`r${MAX_SEQUENCES}`));
  });
});

describe('request keys', () => {
  const key = (body: BodyInit | undefined, method = 'POST') =>
    requestKey({ url: new URL('http://127.0.0.1/mcp'), init: { method, ...(body ? { body } : {}) } });

  test('the JSON-RPC method, with the tool, prompt or resource it is about', () => {
    assert.equal(key(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' })), 'tools/list');
    assert.equal(
      key(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'admin' } })),
      'tools/call admin',
    );
    assert.equal(
      key(
        new TextEncoder().encode(JSON.stringify({ method: 'resources/read', params: { uri: 'file:///a' } })),
      ),
      'resources/read file:///a',
    );
    assert.equal(
      key(JSON.stringify([{ method: 'notifications/initialized' }, { method: 'ping' }])),
      'notifications/initialized,ping',
    );
  });

  test('anything else is its HTTP method and path', () => {
    assert.equal(key(undefined, 'GET'), 'GET /mcp');
    assert.equal(key('not json'), 'POST /mcp');
    assert.equal(key(JSON.stringify({ result: {} })), 'POST /mcp');
  });
});
