/**
 * Inbound authentication on /mcp (issue 13): API keys and the admin token, the 401 and 403
 * challenges, scopes enforced on listing and calling, sessions bound to their principal, the
 * protected resource metadata, the failed-attempt rate limit. Real SDK clients, real upstreams.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  ADMIN_TOKEN,
  FAST_TIMEOUTS,
  INITIALIZE_BODY,
  initializeWith,
  startGateway,
  textOf,
  type TestGateway,
} from '../fixtures/gateway.js';
import { startHttpUpstream, type HttpUpstream } from '../fixtures/mcp-upstream.js';

const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

async function connect(gw: TestGateway, token: string | undefined, path = '/mcp'): Promise<Client> {
  const client = new Client({ name: 'inbound-test', version: '1.0.0' });
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${gw.base}${path}`), { requestInit: { headers } }),
  );
  return client;
}

async function toolNames(client: Client): Promise<string[]> {
  return (await client.listTools()).tools.map((t) => t.name).sort();
}

async function createKey(gw: TestGateway, body: object): Promise<{ key: { id: string }; secret: string }> {
  const response = await gw.api('/api/keys', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(response.status, 201, await response.clone().text());
  return (await response.json()) as { key: { id: string }; secret: string };
}

function settings(a: HttpUpstream, b: HttpUpstream, inboundAuth?: object): object {
  return {
    mcpServers: {
      alpha: { type: 'streamable-http', url: a.url },
      beta: { type: 'streamable-http', url: b.url },
    },
    groups: { team: { servers: ['beta'] } },
    systemConfig: { timeouts: FAST_TIMEOUTS, ...(inboundAuth ? { inboundAuth } : {}) },
  };
}

/** Upstreams alpha and beta (beta in group team) behind a gateway, both connected. */
async function twoUpstreams(inboundAuth?: object) {
  const a = await startHttpUpstream('alpha');
  const b = await startHttpUpstream('beta');
  const gw = await startGateway(settings(a, b, inboundAuth));
  await gw.waitForServer('alpha', (s) => s.status === 'connected');
  await gw.waitForServer('beta', (s) => s.status === 'connected');
  return { a, b, gw };
}

