/**
 * JSON-RPC envelopes on the inbound transport (server/gateway/messages.ts): the structural
 * classification of what a client sent, and serialization that reuses a result's JSON text.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isJSONRPCResultResponse, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { classifyMessage, messageJson, withJson } from '../../server/gateway/messages.js';

/** Asserts that each value classifies as invalid, naming the value that did not. */
function assertInvalid(values: unknown[]): void {
  for (const value of values) {
    assert.deepEqual(classifyMessage(value), { kind: 'invalid' }, JSON.stringify(value) ?? String(value));
  }
}

describe('classifyMessage', () => {
  it('a request with a string id is a request with its id, method and the very message object', () => {
    const message = { jsonrpc: '2.0', id: 'req-1', method: 'tools/list', params: { cursor: 'c' } };
    const classified = classifyMessage(message);
    assert.deepEqual(classified, { kind: 'request', id: 'req-1', method: 'tools/list', message });
    assert.equal(classified.kind === 'request' && classified.message, message);
  });

  it('a request with an integer id (0 and negative included) and no params is a request', () => {
    for (const id of [7, 0, -3, Number.MAX_SAFE_INTEGER]) {
      const message = { jsonrpc: '2.0', id, method: 'ping' };
      assert.deepEqual(
        classifyMessage(message),
        { kind: 'request', id, method: 'ping', message },
        `id ${id}`,
      );
    }
  });

  it('a message with a method and no id is a notification', () => {
    const message = { jsonrpc: '2.0', method: 'notifications/initialized' };
    assert.deepEqual(classifyMessage(message), {
      kind: 'notification',
      method: 'notifications/initialized',
      message,
    });
    const withParams = { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1 } };
    assert.deepEqual(classifyMessage(withParams), {
      kind: 'notification',
      method: 'notifications/cancelled',
      message: withParams,
    });
  });

  it('a result response is a response with its id', () => {
    const message = { jsonrpc: '2.0', id: 5, result: { action: 'accept', content: {} } };
    assert.deepEqual(classifyMessage(message), { kind: 'response', id: 5, message });
    const empty = { jsonrpc: '2.0', id: 'e', result: {} };
    assert.deepEqual(classifyMessage(empty), { kind: 'response', id: 'e', message: empty });
  });

  it('an error response with an integer code and a string message is a response', () => {
    const message = { jsonrpc: '2.0', id: 'x', error: { code: -32601, message: 'Method not found' } };
    assert.deepEqual(classifyMessage(message), { kind: 'response', id: 'x', message });
    const withData = { jsonrpc: '2.0', id: 2, error: { code: 1, message: '', data: { why: 'because' } } };
    assert.deepEqual(classifyMessage(withData), { kind: 'response', id: 2, message: withData });
  });

  it('a value that is not an object (a batch array, a string, a number, a boolean, null, undefined) is invalid', () => {
    assertInvalid([
      [{ jsonrpc: '2.0', id: 1, method: 'ping' }],
      [],
      '{"jsonrpc":"2.0","id":1,"method":"ping"}',
      42,
      true,
      null,
      undefined,
    ]);
  });

  it('a jsonrpc member other than the string "2.0", or none, makes any message invalid', () => {
    for (const jsonrpc of ['1.0', '2', '2.0 ', 2, null, undefined]) {
      assertInvalid([
        { jsonrpc, id: 1, method: 'ping' },
        { jsonrpc, method: 'notifications/initialized' },
        { jsonrpc, id: 1, result: {} },
        { jsonrpc, id: 1, error: { code: 1, message: 'm' } },
      ]);
    }
    assertInvalid([{ id: 1, method: 'ping' }]);
  });

  it('a null, fractional, boolean, object or array id is invalid, for requests and responses alike', () => {
    for (const id of [null, 1.5, -0.25, true, { n: 1 }, ['a']]) {
      assertInvalid([
        { jsonrpc: '2.0', id, method: 'ping' },
        { jsonrpc: '2.0', id, result: {} },
        { jsonrpc: '2.0', id, error: { code: -32700, message: 'Parse error' } },
      ]);
    }
  });

  it('params that are not an object (a string, a number, a boolean, null) are invalid', () => {
    for (const params of ['a', 1, false, null]) {
      assertInvalid([
        { jsonrpc: '2.0', id: 1, method: 'tools/call', params },
        { jsonrpc: '2.0', method: 'notifications/progress', params },
      ]);
    }
  });

  it('a method that is not a string is invalid', () => {
    assertInvalid([
      { jsonrpc: '2.0', id: 1, method: 5 },
      { jsonrpc: '2.0', method: null },
      { jsonrpc: '2.0', id: 1, method: 5, result: {} },
    ]);
  });

  it('a response with both a result and an error is invalid', () => {
    assertInvalid([{ jsonrpc: '2.0', id: 1, result: {}, error: { code: 1, message: 'm' } }]);
  });

  it('a response with both members is invalid even when one of them is malformed (JSON-RPC 2.0 §5)', () => {
    assertInvalid([
      { jsonrpc: '2.0', id: 1, result: null, error: { code: 1, message: 'm' } },
      { jsonrpc: '2.0', id: 1, result: {}, error: null },
    ]);
  });

  it('a response with neither a result nor an error, or without an id, is invalid', () => {
    assertInvalid([
      { jsonrpc: '2.0', id: 1 },
      { jsonrpc: '2.0', result: {} },
      { jsonrpc: '2.0', error: { code: 1, message: 'm' } },
    ]);
  });

  it('a result that is not an object is invalid', () => {
    assertInvalid([
      { jsonrpc: '2.0', id: 1, result: null },
      { jsonrpc: '2.0', id: 1, result: 'ok' },
      { jsonrpc: '2.0', id: 1, result: 3 },
    ]);
  });

  it('an error without an integer code or without a string message is invalid', () => {
    assertInvalid([
      { jsonrpc: '2.0', id: 1, error: { message: 'no code' } },
      { jsonrpc: '2.0', id: 1, error: { code: '-32600', message: 'string code' } },
      { jsonrpc: '2.0', id: 1, error: { code: -32600.5, message: 'fractional code' } },
      { jsonrpc: '2.0', id: 1, error: { code: null, message: 'null code' } },
      { jsonrpc: '2.0', id: 1, error: { code: -32600 } },
      { jsonrpc: '2.0', id: 1, error: { code: -32600, message: 7 } },
      { jsonrpc: '2.0', id: 1, error: 'Invalid Request' },
      { jsonrpc: '2.0', id: 1, error: null },
    ]);
  });
});

