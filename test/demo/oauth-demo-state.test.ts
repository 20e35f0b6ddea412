import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileAdapter } from '../../server/demo/oauth-demo/file-adapter.js';
import { startOAuthDemo, type OAuthDemo } from '../../server/demo/oauth-demo/start.js';
import { StateFile, StateFileError } from '../../server/demo/oauth-demo/state-file.js';
import { completeAuthorization } from '../fixtures/oidc-provider.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gatehouse-demo-state-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the demo state file and its oidc-provider adapter', () => {
  test('records survive a reopen, expire on time, and the file is private', async () => {
    let now = 1_000_000;
    const path = join(dir, 'a', '.gatehouse-demo-oauth.json');
    const adapters = fileAdapter(await StateFile.open(path, { now: () => now }), () => now);
    await adapters('Client').upsert('c1', { client_id: 'c1' });
    await adapters('Session').upsert('s1', { uid: 'u1', accountId: 'alice' }, 60);
    await adapters('RefreshToken').upsert('r1', { grantId: 'g1' }, 600);
    await adapters('AuthorizationCode').upsert('a1', { grantId: 'g1' }, 60);
    await adapters('RefreshToken').upsert('r2', { grantId: 'g2' }, 600);
    assert.equal((await stat(path)).mode & 0o777, 0o600);

    const reopened = fileAdapter(await StateFile.open(path, { now: () => now }), () => now);
    assert.deepEqual(await reopened('Client').find('c1'), { client_id: 'c1' });
    assert.deepEqual(await reopened('Session').findByUid('u1'), { uid: 'u1', accountId: 'alice' });
    await reopened('RefreshToken').consume('r2');
    assert.equal(typeof (await reopened('RefreshToken').find('r2'))?.consumed, 'number');
    await reopened('RefreshToken').revokeByGrantId('g1');
    assert.equal(await reopened('RefreshToken').find('r1'), undefined);
    assert.equal(await reopened('AuthorizationCode').find('a1'), undefined);

    now += 61_000;
    assert.equal(await reopened('Session').findByUid('u1'), undefined, 'expired');
    assert.deepEqual(await reopened('Client').find('c1'), { client_id: 'c1' }, 'no expiry');
  });

  test('a file that is not demo state is refused with a message naming it', async () => {
    const path = join(dir, 'broken.json');
    await writeFile(path, '{"version": 2}');
    await assert.rejects(StateFile.open(path), (error: Error) => {
      assert.ok(error instanceof StateFileError);
      assert.match(error.message, /broken\.json/);
      return true;
    });
  });
});

describe('the demo authorization server across a restart', () => {
  const stateFile = () => join(dir, 'as', '.gatehouse-demo-oauth.json');
  const redirectUri = 'http://127.0.0.1:9/oauth/callback';
  let demo: OAuthDemo;
  after(async () => {
    await demo?.close();
  });

  const token = async (params: Record<string, string>) => {
    const res = await fetch(`${demo.issuer}/token`, { method: 'POST', body: new URLSearchParams(params) });
    return { status: res.status, body: (await res.json()) as Record<string, string> };
  };

  test('a refresh token issued before a restart refreshes after it, rotates, and can be revoked', async () => {
    demo = await startOAuthDemo({ port: 0, stateFile: stateFile(), log: () => undefined });
    const registered = await fetch(`${demo.issuer}/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        redirect_uris: [redirectUri],
        grant_types: ['authorization_code', 'refresh_token'],
        token_endpoint_auth_method: 'none',
      }),
    });
    assert.equal(registered.status, 201, 'registration needs no initial access token');
    const clientId = ((await registered.json()) as { client_id: string }).client_id;

    const verifier = randomBytes(32).toString('base64url');
    const authorize = new URL(`${demo.issuer}/auth`);
    for (const [k, v] of Object.entries({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: redirectUri,
      scope: 'mcp:tools',
      resource: demo.mcpUrl,
      state: 'xyz',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }))
      authorize.searchParams.set(k, v);
    const redirect = await completeAuthorization(authorize.href, 'bob');
    assert.equal(redirect.searchParams.get('iss'), demo.issuer);
    const code = redirect.searchParams.get('code') ?? '';
    const issued = await token({
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      code_verifier: verifier,
      client_id: clientId,
      resource: demo.mcpUrl,
    });
    assert.equal(issued.status, 200, JSON.stringify(issued.body));
    assert.equal(issued.body.scope, 'mcp:tools');
    const firstRefresh = issued.body.refresh_token ?? '';

    const port = Number(new URL(demo.issuer).port);
    await demo.close();
    demo = await startOAuthDemo({ port, stateFile: stateFile(), log: () => undefined });

    const refreshed = await token({
      grant_type: 'refresh_token',
      refresh_token: firstRefresh,
      client_id: clientId,
      resource: demo.mcpUrl,
    });
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
    const secondRefresh = refreshed.body.refresh_token ?? '';
    assert.notEqual(secondRefresh, firstRefresh, 'the refresh token rotates');
    const mcp = await fetch(demo.mcpUrl, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${refreshed.body.access_token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
      }),
    });
    assert.equal(mcp.status, 200, 'the new access token opens an MCP session');
    await mcp.body?.cancel();

    const revoked = await fetch(`${demo.issuer}/token/revocation`, {
      method: 'POST',
      body: new URLSearchParams({ token: secondRefresh, client_id: clientId }),
    });
    assert.equal(revoked.status, 200);
    const afterRevocation = await token({
      grant_type: 'refresh_token',
      refresh_token: secondRefresh,
      client_id: clientId,
    });
    assert.equal(afterRevocation.body.error, 'invalid_grant');
    // The file holds no trace of the revoked grant's tokens.
    const text = await readFile(stateFile(), 'utf8');
    assert.ok(!text.includes(secondRefresh));
  });
});
