/**
 * The per-person connections of per-user servers (issue 14): a person's stdio child starts on their
 * first call, ends after `systemConfig.perUser.idleMs` without one, and at most
 * `maxConnections` run at once; a restart keeps each person's credentials and the server's tools.
 * People here are API keys with their own `user` (no browser is needed for typed-in inputs).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { McpError } from '@modelcontextprotocol/sdk/types.js';
import {
  ADMIN_TOKEN,
  FAST_TIMEOUTS,
  startGateway,
  stdioFixture,
  textOf,
  waitUntil,
  type TestGateway,
} from '../fixtures/gateway.js';
import { startAuthServer, type AuthServer } from '../fixtures/oidc-provider.js';
import { Browser, openConnectLink } from '../fixtures/people.js';
import { startProtectedMcp, type ProtectedMcp } from '../fixtures/protected-mcp.js';

const KEYS_SERVER = stdioFixture('keys', {
  env: { API_KEY: '${input:apiKey}' },
  inputs: [{ id: 'apiKey', password: true }],
  credentials: 'perUser',
});

function settings(perUser: object): object {
  return {
    mcpServers: { keys: KEYS_SERVER },
    // Default timeouts: several children start at once here, each compiling its TypeScript.
    systemConfig: { perUser, inboundAuth: {} },
  };
}

/** An API key acting as `user`, and an MCP client using it; the person's key value is set for them. */
async function person(gw: TestGateway, user: string, clients: Client[]): Promise<Client> {
  const response = await gw.api('/api/keys', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: user, scopes: ['mcp:all'], user }),
  });
  assert.equal(response.status, 201);
  const { secret } = (await response.json()) as { secret: string };
  await gw.manager.setInputsFor('keys', user, { apiKey: `${user}-key` });
  const client = new Client({ name: user, version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${gw.base}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${secret}` } },
    }),
  );
  clients.push(client);
  return client;
}

async function pidOf(client: Client): Promise<number> {
  return (JSON.parse(textOf(await client.callTool({ name: 'keys__pids', arguments: {} }))) as { pid: number })
    .pid;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('per-person connections', () => {
  const gateways: TestGateway[] = [];
  const clients: Client[] = [];
  after(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await Promise.all(gateways.map((gw) => gw.close()));
  });

  test('a person’s child ends after the idle time and starts again on their next call', async () => {
    const gw = await startGateway(settings({ idleMs: 300 }));
    gateways.push(gw);
    const alice = await person(gw, 'alice', clients);
    const first = await pidOf(alice);
    assert.equal(
      JSON.parse(textOf(await alice.callTool({ name: 'keys__env', arguments: {} }))).API_KEY,
      'alice-key',
    );
    await waitUntil(() => !alive(first), 'alice’s idle child to end');
    assert.equal((await gw.manager.personStatus('keys', 'alice')).connection, null);
    const second = await pidOf(alice);
    assert.notEqual(second, first);
  });

  test('at the cap the connection idle longest is closed; with every one busy a new person is refused', async () => {
    const gw = await startGateway(settings({ maxConnections: 2 }));
    gateways.push(gw);
    const [p1, p2, p3] = [
      await person(gw, 'p1', clients),
      await person(gw, 'p2', clients),
      await person(gw, 'p3', clients),
    ];
    const pid1 = await pidOf(p1);
    const pid2 = await pidOf(p2);
    // p3 is the third: p1's child, idle longest, makes room.
    await pidOf(p3);
    await waitUntil(() => !alive(pid1), 'p1’s child to be closed for p3');
    assert.ok(alive(pid2), 'p2’s child stays');
    assert.equal((await gw.manager.people('keys')).connected, 2);

    // p2 and p3 each have a call in flight: nobody's connection may be closed for p1 now.
    const holds = [new AbortController(), new AbortController()];
    const held = [p2, p3].map((client, i) =>
      client
        .callTool({ name: 'keys__hold', arguments: {} }, undefined, { signal: holds[i]!.signal })
        .catch(() => 'released'),
    );
    await waitUntil(async () => (await gw.manager.people('keys')).connected === 2, 'both calls in flight');
    await assert.rejects(p1.callTool({ name: 'keys__pids', arguments: {} }), (error: McpError) => {
      assert.equal((error.data as { code?: string }).code, 'PER_USER_LIMIT');
      return true;
    });
    for (const hold of holds) hold.abort();
    await Promise.all(held);
    // Once they are done, p1 gets a connection again.
    assert.ok((await pidOf(p1)) > 0);
  });
});

describe('a restart keeps each person’s credentials and the server’s tools', () => {
  let as: AuthServer;
  let mcp: ProtectedMcp;
  let gw: TestGateway | undefined;
  after(async () => {
    await gw?.close();
    await Promise.all([as?.close(), mcp?.close()]);
  });

  test('on the open loopback endpoint the local person is the dashboard’s admin; restarted, no consent is asked', async () => {
    as = await startAuthServer();
    mcp = await startProtectedMcp({ authServer: as });
    gw = await startGateway({
      mcpServers: { github: { type: 'streamable-http', url: mcp.url, credentials: 'perUser' } },
      systemConfig: { timeouts: FAST_TIMEOUTS },
    });
    // The admin's browser, signed in to the dashboard with the admin token (at localhost, the
    // name Gatehouse gives itself in links without a baseUrl).
    const browser = new Browser();
    const signIn = await browser.fetch(`${gw.base.replace('127.0.0.1', 'localhost')}/api/session`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    assert.equal(signIn.status, 204);
    const client = await gw.client();
    const link = await client.callTool({ name: 'github__whoami', arguments: {} }).then(
      () => assert.fail('nobody has authorized github'),
      (error: McpError) => (error.data as { elicitations: Array<{ url: string }> }).elicitations[0]!.url,
    );
    assert.equal((await openConnectLink(browser, link, 'alice')).status, 200);
    assert.equal(textOf(await client.callTool({ name: 'github__whoami', arguments: {} })), 'alice');
    const exchanges = as.counts.codeExchanges;
    // The dashboard's Try it acts as the administrator: their own connection answers.
    const tried = await gw.api('/api/servers/github/tools/whoami/call', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    assert.match(await tried.text(), /event: result\ndata: .*"text":"alice"/);

    // Nothing of the person's is in the settings file; their tokens are in the state file, encrypted.
    const settingsText = await readFile(gw.settingsPath, 'utf8');
    assert.ok(!settingsText.includes('gatehouse'), settingsText);
    const stateText = await readFile(join(gw.dir, '.gatehouse-state.json'), 'utf8');
    assert.match(stateText, /upstream-credentials/);
    for (const token of mcp.seen.tokens) assert.ok(!stateText.includes(token), 'no token in plain text');

    const dir = gw.dir;
    await gw.close({ keepFiles: true });
    gw = await startGateway(null, { dir });
    const again = await gw.client();
    // The tools show before anyone's connection runs again (remembered from before the restart).
    const tools = (await again.listTools()).tools.map((t) => t.name);
    assert.ok(tools.includes('github__whoami'), tools.join(', '));
    assert.equal(textOf(await again.callTool({ name: 'github__whoami', arguments: {} })), 'alice');
    assert.equal(as.counts.codeExchanges, exchanges, 'no new consent');
  });
});