describe('messageJson and withJson', () => {
  it('an unmarked message is serialized exactly as JSON.stringify does', () => {
    const messages: JSONRPCMessage[] = [
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text: 'é "q"' } } },
      { jsonrpc: '2.0', method: 'notifications/tools/list_changed' },
      { jsonrpc: '2.0', id: 'a', result: { tools: [{ name: 't', inputSchema: { type: 'object' } }] } },
      { jsonrpc: '2.0', id: 2, error: { code: -32602, message: 'Invalid params', data: [1, 2] } },
    ];
    for (const message of messages) assert.equal(messageJson(message), JSON.stringify(message));
  });

  it('a result marked with withJson is written from its JSON text, not from the object', () => {
    const result = withJson({ tools: [] }, '{"marker":"from the json text"}');
    const message: JSONRPCMessage = { jsonrpc: '2.0', id: 'req-1', result };
    assert.equal(
      messageJson(message),
      '{"jsonrpc":"2.0","id":"req-1","result":{"marker":"from the json text"}}',
    );
    assert.equal(JSON.stringify(message), '{"jsonrpc":"2.0","id":"req-1","result":{"tools":[]}}');
  });

  it('with a marked result a number id stays a number and a string id is quoted and escaped', () => {
    const result = withJson({}, '{"marker":1}');
    assert.equal(
      messageJson({ jsonrpc: '2.0', id: 42, result }),
      '{"jsonrpc":"2.0","id":42,"result":{"marker":1}}',
    );
    assert.equal(
      messageJson({ jsonrpc: '2.0', id: '42', result }),
      '{"jsonrpc":"2.0","id":"42","result":{"marker":1}}',
    );
    const tricky = 'a"b\\c\n</script>';
    assert.equal(
      (JSON.parse(messageJson({ jsonrpc: '2.0', id: tricky, result })) as { id: unknown }).id,
      tricky,
    );
  });

  it('the text written for a marked result parses back to a valid JSON-RPC result response', () => {
    for (const id of ['s-1', 0, 99]) {
      const result = withJson({ tools: [] }, '{"tools":[{"name":"marker","inputSchema":{"type":"object"}}]}');
      const parsed: unknown = JSON.parse(messageJson({ jsonrpc: '2.0', id, result }));
      assert.deepEqual(parsed, {
        jsonrpc: '2.0',
        id,
        result: { tools: [{ name: 'marker', inputSchema: { type: 'object' } }] },
      });
      assert.equal(isJSONRPCResultResponse(parsed), true, `id ${id}`);
      assert.deepEqual(classifyMessage(parsed), { kind: 'response', id, message: parsed });
    }
  });

  it('withJson returns the same object and adds no enumerable key', () => {
    const result = { tools: [{ name: 'a' }], nextCursor: 'n' };
    const before = JSON.stringify(result);
    const marked = withJson(result, '{"marker":true}');
    assert.equal(marked, result);
    assert.deepEqual(Object.keys(marked), ['tools', 'nextCursor']);
    assert.equal(JSON.stringify(marked), before);
    assert.deepEqual({ ...marked }, { tools: [{ name: 'a' }], nextCursor: 'n' });
  });

  it('a copy of a marked result is not marked, so it is serialized from the object', () => {
    const marked = withJson({ tools: [] as string[] }, '{"marker":true}');
    const copy = { ...marked, tools: ['changed'] };
    const message: JSONRPCMessage = { jsonrpc: '2.0', id: 1, result: copy };
    assert.equal(messageJson(message), JSON.stringify(message));
  });
});
