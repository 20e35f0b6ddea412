import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateLimiter } from '../../server/security/rate-limit.js';

test('a bucket per address: empty after capacity takes, refilled over the window', () => {
  let now = 0;
  const limiter = new RateLimiter({ capacity: 3, windowMs: 3000, now: () => now });
  for (let i = 0; i < 3; i++) assert.ok(limiter.take('10.0.0.1'));
  assert.equal(limiter.take('10.0.0.1'), false);
  assert.equal(limiter.allows('10.0.0.1'), false);
  assert.equal(limiter.retryAfterSeconds('10.0.0.1'), 1);
  assert.ok(limiter.take('10.0.0.2'), 'another address has its own bucket');
  now += 1000;
  assert.ok(limiter.take('10.0.0.1'), 'one token back after a third of the window');
  assert.equal(limiter.take('10.0.0.1'), false);
});

test('the number of tracked addresses stays bounded', () => {
  let now = 0;
  const limiter = new RateLimiter({ capacity: 1, windowMs: 1000, maxKeys: 10, now: () => now });
  for (let i = 0; i < 10; i++) limiter.take(`a${i}`);
  now += 5000;
  // All ten are full again: tracking a new one prunes them instead of growing.
  assert.ok(limiter.take('new'));
  assert.equal(limiter.size, 1);
  // Busy addresses (empty buckets) are forgotten oldest first rather than kept without bound.
  for (let i = 0; i < 100; i++) limiter.take(`b${i}`);
  assert.ok(limiter.size <= 10, String(limiter.size));
  assert.equal(limiter.take('b99'), false, 'the newest is still tracked');
});
