/**
 * Transport-level refusals of the MCP endpoint all come from the one error table: HTTP status,
 * JSON-RPC code (`id: null`) and Gatehouse's stable code in `data`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { ERROR_TABLE, rpcCodeOf } from '../../server/errors.js';
import { refusal } from '../../server/gateway/messages.js';
import { ADMIN_TOKEN, startGateway, type TestGateway } from '../fixtures/gateway.js';

const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

interface Body {
  jsonrpc: string;
  id: unknown;
  error: { code: number; message: string; data?: { code?: string } };
}

test('a refusal takes status and JSON-RPC code from the table, and names its code in data', () => {
  const { status, body } = refusal('SESSION_NOT_FOUND');
  assert.equal(status, ERROR_TABLE.SESSION_NOT_FOUND.status);
  assert.deepEqual(JSON.parse(body), {
    jsonrpc: '2.0',
    error: { code: -32001, message: 'Session not found', data: { code: 'SESSION_NOT_FOUND' } },
    id: null,
  });
  assert.equal(rpcCodeOf('ORIGIN_REJECTED'), -32000);
  assert.equal(rpcCodeOf('TOOL_NOT_FOUND'), -32602);
  assert.equal(rpcCodeOf('UPSTREAM_CLOSED'), -32603, 'no rpc in the table: internal error');
});

describe('refusals of the MCP endpoint', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway({ mcpServers: {} });
  });
  after(async () => {
    await gw?.close();
  });

  async function refused(res: Response, status: number, code: string, rpc: number): Promise<Body> {
    assert.equal(res.status, status, code);
    const body = (await res.json()) as Body;
    assert.equal(body.id, null, code);
    assert.equal(body.error.code, rpc, code);
    assert.equal(body.error.data?.code, code);
    return body;
  }

  test('a foreign origin: 403 ORIGIN_REJECTED', async () => {
    const res = await fetch(`${gw.base}/mcp`, {
      method: 'POST',
      headers: { ...HEADERS, origin: 'https://attacker.example' },
      body: '{}',
    });
    const body = await refused(res, 403, 'ORIGIN_REJECTED', -32000);
    assert.match(body.error.message, /attacker\.example/);
  });

  test('an unknown session: 404 SESSION_NOT_FOUND, on /mcp and on /messages', async () => {
    const mcp = await fetch(`${gw.base}/mcp`, {
      method: 'POST',
      headers: { ...HEADERS, 'mcp-session-id': 'gone' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    });
    await refused(mcp, 404, 'SESSION_NOT_FOUND', -32001);
    const messages = await fetch(`${gw.base}/messages?sessionId=gone`, {
      method: 'POST',
      headers: HEADERS,
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    });
    await refused(messages, 404, 'SESSION_NOT_FOUND', -32001);
  });

  test('an unknown group: 404 SERVER_NOT_FOUND; no session: 400 MCP_BAD_REQUEST', async () => {
    await refused(
      await fetch(`${gw.base}/mcp/nosuch`, { method: 'POST', headers: HEADERS, body: '{}' }),
      404,
      'SERVER_NOT_FOUND',
      -32602,
    );
    await refused(
      await fetch(`${gw.base}/mcp`, {
        method: 'POST',
        headers: HEADERS,
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
      }),
      400,
      'MCP_BAD_REQUEST',
      -32000,
    );
  });

  test('bodies: invalid JSON 400 MCP_PARSE_ERROR, another media type 415', async () => {
    await refused(
      await fetch(`${gw.base}/mcp`, { method: 'POST', headers: HEADERS, body: '{"jsonrpc":' }),
      400,
      'MCP_PARSE_ERROR',
      -32700,
    );
    await refused(
      await fetch(`${gw.base}/mcp`, {
        method: 'POST',
        headers: { ...HEADERS, 'content-type': 'text/plain' },
        body: 'hello',
      }),
      415,
      'MCP_UNSUPPORTED_MEDIA_TYPE',
      -32000,
    );
  });

  test('the admin API answers a malformed body with BAD_REQUEST from the table', async () => {
    assert.ok('BAD_REQUEST' in ERROR_TABLE);
    const status = await new Promise<number>((resolve, reject) => {
      const url = new URL(`${gw.base}/api/servers`);
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { error?: { code?: string } };
            assert.equal(body.error?.code, 'BAD_REQUEST');
            resolve(res.statusCode ?? 0);
          });
        },
      );
      req.on('error', reject);
      req.end('{not json');
    });
    assert.equal(status, 400);
  });
});
