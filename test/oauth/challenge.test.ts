import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { classifyResponse, readBearerChallenge } from '../../server/oauth/challenge.js';

const challengeOf = (header: string | undefined, status = 401) =>
  readBearerChallenge(new Response(null, { status, headers: header ? { 'www-authenticate': header } : {} }));

describe('WWW-Authenticate challenges', () => {
  test('resource_metadata, scope and error of a Bearer challenge', async () => {
    assert.deepEqual(
      await challengeOf(
        'Bearer error="insufficient_scope", scope="files:read  files:write", resource_metadata="https://mcp.example/.well-known/oauth-protected-resource"',
      ),
      {
        error: 'insufficient_scope',
        scope: ['files:read', 'files:write'],
        resourceMetadata: 'https://mcp.example/.well-known/oauth-protected-resource',
      },
    );
  });

  test('the Bearer challenge is found among others, parameter names in any case', async () => {
    assert.deepEqual(await challengeOf('Basic realm="x", Bearer Resource_Metadata="https://m.example/prm"'), {
      resourceMetadata: 'https://m.example/prm',
    });
  });

  test('legacy authorization_server= and as_uri= hints', async () => {
    assert.deepEqual(await challengeOf('Bearer authorization_server="https://as.example"'), {
      authorizationServer: 'https://as.example',
    });
    assert.deepEqual(await challengeOf('Bearer realm="mcp", as_uri="https://as2.example"'), {
      authorizationServer: 'https://as2.example',
    });
  });

  test('no header, another scheme or garbage: no Bearer challenge', async () => {
    assert.equal(await challengeOf(undefined), undefined);
    assert.equal(await challengeOf('Basic realm="x"'), undefined);
    assert.equal(await challengeOf('"not a challenge'), undefined);
  });
});

describe('response classification', () => {
  test('401 without a token starts authorization; with a token it is a rejected token', () => {
    assert.deepEqual(classifyResponse(401, undefined, false), { kind: 'auth-required', challenge: {} });
    assert.deepEqual(classifyResponse(401, { error: 'invalid_token' }, true), {
      kind: 'token-rejected',
      challenge: { error: 'invalid_token' },
    });
  });
  test('403 insufficient_scope with a token is a step-up; anything else passes through', () => {
    const challenge = { error: 'insufficient_scope', scope: ['a'] };
    assert.deepEqual(classifyResponse(403, challenge, true), { kind: 'insufficient-scope', challenge });
    assert.deepEqual(classifyResponse(403, challenge, false), { kind: 'ok' });
    assert.deepEqual(classifyResponse(403, { error: 'other' }, true), { kind: 'ok' });
    assert.deepEqual(classifyResponse(200, undefined, true), { kind: 'ok' });
    assert.deepEqual(classifyResponse(500, undefined, false), { kind: 'ok' });
  });
});
