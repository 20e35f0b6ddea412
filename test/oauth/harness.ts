/** Shared helpers for the OAuth engine tests: build an engine, connect an SDK client through it. */
import assert from 'node:assert/strict';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

import { GatehouseError, isGatehouseError, type ErrorCode } from '../../server/errors.js';
import { silentLogger } from '../../server/log.js';
import { OAuthEngine, type OAuthEngineOptions } from '../../server/oauth/engine.js';
import { MemoryCredentialStore } from '../../server/settings/credentials.js';
import { completeAuthorization } from '../fixtures/oidc-provider.js';

/** Never served: the fixture's consent helper stops at the redirect and hands its query to the engine. */
export const REDIRECT_URI = 'http://127.0.0.1:9/oauth/callback';

export function createEngine(options: Partial<OAuthEngineOptions> & { serverUrl: string }): OAuthEngine {
  return new OAuthEngine({
    server: 'upstream',
    settings: undefined,
    redirectUri: () => REDIRECT_URI,
    store: new MemoryCredentialStore(),
    allowedPrivateHosts: [],
    logger: silentLogger,
    ...options,
  });
}

/** An SDK client connected through `engine.fetch`. */
export async function connect(
  engine: OAuthEngine,
  url: string,
  transport: 'streamable-http' | 'sse' = 'streamable-http',
): Promise<Client> {
  const client = new Client({ name: 'gatehouse-test', version: '1.0.0' });
  const channel =
    transport === 'sse'
      ? new SSEClientTransport(new URL(url), { fetch: engine.fetch })
      : new StreamableHTTPClientTransport(new URL(url), { fetch: engine.fetch });
  try {
    await client.connect(channel);
  } catch (err) {
    // A failed start leaves the SSE transport's EventSource reconnecting; close it.
    await channel.close();
    throw err;
  }
  return client;
}

/** Consents at the fixture authorization server and gives the redirect's query to the engine. */
export async function consent(engine: OAuthEngine, authorizationUrl: string): Promise<void> {
  const redirect = await completeAuthorization(authorizationUrl);
  await engine.handleCallback(redirect.searchParams);
}

/** Awaits a rejection with a GatehouseError of `code` and returns it. */
export async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<GatehouseError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(isGatehouseError(err), `expected a GatehouseError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
    return err;
  }
  assert.fail(`expected a rejection with ${code}`);
}

/** The authorization URL a GatehouseError carries in its details. */
export function authorizationUrlOf(err: GatehouseError): string {
  const url = err.details?.authorizationUrl;
  assert.equal(typeof url, 'string', 'the error carries an authorization URL');
  return url as string;
}

export { textOf } from '../fixtures/gateway.js';

/** First connection to a protected upstream: fails with UPSTREAM_AUTH_REQUIRED, then consent. */
export async function authorizeOnFirstContact(engine: OAuthEngine, url: string): Promise<void> {
  const err = await rejectsWith(connect(engine, url), 'UPSTREAM_AUTH_REQUIRED');
  await consent(engine, authorizationUrlOf(err));
}
