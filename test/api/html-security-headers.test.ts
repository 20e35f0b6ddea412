/**
 * Every HTML answer carries the same security headers (strict CSP with no 'unsafe-inline',
 * nosniff, no framing); the OAuth callback's pages, success and error, also no Referer and no-store.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startGateway, FAST_TIMEOUTS, type TestGateway } from '../fixtures/gateway.js';
import { completeAuthorization, startAuthServer, type AuthServer } from '../fixtures/oidc-provider.js';
import { startProtectedMcp, type ProtectedMcp } from '../fixtures/protected-mcp.js';

function assertHtmlHeaders(res: Response, what: string): void {
  assert.match(res.headers.get('content-type') ?? '', /^text\/html/, what);
  const csp = res.headers.get('content-security-policy') ?? '';
  assert.match(csp, /default-src 'self'/, what);
  assert.match(csp, /script-src 'self'/, what);
  assert.match(csp, /frame-ancestors 'none'/, what);
  assert.match(csp, /object-src 'none'/, what);
  assert.doesNotMatch(csp, /unsafe-inline/, what);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff', what);
  assert.equal(res.headers.get('x-frame-options'), 'DENY', what);
}

/** Every inline <style> of a page must be allowed by the CSP's hashes, since nothing else allows it. */
function assertInlineStylesAllowed(res: Response, page: string, what: string): void {
  const csp = res.headers.get('content-security-policy') ?? '';
  for (const [, style] of page.matchAll(/<style>([\s\S]*?)<\/style>/g)) {
    const hash = createHash('sha256').update(style!).digest('base64');
    assert.ok(csp.includes(`'sha256-${hash}'`), `${what}: the CSP allows its inline style`);
  }
}

function assertCallbackHeaders(res: Response, what: string): void {
  assertHtmlHeaders(res, what);
  assert.equal(res.headers.get('referrer-policy'), 'no-referrer', what);
  assert.equal(res.headers.get('cache-control'), 'no-store', what);
}

describe('security headers of HTML answers', () => {
  let as: AuthServer;
  let protectedMcp: ProtectedMcp;
  let gw: TestGateway;
  before(async () => {
    as = await startAuthServer();
    protectedMcp = await startProtectedMcp({ authServer: as });
    gw = await startGateway({
      mcpServers: { secure: { url: protectedMcp.url } },
      systemConfig: { timeouts: FAST_TIMEOUTS },
    });
  });
  after(async () => {
    await gw?.close();
    await protectedMcp?.close();
    await as?.close();
  });

  test('the dashboard page', async () => {
    const res = await fetch(`${gw.base}/`);
    assert.equal(res.status, 200);
    assertHtmlHeaders(res, '/');
    assertInlineStylesAllowed(res, await res.text(), '/');
  });

  test('the callback error page (unknown state)', async () => {
    const res = await fetch(`${gw.base}/oauth/callback?code=abc&state=forged-state`);
    assert.equal(res.status, 400);
    assertCallbackHeaders(res, 'callback error');
    const page = await res.text();
    assert.match(page, /OAUTH_STATE_INVALID/);
    assertInlineStylesAllowed(res, page, 'callback error');
  });

  test('the callback success page', async () => {
    await gw.waitForServer('secure', (s) => s.auth?.stage === 'awaiting_user', 'awaiting_user');
    const started = await gw.api('/api/servers/secure/authorize', { method: 'POST' });
    const { authorizationUrl } = (await started.json()) as { authorizationUrl: string };
    const redirect = await completeAuthorization(authorizationUrl);
    // The redirect names localhost; the gateway listens on 127.0.0.1.
    const res = await fetch(`${gw.base}/oauth/callback${redirect.search}`);
    assert.equal(res.status, 200);
    assertCallbackHeaders(res, 'callback success');
    const page = await res.text();
    assert.match(page, /You can close this window/);
    assertInlineStylesAllowed(res, page, 'callback success');
  });

  test('JSON answers are not sniffed either', async () => {
    const res = await gw.api('/api/servers');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  });
});
