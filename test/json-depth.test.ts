import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../server/json-depth.js';

describe('nestsDeeperThan', () => {
  it('counts nested arrays and objects, up to and past the limit', () => {
    const nested = (n: number) => '['.repeat(n) + ']'.repeat(n);
    assert.equal(nestsDeeperThan(nested(MAX_JSON_DEPTH)), false);
    assert.equal(nestsDeeperThan(nested(MAX_JSON_DEPTH + 1)), true);
    assert.equal(nestsDeeperThan('{"a":{"b":[1,{"c":2}]}}', 3), true);
    assert.equal(nestsDeeperThan('{"a":{"b":[1,{"c":2}]}}', 4), false);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    const text = JSON.stringify({ s: '[[[[[[{{{{"\\"[[[[' });
    assert.equal(nestsDeeperThan(text, 1), false);
  });

  it('a real MCP message is well within the limit', () => {
    const message = {
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'x', arguments: { a: [1] } },
    };
    assert.equal(nestsDeeperThan(JSON.stringify(message)), false);
  });
});
