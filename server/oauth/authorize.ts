/**
 * The authorization request (RFC 6749 §4.1.1 with OAuth 2.1 rules): PKCE S256 (RFC 7636), a fresh
 * single-use `state` that expires, `resource` (RFC 8707), and the chosen scopes. The URL is what a
 * person opens; the pending authorization is persisted so a restart before the callback works.
 */
import * as oauth from 'oauth4webapi';

import { GatehouseError } from '../errors.js';
import { assertSecureScheme } from '../security/ssrf.js';
import type { PendingAuthorization } from './record.js';
import type { ResolvedClient } from './registration.js';

/** How long an authorization URL (its `state`) stays valid. */
export const AUTHORIZATION_TTL_MS = 10 * 60_000;
/** At most this many authorizations in progress per upstream (e.g. a restart, a step-up, two tabs). */
export const MAX_PENDING = 5;

export interface AuthorizationRequestInput {
  metadata: oauth.AuthorizationServer;
  client: ResolvedClient;
  redirectUri: string;
  scopes: readonly string[];
  resource: string;
  allowedPrivateHosts: readonly string[];
  now: number;
  random: (bytes: number) => Uint8Array;
}

/** Builds the authorization URL and the pending authorization that the callback will consume. */
export async function createAuthorization(
  input: AuthorizationRequestInput,
): Promise<{ url: string; pending: PendingAuthorization }> {
  const { metadata, client, redirectUri, scopes, resource, now } = input;
  if (!metadata.authorization_endpoint) {
    throw new GatehouseError('OAUTH_DISCOVERY_FAILED', `${metadata.issuer} has no authorization_endpoint`);
  }
  const url = new URL(metadata.authorization_endpoint);
  assertSecureScheme(url, input.allowedPrivateHosts);
  // RFC 6749 §10.12 / OAuth 2.1 §7.12: state is unguessable; RFC 7636 §4.1: 43+ chars of verifier.
  const state = base64url(input.random(32));
  const codeVerifier = base64url(input.random(32));
  const codeChallenge = await oauth.calculatePKCECodeChallenge(codeVerifier);
  const params = url.searchParams;
  params.set('response_type', 'code');
  params.set('client_id', client.clientId);
  params.set('redirect_uri', redirectUri);
  params.set('code_challenge', codeChallenge);
  params.set('code_challenge_method', 'S256');
  params.set('state', state);
  if (scopes.length > 0) params.set('scope', scopes.join(' '));
  // MCP spec, "Resource Parameter Implementation": MUST be sent, whether or not the server supports it.
  params.set('resource', resource);
  const pending: PendingAuthorization = {
    state,
    codeVerifier,
    redirectUri,
    clientId: client.clientId,
    issuer: metadata.issuer,
    resource,
    scopes: [...scopes],
    createdAt: now,
    expiresAt: now + AUTHORIZATION_TTL_MS,
  };
  return { url: url.href, pending };
}

/** The pending list with `pending` added: expired ones dropped, the newest `MAX_PENDING` kept. */
export function addPending(
  list: readonly PendingAuthorization[],
  pending: PendingAuthorization,
  now: number,
): PendingAuthorization[] {
  return [...list.filter((p) => p.expiresAt > now), pending].slice(-MAX_PENDING);
}

function base64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}
