/**
 * The authorization server's state (clients, grants, tokens, its signing and cookie keys) lives in
 * the encrypted state file beside the settings: a new gateway over the same folder accepts the
 * tokens the previous one issued, and the file holds no token in clear.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { initializeStatus, startGateway, type TestGateway } from '../fixtures/gateway.js';
import { actAsPerson, REDIRECT_URI } from './oauth-client.js';

/** A public base that does not resolve here: every URL Gatehouse writes is reached on its real address. */
const PUBLIC = 'http://gatehouse.test';

const gateways: TestGateway[] = [];
after(async () => {
  for (const gw of gateways) await gw.close().catch(() => undefined);
});

const mcpStatus = (gw: TestGateway, token: string) => initializeStatus(`${gw.base}/mcp`, token);

test('a restarted gateway accepts the tokens issued before; the state file holds none in clear', async () => {
  const first = await startGateway({
    mcpServers: { off: { command: 'never-started', enabled: false } },
    systemConfig: { baseUrl: PUBLIC, inboundAuth: { oauth: { enabled: true } } },
  });
  gateways.push(first);
  const reach = (gw: TestGateway) => (url: URL) =>
    url.origin === PUBLIC ? new URL(`${gw.base}${url.pathname}${url.search}`) : url;

  const registration = await fetch(`${first.base}/oauth2/reg`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: 'Restart client',
      redirect_uris: [REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_method: 'none',
    }),
  });
  assert.equal(registration.status, 201);
  const clientId = ((await registration.json()) as { client_id: string }).client_id;

  const verifier = randomBytes(32).toString('base64url');
  const authorize = new URL(`${first.base}/oauth2/auth`);
  for (const [k, v] of Object.entries({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT_URI,
    scope: 'mcp:all',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    resource: `${PUBLIC}/mcp`,
  }))
    authorize.searchParams.set(k, v);
  const { redirect } = await actAsPerson(authorize.href, { reach: reach(first) });
  assert.equal(redirect.searchParams.get('iss'), `${PUBLIC}/oauth2`);
  const exchange = await fetch(`${first.base}/oauth2/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: redirect.searchParams.get('code')!,
      code_verifier: verifier,
      redirect_uri: REDIRECT_URI,
      client_id: clientId,
    }),
  });
  assert.equal(exchange.status, 200);
  const tokens = (await exchange.json()) as { access_token: string; refresh_token: string; scope: string };
  assert.equal(tokens.scope, 'mcp:all');
  assert.equal(await mcpStatus(first, tokens.access_token), 200);

  const stateFile = await readFile(join(first.dir, '.gatehouse-state.json'), 'utf8');
  assert.match(stateFile, /"oidc:AccessToken"/);
  assert.ok(!stateFile.includes(tokens.access_token), 'no access token in clear');
  assert.ok(!stateFile.includes(tokens.refresh_token), 'no refresh token in clear');
  assert.ok(!stateFile.includes('Restart client'), 'records are encrypted');

  await first.close({ keepFiles: true });
  const second = await startGateway(null, { dir: first.dir });
  gateways.push(second);
  assert.equal(await mcpStatus(second, tokens.access_token), 200, 'the access token survives the restart');
  const refreshed = await fetch(`${second.base}/oauth2/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token,
      client_id: clientId,
    }),
  });
  assert.equal(refreshed.status, 200, 'so does the refresh token (and the client)');
});
