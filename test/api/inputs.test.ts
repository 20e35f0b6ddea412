/**
 * Credentials a person types in (issue 12): a server whose entry uses `${input:<id>}` waits for
 * them ("Needs credentials"), gets them through `PUT /api/servers/:name/inputs`, stores them
 * encrypted and connects; the value reaches only that server's child environment or headers, and
 * never the settings file in plaintext, an API answer or a log line.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';

import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

import type { ServerDetail } from '../../server/api/status.js';
import { FAST_TIMEOUTS, startGateway, stdioFixture, textOf, type TestGateway } from '../fixtures/gateway.js';

const API_KEY = 'sk-test-0f9a8b7c6d5e4f3a';
const TOKEN = 'tok-test-1a2b3c4d5e6f7a8b';

/** A stateless SDK MCP server that answers only requests carrying `Authorization: Bearer <token>`. */
async function startKeyedUpstream(
  token: string,
): Promise<{ url: string; seen: string[]; close(): Promise<void> }> {
  const seen: string[] = [];
  const http: Server = createServer((req, res) => {
    void (async () => {
      seen.push(req.headers.authorization ?? '(none)');
      if (req.headers.authorization !== `Bearer ${token}`) return void res.writeHead(401).end();
      const body = req.method === 'POST' ? await readJson(req) : undefined;
      const server = new McpServer({ name: 'keyed', version: '1.0.0' });
      server.registerTool('ping', { description: 'Answers pong' }, async () => ({
        content: [{ type: 'text', text: 'pong' }],
      }));
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
    })();
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    seen,
    close: async () => {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

describe('inputs: credentials a person types in', () => {
  let keyed: Awaited<ReturnType<typeof startKeyedUpstream>>;
  let gw: TestGateway;
  const logs: string[] = [];

  const putInputs = (name: string, values: unknown) =>
    gw.api(`/api/servers/${name}/inputs`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ values }),
    });
  const detail = async (name: string) =>
    (await (await gw.api(`/api/servers/${name}`)).json()) as ServerDetail;

  before(async () => {
    keyed = await startKeyedUpstream(TOKEN);
    gw = await startGateway(
      {
        mcpServers: {
          local: stdioFixture('local', {
            env: { API_KEY: '${input:api-key}', MODE: 'test' },
            inputs: [{ id: 'api-key', description: 'Local API key', password: true }],
          }),
          remote: {
            type: 'streamable-http',
            url: keyed.url,
            headers: { Authorization: 'Bearer ${input:token}' },
            inputs: [{ id: 'token', description: 'Remote token', password: true }],
          },
        },
        systemConfig: { timeouts: FAST_TIMEOUTS },
      },
      { logger: { level: 'trace', stream: { write: (line: string) => void logs.push(line) } } },
    );
  });
  after(async () => {
    await gw?.close();
    await keyed?.close();
  });

  test('a stdio server waits for its value, gets it through the API, and sees it in its environment', async () => {
    const waiting = await gw.waitForServer('local', (s) => s.status === 'auth_required', 'waiting');
    assert.equal(waiting.label, 'Needs credentials');
    assert.equal(waiting.error?.code, 'UPSTREAM_CREDENTIALS_REQUIRED');
    assert.deepEqual(waiting.auth, {
      stage: 'awaiting_user',
      needs: 'credentials',
      label: 'Needs credentials',
    });
    assert.deepEqual(waiting.inputs, { missing: ['api-key'] });
    assert.deepEqual((await detail('local')).inputs, [
      { id: 'api-key', description: 'Local API key', password: true, set: false },
    ]);

    const res = await putInputs('local', { 'api-key': API_KEY });
    assert.equal(res.status, 204);
    const connected = await gw.waitForServer('local', (s) => s.status === 'connected', 'connected');
    assert.equal(connected.label, 'Connected');
    assert.equal(connected.auth, undefined, 'nothing left to do for a person');
    assert.deepEqual(connected.inputs, { missing: [] });
    assert.deepEqual((await detail('local')).inputs?.[0]?.set, true);

    const client = await gw.client();
    const env = JSON.parse(textOf(await client.callTool({ name: 'local__env', arguments: {} }))) as Record<
      string,
      string
    >;
    assert.equal(env.API_KEY, API_KEY);
    assert.equal(env.MODE, 'test');
  });

  test('the value is stored encrypted: the settings file keeps the reference and no plaintext', async () => {
    const text = await readFile(gw.settingsPath, 'utf8');
    assert.ok(!text.includes(API_KEY), 'no plaintext value in the settings file');
    const file = JSON.parse(text) as {
      mcpServers: {
        local: { env: Record<string, string>; gatehouse?: { credentials?: Record<string, string> } };
      };
    };
    assert.equal(file.mcpServers.local.env.API_KEY, '${input:api-key}');
    assert.match(file.mcpServers.local.gatehouse?.credentials?.['gateway:inputs'] ?? '', /^enc:v1:/);
  });

  test('an HTTP server waits without sending anything, then sends the value in its header', async () => {
    const waiting = await gw.waitForServer('remote', (s) => s.status === 'auth_required', 'waiting');
    assert.equal(waiting.label, 'Needs credentials');
    assert.equal(waiting.auth?.needs, 'credentials');
    assert.deepEqual(keyed.seen, [], 'no request went out without the value');

    assert.equal((await putInputs('remote', { token: TOKEN })).status, 204);
    await gw.waitForServer('remote', (s) => s.status === 'connected', 'connected');
    assert.ok(keyed.seen.length > 0 && keyed.seen.every((h) => h === `Bearer ${TOKEN}`));
    const client = await gw.client();
    assert.equal(textOf(await client.callTool({ name: 'remote__ping', arguments: {} })), 'pong');
  });

  test('the API refuses ids the entry does not declare, empty values and unknown servers', async () => {
    const unknownId = await putInputs('local', { other: 'x' });
    assert.equal(unknownId.status, 400);
    assert.equal(((await unknownId.json()) as { error: { code: string } }).error.code, 'BAD_REQUEST');
    assert.equal((await putInputs('local', { 'api-key': '' })).status, 400);
    assert.equal((await putInputs('local', { 'api-key': 'a\nb' })).status, 400);
    assert.equal((await putInputs('nope', { 'api-key': 'x' })).status, 404);
    const unauthenticated = await fetch(`${gw.base}/api/servers/local/inputs`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ values: { 'api-key': 'x' } }),
    });
    assert.equal(unauthenticated.status, 401);
  });

  test('forgetting a value makes the server wait again', async () => {
    assert.equal((await putInputs('local', { 'api-key': null })).status, 204);
    const waiting = await gw.waitForServer('local', (s) => s.status === 'auth_required', 'waiting again');
    assert.deepEqual(waiting.inputs, { missing: ['api-key'] });
    const file = JSON.parse(await readFile(gw.settingsPath, 'utf8')) as {
      mcpServers: Record<string, { gatehouse?: unknown }>;
    };
    assert.equal(file.mcpServers.local?.gatehouse, undefined, 'the empty record is gone');
  });

  test('no value ever appears in an API answer or a log line', async () => {
    const answers = [
      await (await gw.api('/api/servers')).text(),
      await (await gw.api('/api/servers/local')).text(),
      await (await gw.api('/api/servers/remote')).text(),
    ].join('\n');
    for (const value of [API_KEY, TOKEN]) {
      assert.ok(!answers.includes(value), 'not in the API');
      assert.ok(!logs.join('').includes(value), 'not in the logs');
    }
    assert.ok(logs.length > 0, 'the gateway did log');
  });
});
