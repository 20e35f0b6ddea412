/**
 * MCP errors that cross the gateway carry one "MCP error <code>: " prefix, not two, in both
 * directions; an unknown tool is reported the same way whatever its name's prefix names.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CallToolRequestSchema,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
} from '@modelcontextprotocol/sdk/types.js';
import { plainErrorText, withPlainErrorText } from '../../server/upstream/mcp-error-text.js';
import { startGateway, textOf, type TestGateway } from '../fixtures/gateway.js';
import { startLowLevelUpstream } from '../fixtures/mcp-upstream.js';

/** A low-level SDK server: `strict` fails with a JSON-RPC error, `ask` asks the client to elicit. */
function startStrictUpstream(): Promise<{ url: string; close: () => Promise<void> }> {
  return startLowLevelUpstream('strict', (server) => {
    server.setRequestHandler(ListToolsRequestSchema, async () => ({
      tools: [
        { name: 'strict', inputSchema: { type: 'object' } },
        { name: 'ask', inputSchema: { type: 'object' } },
      ],
    }));
    server.setRequestHandler(CallToolRequestSchema, async (request) => {
      if (request.params.name === 'strict') {
        throw new McpError(ErrorCode.InvalidRequest, 'the request is not acceptable');
      }
      if (request.params.name === 'ask') {
        try {
          await server.elicitInput({
            message: 'Sure?',
            requestedSchema: { type: 'object', properties: {} },
          });
          return { content: [{ type: 'text', text: 'asked' }] };
        } catch (error) {
          return { content: [{ type: 'text', text: (error as Error).message }], isError: true };
        }
      }
      throw new McpError(ErrorCode.InvalidParams, `Tool ${request.params.name} not found`);
    });
  });
}

test('the prefix is removed once per code, repeated ones too; other texts stay as they are', () => {
  assert.equal(plainErrorText(-32600, 'MCP error -32600: MCP error -32600: no'), 'no');
  assert.equal(plainErrorText(-32600, 'MCP error -32602: no'), 'MCP error -32602: no');
  assert.equal(plainErrorText(-32600, 'no'), 'no');
  const untouched = { jsonrpc: '2.0' as const, id: 1, result: {} };
  assert.equal(withPlainErrorText(untouched), untouched);
  assert.deepEqual(
    withPlainErrorText({ jsonrpc: '2.0', id: 1, error: { code: -1, message: 'MCP error -1: x', data: 3 } }),
    { jsonrpc: '2.0', id: 1, error: { code: -1, message: 'x', data: 3 } },
  );
});

describe('MCP errors through the gateway', () => {
  let upstream: { url: string; close: () => Promise<void> };
  let gw: TestGateway;
  before(async () => {
    upstream = await startStrictUpstream();
    gw = await startGateway({ mcpServers: { demo: { type: 'streamable-http', url: upstream.url } } });
    await gw.waitForServer('demo', (s) => s.status === 'connected', 'connected');
  });
  after(async () => {
    await gw?.close();
    await upstream?.close();
  });

  test("an upstream's JSON-RPC error reaches the client with one prefix (SSE session too)", async () => {
    for (const client of [await gw.client(), await gw.client('/sse', { sse: true })]) {
      const error = await client.callTool({ name: 'demo__strict', arguments: {} }).then(
        () => assert.fail('the call succeeded'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof McpError);
      assert.equal(error.code, ErrorCode.InvalidRequest);
      assert.equal(error.message, 'MCP error -32600: the request is not acceptable');
    }
  });

  test('a refusal the gateway sends upstream reaches the upstream with one prefix', async () => {
    const client = await gw.client(); // no elicitation capability
    const result = await client.callTool({ name: 'demo__ask', arguments: {} });
    assert.equal(
      textOf(result),
      'MCP error -32600: the connected client does not support elicitation/create',
    );
  });

  test('an unknown tool is reported the same way whatever its prefix names', async () => {
    const client = await gw.client();
    for (const name of ['nosuchserver__x', 'demo__nosuchtool', 'plain']) {
      const error = await client.callTool({ name, arguments: {} }).then(
        () => assert.fail(`${name} was called`),
        (e: unknown) => e,
      );
      assert.ok(error instanceof McpError, name);
      assert.equal(error.code, ErrorCode.InvalidParams, name);
      assert.equal(error.message, `MCP error -32602: no tool named "${name}"`);
      assert.deepEqual(error.data, { code: 'TOOL_NOT_FOUND' }, name);
    }
  });
});