describe('inbound authentication with inboundAuth configured', () => {
  let a: HttpUpstream;
  let b: HttpUpstream;
  let gw: TestGateway;

  before(async () => {
    ({ a, b, gw } = await twoUpstreams({}));
  });
  after(async () => {
    await gw?.close();
    await a?.stop();
    await b?.stop();
  });

  test('a request without a credential gets 401 naming the resource metadata and the scope of its path', async () => {
    for (const [path, scope] of [
      ['/mcp', 'mcp:all'],
      ['/mcp/alpha', 'mcp:server:alpha'],
      ['/mcp/team', 'mcp:group:team'],
      ['/sse', 'mcp:all'],
    ] as const) {
      const response = await fetch(`${gw.base}${path}`, {
        method: path.startsWith('/sse') ? 'GET' : 'POST',
        headers: MCP_HEADERS,
        body: path.startsWith('/sse') ? undefined : INITIALIZE_BODY,
      });
      assert.equal(response.status, 401, path);
      assert.equal(
        response.headers.get('www-authenticate'),
        `Bearer resource_metadata="${gw.base}/.well-known/oauth-protected-resource${path}", scope="${scope}"`,
      );
      const body = (await response.json()) as { error: { message: string } };
      assert.match(body.error.message, /send an access token or API key/);
    }
    const wrong = await initializeWith(`${gw.base}/mcp`, 'not-a-key');
    assert.equal(wrong.status, 401);
    assert.match(
      wrong.headers.get('www-authenticate') ?? '',
      /^Bearer error="invalid_token", resource_metadata=/,
    );
  });

  test('the admin token is an all-access key', async () => {
    const client = await connect(gw, ADMIN_TOKEN);
    const names = await toolNames(client);
    assert.ok(names.includes('alpha__whoami') && names.includes('beta__whoami'), names.join());
    assert.equal(textOf(await client.callTool({ name: 'beta__whoami' })), 'beta');
    await client.close();
    // A client's credential is Gatehouse's business only: it never travels upstream.
    assert.deepEqual([...a.authorizations, ...b.authorizations], []);
  });

  test('a key scoped to one server sees and calls only its tools, on /mcp and on /mcp/<other>', async () => {
    const { secret } = await createKey(gw, { name: 'alpha only', scopes: ['mcp:server:alpha'] });
    const client = await connect(gw, secret);
    const names = await toolNames(client);
    assert.ok(names.length > 0 && names.every((n) => n.startsWith('alpha__')), names.join());
    assert.equal(textOf(await client.callTool({ name: 'alpha__whoami' })), 'alpha');
    await assert.rejects(client.callTool({ name: 'beta__whoami' }), /no tool named "beta__whoami"/);
    await client.close();

    const other = await initializeWith(`${gw.base}/mcp/beta`, secret);
    assert.equal(other.status, 403);
    assert.equal(
      other.headers.get('www-authenticate'),
      `Bearer error="insufficient_scope", resource_metadata="${gw.base}/.well-known/oauth-protected-resource/mcp/beta", scope="mcp:server:beta"`,
    );
  });

  test('a group scope covers the group as it stands', async () => {
    const { secret } = await createKey(gw, { name: 'team', scopes: ['mcp:group:team'] });
    const client = await connect(gw, secret, '/mcp/team');
    assert.deepEqual(
      (await toolNames(client)).every((n) => n.startsWith('beta__')),
      true,
    );
    await client.close();
    const everything = await connect(gw, secret);
    assert.ok((await toolNames(everything)).every((n) => n.startsWith('beta__')));
    await everything.close();
  });

  test('a revoked key is refused from the next request on, in an open session too', async () => {
    const { key, secret } = await createKey(gw, { name: 'short-lived', scopes: ['mcp:all'] });
    const client = await connect(gw, secret);
    assert.ok((await toolNames(client)).length > 0);
    const revoked = await gw.api(`/api/keys/${key.id}`, { method: 'DELETE' });
    assert.equal(revoked.status, 204);
    await assert.rejects(client.listTools(), /401|Unauthorized|not valid/);
    const listed = (await (await gw.api('/api/keys')).json()) as { keys: Array<{ id: string }> };
    assert.ok(!listed.keys.some((k) => k.id === key.id));
    assert.equal((await gw.api(`/api/keys/${key.id}`, { method: 'DELETE' })).status, 404);
  });

  test('a session answers only the person who opened it', async () => {
    const alice = await createKey(gw, { name: 'alice', scopes: ['mcp:all'], user: 'alice' });
    const bob = await createKey(gw, { name: 'bob', scopes: ['mcp:all'], user: 'bob' });
    const opened = await initializeWith(`${gw.base}/mcp`, alice.secret);
    assert.equal(opened.status, 200);
    const session = opened.headers.get('mcp-session-id')!;
    await opened.body?.cancel();
    const list = (token: string) =>
      fetch(`${gw.base}/mcp`, {
        method: 'POST',
        headers: {
          ...MCP_HEADERS,
          authorization: `Bearer ${token}`,
          'mcp-session-id': session,
          'mcp-protocol-version': '2025-06-18',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
      });
    const stolen = await list(bob.secret);
    assert.equal(stolen.status, 403);
    assert.match(
      ((await stolen.json()) as { error: { message: string } }).error.message,
      /another principal/,
    );
    const own = await list(alice.secret);
    assert.equal(own.status, 200);
    await own.body?.cancel();
  });

  test('keys: the secret is shown once, never listed, stored hashed and encrypted, valid after a restart', async () => {
    const created = await createKey(gw, {
      name: 'nightly report',
      scopes: ['mcp:server:alpha'],
      user: 'carol',
      expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
    });
    assert.match(created.secret, /^gh_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    const listed = (await (await gw.api('/api/keys')).json()) as { keys: Array<Record<string, unknown>> };
    const mine = listed.keys.find((k) => k.id === created.key.id)!;
    assert.deepEqual(Object.keys(mine).sort(), [
      'createdAt',
      'createdBy',
      'expiresAt',
      'id',
      'name',
      'scopes',
      'user',
    ]);
    assert.equal(mine.user, 'carol');
    assert.ok(!JSON.stringify(listed).includes(created.secret.split('_').at(-1)!));

    const file = await readFile(join(gw.dir, '.gatehouse-state.json'), 'utf8');
    for (const plain of [created.secret.split('_').at(-1)!, 'nightly report', 'carol']) {
      assert.ok(!file.includes(plain), `the state file shows ${plain}`);
    }
    const bad = await gw.api('/api/keys', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x', scopes: ['mcp:server:nosuch'] }),
    });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { error: { code: string } }).error.code, 'SCOPE_INVALID');

    await gw.close({ keepFiles: true });
    gw = await startGateway(null, { dir: gw.dir });
    await gw.waitForServer('alpha', (s) => s.status === 'connected');
    const client = await connect(gw, created.secret);
    assert.equal(textOf(await client.callTool({ name: 'alpha__whoami' })), 'alpha');
    await client.close();
  });

  test('protected resource metadata for every endpoint, and the root document', async () => {
    const doc = async (path: string) => {
      const response = await fetch(`${gw.base}/.well-known/oauth-protected-resource${path}`);
      assert.equal(response.status, 200, path);
      assert.equal(response.headers.get('access-control-allow-origin'), '*');
      return (await response.json()) as Record<string, unknown>;
    };
    assert.deepEqual(await doc('/mcp/alpha'), {
      resource: `${gw.base}/mcp/alpha`,
      scopes_supported: ['mcp:server:alpha', 'mcp:all'],
      bearer_methods_supported: ['header'],
      resource_name: 'Gatehouse: alpha',
    });
    assert.deepEqual((await doc('/mcp/team')).scopes_supported, ['mcp:group:team', 'mcp:all']);
    assert.deepEqual((await doc('/mcp')).scopes_supported, [
      'mcp:all',
      'mcp:server:alpha',
      'mcp:server:beta',
      'mcp:group:team',
    ]);
    assert.equal((await doc('/sse')).resource, `${gw.base}/sse`);
    assert.equal((await doc('')).resource, gw.base);
    const missing = await fetch(`${gw.base}/.well-known/oauth-protected-resource/mcp/nosuch`);
    assert.equal(missing.status, 404);
  });

  test('failed attempts are rate-limited per address (429 with Retry-After)', async () => {
    let last: Response | undefined;
    for (let i = 0; i < 25; i++) {
      last = await initializeWith(`${gw.base}/mcp`, `gh_nosuch_${i}`);
      await last.body?.cancel();
      if (last.status === 429) break;
    }
    assert.equal(last?.status, 429);
    assert.ok(Number(last.headers.get('retry-after')) > 0);
  });
});

describe('inbound authentication without inboundAuth (loopback)', () => {
  let a: HttpUpstream;
  let b: HttpUpstream;
  let gw: TestGateway;

  before(async () => {
    ({ a, b, gw } = await twoUpstreams());
  });
  after(async () => {
    await gw?.close();
    await a?.stop();
    await b?.stop();
  });

  test('/mcp stays open to local clients; a presented key is still checked and narrows what is seen', async () => {
    const open = await connect(gw, undefined);
    const all = await toolNames(open);
    assert.ok(all.includes('alpha__whoami') && all.includes('beta__whoami'));
    await open.close();

    const { secret } = await createKey(gw, { name: 'beta', scopes: ['mcp:server:beta'] });
    const narrowed = await connect(gw, secret);
    assert.ok((await toolNames(narrowed)).every((n) => n.startsWith('beta__')));
    await narrowed.close();

    const wrong = await initializeWith(`${gw.base}/mcp`, 'gh_forged_key');
    assert.equal(wrong.status, 401);
  });
});
