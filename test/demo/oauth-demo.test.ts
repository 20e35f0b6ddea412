import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { FAST_TIMEOUTS, startGateway, textOf, type TestGateway } from '../fixtures/gateway.js';
import { completeAuthorization } from '../fixtures/oidc-provider.js';
import { portBelowEphemeralRange } from '../fixtures/process.js';

const root = join(import.meta.dirname, '..', '..');
const entry = join(root, 'server', 'demo', 'oauth-demo.ts');

interface DemoStatus {
  listening: boolean;
  issuer: string;
  sinceStart: { registrations: number; authorizations: number; codeExchanges: number };
  stored: Record<string, number>;
}

describe('the shipped OAuth demo (demo-auth + demo-oauth) through the gateway', () => {
  let gw: TestGateway;
  let port: number;
  let stateDir: string;
  let mcpUrl: string;

  before(async () => {
    // The demo binds the number it is given, and demo-oauth's URL names it before it listens.
    port = await portBelowEphemeralRange();
    stateDir = await mkdtemp(join(tmpdir(), 'gatehouse-demo-oauth-'));
    mcpUrl = `http://127.0.0.1:${port}/mcp`;
    gw = await startGateway({
      mcpServers: {
        // The source through tsx, so the test needs no build; the shipped entry runs dist/…/oauth-demo.js.
        'demo-auth': {
          command: process.execPath,
          args: ['--import', 'tsx', entry],
          cwd: root,
          env: { DEMO_OAUTH_PORT: String(port), DEMO_OAUTH_STATE: stateDir },
        },
        'demo-oauth': { url: mcpUrl },
      },
      systemConfig: { timeouts: { ...FAST_TIMEOUTS, connectMs: 15_000 } },
    });
  });
  after(async () => {
    await gw?.close();
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  const demoStatus = async (): Promise<DemoStatus> => {
    const client = await gw.client();
    const result = await client.callTool({ name: 'demo-auth__status', arguments: {} });
    return JSON.parse(textOf(result)) as DemoStatus;
  };

  test('without a token /mcp answers 401 with the RFC 9728 resource_metadata challenge', async () => {
    await gw.waitForServer('demo-auth', (s) => s.status === 'connected', 'demo-auth connected');
    assert.equal((await demoStatus()).listening, true);
    const metadataUrl = `http://127.0.0.1:${port}/.well-known/oauth-protected-resource/mcp`;
    for (const authorization of [undefined, 'Bearer not-a-jwt']) {
      const res = await fetch(mcpUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
        body: '{}',
      });
      assert.equal(res.status, 401);
      const challenge = res.headers.get('www-authenticate') ?? '';
      assert.match(challenge, new RegExp(`^Bearer .*resource_metadata="${metadataUrl}"`));
      if (authorization) assert.match(challenge, /error="invalid_token"/);
    }
    const metadata = (await (await fetch(metadataUrl)).json()) as Record<string, unknown>;
    assert.equal(metadata.resource, mcpUrl);
    assert.deepEqual(metadata.authorization_servers, [`http://127.0.0.1:${port}`]);
  });

  test('demo-oauth waits for a person: auth_required, awaiting_user', async () => {
    const status = await gw.waitForServer(
      'demo-oauth',
      (s) => s.status === 'auth_required' && s.auth?.stage === 'awaiting_user',
      'auth_required + awaiting_user',
    );
    assert.equal(status.error?.code, 'UPSTREAM_AUTH_REQUIRED');
  });

  test('authorize → sign in and consent at the demo → callback connects; whoami answers', async () => {
    const res = await gw.api('/api/servers/demo-oauth/authorize', { method: 'POST' });
    assert.equal(res.status, 200);
    const { authorizationUrl } = (await res.json()) as { authorizationUrl: string };
    const url = new URL(authorizationUrl);
    assert.equal(url.origin, `http://127.0.0.1:${port}`);
    assert.equal(url.searchParams.get('resource'), mcpUrl);
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256');

    const redirect = await completeAuthorization(authorizationUrl, 'alice');
    assert.equal(redirect.searchParams.get('iss'), `http://127.0.0.1:${port}`, 'RFC 9207 iss');
    // The redirect names localhost; the gateway listens on 127.0.0.1.
    const callback = await fetch(`${gw.base}/oauth/callback${redirect.search}`);
    assert.equal(callback.status, 200, await callback.clone().text());
    await gw.waitForServer('demo-oauth', (s) => s.status === 'connected', 'connected after consent');

    const client = await gw.client();
    const whoami = await client.callTool({ name: 'demo-oauth__whoami', arguments: {} });
    assert.match(textOf(whoami), /"alice"/);
    assert.deepEqual((whoami.structuredContent as { scopes: string[] }).scopes, ['mcp:tools']);
    const secret = await client.callTool({ name: 'demo-oauth__secret_number', arguments: {} });
    assert.match(textOf(secret), /^The secret number for "alice" is \d+\.$/);

    const demo = await demoStatus();
    assert.equal(demo.sinceStart.registrations, 1);
    assert.equal(demo.sinceStart.authorizations, 1);
    assert.equal(demo.sinceStart.codeExchanges, 1);
  });

  test('the demo keeps its state in one private file: the client and the grant', async () => {
    const file = join(stateDir, '.gatehouse-demo-oauth.json');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const stored = (await demoStatus()).stored;
    assert.equal(stored.Client, 1);
    assert.equal(stored.Grant, 1);
    assert.ok((stored.RefreshToken ?? 0) >= 1);
  });

  test('a restarted gateway restarts the demo and connects again: no new consent, no new registration', async () => {
    const dir = gw.dir;
    await gw.close({ keepFiles: true });
    gw = await startGateway(null, { dir });
    await gw.waitForServer('demo-oauth', (s) => s.status === 'connected', 'connected after restart');
    await gw.waitForServer('demo-auth', (s) => s.status === 'connected', 'demo-auth connected');
    const client = await gw.client();
    assert.match(textOf(await client.callTool({ name: 'demo-oauth__whoami', arguments: {} })), /"alice"/);
    const demo = await demoStatus();
    assert.equal(demo.sinceStart.registrations, 0, 'no new registration');
    assert.equal(demo.sinceStart.authorizations, 0, 'no new consent');
    assert.equal(demo.stored.Client, 1);
  });
});

describe('the OAuth demo as a stdio server', () => {
  test('it answers initialize only once its authorization server and MCP endpoint listen', async () => {
    // The gateway connects demo-oauth as soon as demo-auth is connected: the port must be up by then.
    const port = await portBelowEphemeralRange();
    const stateDir = await mkdtemp(join(tmpdir(), 'gatehouse-demo-stdio-'));
    const client = new Client({ name: 't', version: '1' });
    try {
      await client.connect(
        new StdioClientTransport({
          command: process.execPath,
          args: ['--import', 'tsx', entry],
          cwd: root,
          env: { PATH: process.env.PATH ?? '', DEMO_OAUTH_PORT: String(port), DEMO_OAUTH_STATE: stateDir },
          stderr: 'ignore',
        }),
      );
      const listening = await new Promise<boolean>((resolve) => {
        const socket = connect(port, '127.0.0.1');
        socket.once('connect', () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(false));
      });
      assert.equal(listening, true, `127.0.0.1:${port} listens when initialize is answered`);
    } finally {
      await client.close();
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});
