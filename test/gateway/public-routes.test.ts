/**
 * Issue 13: with inbound auth on, every route but the metadata, the authorization server's own
 * endpoints, the upstream OAuth callback and the dashboard's static files needs a credential. The
 * routes are read from the app itself, so a route added later without a guard fails this test.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type TestGateway } from '../fixtures/gateway.js';

/** Every (path, method) the app serves, from Fastify's route tree. */
function routesOf(tree: string): Array<{ path: string; method: string }> {
  const stack: string[] = [];
  const routes: Array<{ path: string; method: string }> = [];
  for (const line of tree.split('\n')) {
    const match = /^([│ ]*)[├└]── (\S+)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    const path = `${depth === 0 ? '' : stack[depth - 1]}${match[2]}`;
    stack[depth] = path;
    stack.length = depth + 1;
    for (const method of (match[3] ?? '').split(', ').filter(Boolean)) routes.push({ path, method });
  }
  return routes;
}

/** What may be reached without a credential, and why. */
function isPublic(path: string): boolean {
  return (
    path.startsWith('/.well-known/') || // RFC 9728 / RFC 8414 / OIDC discovery
    path.startsWith('/oauth2/') || // the authorization server's sign-in and consent pages
    path === '/oauth/callback' || // an upstream's browser redirect, checked by its state
    path === '/oauth/connect/:server' || // a per-user link: checks the dashboard session itself, answers a page
    path === '/healthz' || // liveness, for load balancers: { status: "ok" }
    path === '/readyz' || // readiness: ready or not, and which check says so
    path === '/api/session/methods' || // the dashboard's sign-in screen: which ways to sign in
    path === '/api/session/team' || // starts a sign-in at the company's provider (a redirect, no data)
    path === '*' // the dashboard's static files (no data; the page signs in itself)
  );
}

describe('with inbound auth on, only the public routes answer without a credential', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway({
      mcpServers: { alpha: { type: 'streamable-http', url: 'http://127.0.0.1:9/mcp', enabled: false } },
      groups: { team: { servers: ['alpha'] } },
      systemConfig: { inboundAuth: { oauth: { enabled: true } } },
    });
  });
  after(async () => {
    await gw?.close();
  });

  test('the health routes answer without a credential', async () => {
    for (const path of ['/healthz', '/readyz']) {
      const response = await fetch(`${gw.base}${path}`);
      await response.body?.cancel();
      assert.equal(response.status, 200, path);
    }
  });

  test('every other route is 401', async () => {
    const routes = routesOf(gw.app.printRoutes({ commonPrefix: false }));
    assert.ok(
      routes.some((r) => r.path === '/api/keys/:id'),
      'the route tree was read',
    );
    const guarded = routes.filter((r) => r.method !== 'HEAD' && !isPublic(r.path));
    assert.ok(guarded.length > 30, String(guarded.length));
    const answers: string[] = [];
    for (const { path, method } of guarded) {
      const url = path
        .replace(':name', 'alpha')
        .replace(':tool', 'echo')
        .replace(':id', 'x')
        .replace(':grantId', 'x');
      const hasBody = ['POST', 'PUT', 'PATCH'].includes(method);
      const response = await fetch(`${gw.base}${url}`, {
        method,
        headers: hasBody
          ? { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }
          : { accept: 'application/json, text/event-stream' },
        body: hasBody ? '{}' : undefined,
      });
      await response.body?.cancel();
      if (response.status !== 401) answers.push(`${method} ${path}: ${response.status}`);
    }
    assert.deepEqual(answers, []);
  });

  test('the public ones answer without one', async () => {
    for (const path of [
      '/.well-known/oauth-protected-resource/mcp',
      '/.well-known/oauth-authorization-server/oauth2',
      '/',
    ]) {
      const response = await fetch(`${gw.base}${path}`);
      assert.equal(response.status, 200, path);
      await response.body?.cancel();
    }
  });
});
