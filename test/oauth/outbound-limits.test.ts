/**
 * What the engine does with authorization servers that misbehave on purpose or by accident
 * (issue 11, items 2, 4 and 5): a server that never answers, a document nested thousands of levels
 * deep, URLs with credentials in them.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';

import type { AuthStatus } from '../../server/oauth/engine.js';
import { FAST_TIMEOUTS, startGateway } from '../fixtures/gateway.js';
import { startProtectedMcp } from '../fixtures/protected-mcp.js';
import { connect, createEngine, rejectsWith } from './harness.js';
import { asMetadata, json, startTinyServer, type Route } from './tiny-server.js';

/** A route that accepts the request and never answers. */
const silent: Route = () => undefined;

describe('authorization servers that misbehave', () => {
  const closers: Array<() => Promise<void>> = [];
  after(async () => {
    for (const close of closers.reverse()) await close();
  });

  /** A protected MCP server whose authorization server is a tiny one with `routes`. */
  async function upstreamWith(routes: (origin: string) => Record<string, Route>) {
    const as = await startTinyServer(routes);
    const mcp = await startProtectedMcp({ authServer: { issuer: as.origin, jwksUri: `${as.origin}/jwks` } });
    closers.push(as.close, mcp.close);
    return { as, mcp };
  }

  test('metadata that never comes: the step fails with OAUTH_TIMEOUT naming the URL', async () => {
    const { as, mcp } = await upstreamWith(() => ({ '/.well-known/oauth-authorization-server': silent }));
    const engine = createEngine({ serverUrl: mcp.url, timeoutMs: 300 });
    await engine.init();
    const err = await rejectsWith(engine.startAuthorization(), 'OAUTH_TIMEOUT');
    assert.ok(err.message.includes(`${as.origin}/.well-known/oauth-authorization-server`), err.message);
    assert.equal(engine.status().stage, 'failed');
    assert.equal(engine.status().error?.code, 'OAUTH_TIMEOUT');
    // It stopped at the first silent URL instead of waiting on every candidate in turn.
    assert.deepEqual(
      as.requests.filter((p) => p.startsWith('/.well-known/')),
      ['/.well-known/oauth-authorization-server'],
    );
    engine.close();
  });

  test('a registration endpoint that never answers fails the registration step the same way', async () => {
    const { mcp } = await upstreamWith((origin) => ({
      '/.well-known/oauth-authorization-server': json(
        asMetadata(origin, { registration_endpoint: `${origin}/reg` }),
      ),
      '/reg': silent,
    }));
    const engine = createEngine({ serverUrl: mcp.url, timeoutMs: 300 });
    await engine.init();
    const err = await rejectsWith(connect(engine, mcp.url), 'UPSTREAM_AUTH_REQUIRED');
    assert.equal(err.details?.code, 'OAUTH_TIMEOUT');
    assert.equal(engine.status().error?.code, 'OAUTH_TIMEOUT');
    assert.match(engine.status().error?.message ?? '', /\/reg/);
    engine.close();
  });

  test('metadata nested thousands of levels deep is refused with an error, not a crash', async () => {
    const { mcp } = await upstreamWith((origin) => ({
      '/.well-known/oauth-authorization-server': (_req, res) => {
        const metadata = JSON.stringify(asMetadata(origin)).slice(0, -1);
        const deep = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
        res.writeHead(200, { 'content-type': 'application/json' }).end(`${metadata},"extra":${deep}}`);
      },
    }));
    const engine = createEngine({ serverUrl: mcp.url });
    await engine.init();
    const err = await rejectsWith(engine.startAuthorization(), 'OAUTH_PROTOCOL_ERROR');
    assert.match(err.message, /nests deeper than 64 levels/);
    engine.close();
  });

  for (const field of ['authorization_endpoint', 'token_endpoint', 'registration_endpoint'] as const) {
    test(`metadata whose ${field} carries a user name and password is refused and never offered`, async () => {
      const { mcp } = await upstreamWith((origin) => ({
        '/.well-known/oauth-authorization-server': json(
          asMetadata(origin, {
            registration_endpoint: `${origin}/reg`,
            [field]: `http://user:hunter2@${new URL(origin).host}/${field}`,
          }),
        ),
      }));
      const engine = createEngine({ serverUrl: mcp.url, settings: { clientId: 'configured' } });
      await engine.init();
      const err = await rejectsWith(engine.startAuthorization(), 'OAUTH_INSECURE_ENDPOINT');
      assert.match(err.message, new RegExp(field));
      assert.doesNotMatch(err.message, /hunter2/);
      assert.equal(engine.status().authorizationUrl, undefined);
      assert.doesNotMatch(JSON.stringify(engine.status()), /hunter2/);
      engine.close();
    });
  }

  test('a protected resource naming an authorization server URL with credentials is refused', async () => {
    const as = await startTinyServer(() => ({}));
    closers.push(as.close);
    const withCredentials = `http://user:hunter2@${new URL(as.origin).host}`;
    const mcp = await startProtectedMcp({
      authServer: { issuer: withCredentials, jwksUri: `${as.origin}/jwks` },
    });
    closers.push(mcp.close);
    const engine = createEngine({ serverUrl: mcp.url });
    await engine.init();
    const err = await rejectsWith(engine.startAuthorization(), 'OAUTH_INSECURE_ENDPOINT');
    assert.doesNotMatch(err.message, /hunter2/);
    assert.deepEqual(as.requests, [], 'nothing was fetched from it');
    engine.close();
  });

  test('through the gateway: systemConfig.timeouts.oauthMs bounds POST /authorize and the server does not hang in connecting', async () => {
    const { as, mcp } = await upstreamWith(() => ({ '/.well-known/oauth-authorization-server': silent }));
    const gw = await startGateway({
      mcpServers: { slow: { url: mcp.url } },
      systemConfig: { timeouts: { ...FAST_TIMEOUTS, oauthMs: 300 } },
    });
    closers.push(() => gw.close());
    const status = await gw.waitForServer('slow', (s) => s.status !== 'connecting', 'past connecting');
    assert.equal(status.status, 'auth_required');
    const res = await gw.api('/api/servers/slow/authorize', { method: 'POST' });
    assert.equal(res.status, 504);
    const { error } = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(error.code, 'OAUTH_TIMEOUT');
    assert.ok(error.message.includes(`${as.origin}/.well-known/oauth-authorization-server`), error.message);
    const detail = (await (await gw.api('/api/servers/slow')).json()) as { auth: AuthStatus };
    assert.equal(detail.auth.stage, 'failed');
    assert.equal(detail.auth.error?.code, 'OAUTH_TIMEOUT');
  });
});
