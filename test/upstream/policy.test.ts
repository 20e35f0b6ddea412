import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { GatehouseError } from '../../server/errors.js';
import { backoffDelay, classifyFailure, shouldFallBackToSse } from '../../server/upstream/policy.js';
import { DEFAULT_TIMEOUTS } from '../../server/settings/types.js';

test('backoff doubles from the initial delay, stays within [half, full], and is capped', () => {
  const t = { ...DEFAULT_TIMEOUTS, initialBackoffMs: 1000, maxBackoffMs: 8000 };
  assert.equal(
    backoffDelay(0, t, () => 0),
    500,
  );
  assert.equal(
    backoffDelay(0, t, () => 1),
    1000,
  );
  assert.equal(
    backoffDelay(2, t, () => 1),
    4000,
  );
  assert.equal(
    backoffDelay(3, t, () => 1),
    8000,
  );
  assert.equal(
    backoffDelay(50, t, () => 1),
    8000,
  );
  assert.equal(
    backoffDelay(50, t, () => 0),
    4000,
  );
});

test('a 401 from the transport means auth_required, not a retry', () => {
  const failure = classifyFailure(new StreamableHTTPError(401, 'Unauthorized'));
  assert.equal(failure.kind, 'auth-required');
});

test("the OAuth engine's auth-required error means auth_required", () => {
  const failure = classifyFailure(new GatehouseError('UPSTREAM_AUTH_REQUIRED'));
  assert.equal(failure.kind, 'auth-required');
});

test('a 404 on a Streamable HTTP request means the upstream session expired', () => {
  assert.equal(classifyFailure(new StreamableHTTPError(404, 'Session not found')).kind, 'session-expired');
});

test('timeouts and closed connections are retried with a stable code', () => {
  const timeout = classifyFailure(new McpError(ErrorCode.RequestTimeout, 'Request timed out'));
  assert.equal(timeout.kind, 'retry');
  assert.equal(timeout.kind === 'retry' && timeout.error.code, 'UPSTREAM_TIMEOUT');
  const closed = classifyFailure(new McpError(ErrorCode.ConnectionClosed, 'Connection closed'));
  assert.equal(closed.kind === 'retry' && closed.error.code, 'UPSTREAM_CLOSED');
});

test("an upstream's own JSON-RPC error is a failed request, not a broken connection", () => {
  assert.equal(classifyFailure(new McpError(ErrorCode.InvalidParams, 'bad args')).kind, 'request-failed');
});

test('a network error keeps its cause in the message', () => {
  const error = new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:1') });
  const failure = classifyFailure(error);
  assert.equal(failure.kind, 'retry');
  assert.match(failure.kind === 'retry' ? failure.error.message : '', /ECONNREFUSED/);
});

test('only a 4xx other than 401 on the initialize POST falls back to SSE', () => {
  assert.equal(shouldFallBackToSse(new StreamableHTTPError(404, 'Not Found')), true);
  assert.equal(shouldFallBackToSse(new StreamableHTTPError(405, 'Method Not Allowed')), true);
  assert.equal(shouldFallBackToSse(new StreamableHTTPError(401, 'Unauthorized')), false);
  assert.equal(shouldFallBackToSse(new StreamableHTTPError(500, 'oops')), false);
  assert.equal(shouldFallBackToSse(new TypeError('fetch failed')), false);
});
