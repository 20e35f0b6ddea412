/**
 * The token endpoint and the revocation endpoint: code exchange (RFC 6749 §4.1.3), refresh
 * (§6, with rotation), revocation (RFC 7009). Each is oauth4webapi's request/process pair; what to
 * keep and when a token is stale are pure functions.
 */
import * as oauth from 'oauth4webapi';

import { GatehouseError } from '../errors.js';
import { libraryCause, libraryOptions, oauthErrorCode, toOAuthError, type OAuthHttp } from './http.js';
import type { PendingAuthorization, StoredTokens } from './record.js';
import { clientAuthentication, libraryClient } from './client-auth.js';
import { accountName } from './facts.js';
import type { ResolvedClient } from './registration.js';
import { splitScope } from './scopes.js';

/** Refresh at most this long before expiry… */
export const REFRESH_MARGIN_MS = 60_000;
/** Short-lived tokens are refreshed with at least this much left (or half their lifetime). */
export const MIN_REFRESH_MARGIN_MS = 1_500;

/**
 * How long before expiry a token is refreshed: min(60 s, max(10 % of the lifetime, min(1.5 s, half
 * the lifetime))). The proportional part keeps short-lived tokens (seconds) from being refreshed on
 * every request; the 60 s covers clock skew and slow requests for long-lived ones.
 */
function refreshMarginMs(expiresAt: number, issuedAt: number): number {
  const lifetime = Math.max(0, expiresAt - issuedAt);
  // A JWT's exp counts whole seconds from an issue time rounded down, while expiresAt is our
  // arrival time + expires_in: the token can die up to a second earlier than we think. So short
  // tokens keep at least MIN_REFRESH_MARGIN_MS (or half their life, if that is less) in hand.
  const floor = Math.min(MIN_REFRESH_MARGIN_MS, lifetime / 2);
  return Math.min(REFRESH_MARGIN_MS, Math.max(lifetime / 10, floor));
}

/**
 * Whether to refresh before sending: when less than the refresh margin is left (see
 * `refreshDueAt`). Unknown expiry: never stale (a 401 will tell). Runs before every request.
 */
export function isStale(tokens: Pick<StoredTokens, 'expiresAt' | 'issuedAt'>, now: number): boolean {
  if (tokens.expiresAt === null) return false;
  return tokens.expiresAt - now <= refreshMarginMs(tokens.expiresAt, tokens.issuedAt);
}

/**
 * When the tokens become stale by the rule of `isStale` (the next request after it refreshes
 * first), for the dashboard's "next refresh"; null when the expiry is unknown. Pure.
 */
export function refreshDueAt(tokens: Pick<StoredTokens, 'expiresAt' | 'issuedAt'>): number | null {
  if (tokens.expiresAt === null) return null;
  return tokens.expiresAt - refreshMarginMs(tokens.expiresAt, tokens.issuedAt);
}

/**
 * What to keep from a token response. RFC 6749 §5.1: an absent `scope` means the requested one;
 * §6: an absent `refresh_token` in a refresh response means the old one stays valid. Of an ID
 * token only the account's name is kept (facts.ts `accountName`); a refresh that names nobody keeps
 * the name the previous tokens had.
 */
export function toStoredTokens(
  response: oauth.TokenEndpointResponse,
  context: {
    now: number;
    requestedScopes: readonly string[];
    previous?: StoredTokens | undefined;
    issuer: string | null;
    resource: string | null;
    generation: number;
    refreshed: boolean;
  },
): StoredTokens {
  const { now, previous } = context;
  const refreshToken = response.refresh_token ?? (context.refreshed ? previous?.refreshToken : undefined);
  const account = accountName(response) ?? (context.refreshed ? previous?.account : undefined);
  return {
    accessToken: response.access_token,
    ...(refreshToken ? { refreshToken } : {}),
    expiresAt: typeof response.expires_in === 'number' ? now + response.expires_in * 1000 : null,
    issuedAt: now,
    scopes:
      response.scope !== undefined
        ? splitScope(response.scope)
        : [...(previous?.scopes ?? context.requestedScopes)],
    lastRefreshAt: context.refreshed ? now : null,
    issuer: context.issuer,
    resource: context.resource,
    generation: context.generation,
    ...(account !== undefined ? { account } : {}),
  };
}

interface Endpoint {
  http: OAuthHttp;
  metadata: oauth.AuthorizationServer;
  client: ResolvedClient;
}

/** Exchanges the code, with the PKCE verifier and the same `resource` (RFC 8707 §2.2). */
export async function exchangeCode(
  input: Endpoint & { params: URLSearchParams; pending: PendingAuthorization },
): Promise<oauth.TokenEndpointResponse> {
  const { http, metadata, client, pending } = input;
  try {
    const response = await oauth.authorizationCodeGrantRequest(
      metadata,
      libraryClient(client),
      clientAuthentication(client),
      input.params,
      pending.redirectUri,
      pending.codeVerifier,
      { ...libraryOptions(http), additionalParameters: { resource: pending.resource } },
    );
    return await oauth.processAuthorizationCodeResponse(metadata, libraryClient(client), response);
  } catch (err) {
    throw toOAuthError(
      err,
      'OAUTH_TOKEN_EXCHANGE_FAILED',
      `Exchanging the authorization code at ${endpointOf(metadata)}`,
    );
  }
}

/**
 * Uses a refresh token, with `resource` (RFC 8707 §2.2, MCP spec). `invalid_grant` (RFC 6749 §5.2:
 * revoked, expired or already used) becomes `OAUTH_INVALID_GRANT`: the person has to authorize again.
 */
export async function refreshTokens(
  input: Endpoint & { refreshToken: string; resource: string | null },
): Promise<oauth.TokenEndpointResponse> {
  const { http, metadata, client } = input;
  try {
    const response = await oauth.refreshTokenGrantRequest(
      metadata,
      libraryClient(client),
      clientAuthentication(client),
      input.refreshToken,
      {
        ...libraryOptions(http),
        ...(input.resource ? { additionalParameters: { resource: input.resource } } : {}),
      },
    );
    return await oauth.processRefreshTokenResponse(metadata, libraryClient(client), response);
  } catch (err) {
    const kind = refreshRefusal(err);
    if (kind === 'grant') {
      throw new GatehouseError('OAUTH_INVALID_GRANT', 'The authorization server rejected the refresh token', {
        cause: libraryCause(err),
      });
    }
    if (kind === 'client') {
      throw new GatehouseError(
        'OAUTH_CLIENT_REJECTED',
        `The token endpoint ${metadata.token_endpoint ?? ''} refused the client's credentials (401)`,
        { cause: libraryCause(err) },
      );
    }
    throw toOAuthError(err, 'OAUTH_REFRESH_FAILED', `Refreshing the access token at ${endpointOf(metadata)}`);
  }
}

/**
 * Which refusals of a refresh mean a person must act. RFC 6749 §5.2: `invalid_grant` (the refresh
 * token is revoked, expired or used) and `invalid_client` (the client's own authentication failed,
 * which §5.2 answers with 401). Everything else — network errors, timeouts, 5xx, a garbled answer —
 * says nothing about the grant: the tokens are kept and the refresh is tried again. Pure.
 */
export function refreshRefusal(err: unknown): 'grant' | 'client' | 'transient' {
  const code = oauthErrorCode(err);
  if (code === 'invalid_grant') return 'grant';
  if (code === 'invalid_client') return 'client';
  return statusOf(err) === 401 ? 'client' : 'transient';
}

/** The HTTP status of the token endpoint's answer that a library error is about, if it says. */
function statusOf(err: unknown): number | undefined {
  if (err instanceof oauth.ResponseBodyError || err instanceof oauth.WWWAuthenticateChallengeError)
    return err.status;
  // An answer that is not JSON (a bare 401, say) comes back with the response as the cause.
  if (err instanceof oauth.OperationProcessingError && err.cause instanceof Response) return err.cause.status;
  return undefined;
}

function endpointOf(metadata: oauth.AuthorizationServer): string {
  return metadata.token_endpoint ?? metadata.issuer;
}

/** RFC 7009 §2.1 revocation of one token; only when the server has a `revocation_endpoint`. */
export async function revokeToken(
  input: Endpoint & { token: string; hint: 'refresh_token' | 'access_token' },
): Promise<void> {
  const { http, metadata, client } = input;
  try {
    const response = await oauth.revocationRequest(
      metadata,
      libraryClient(client),
      clientAuthentication(client),
      input.token,
      { ...libraryOptions(http), additionalParameters: { token_type_hint: input.hint } },
    );
    await oauth.processRevocationResponse(response);
  } catch (err) {
    throw toOAuthError(
      err,
      'OAUTH_PROTOCOL_ERROR',
      `Revoking a token at ${metadata.revocation_endpoint ?? metadata.issuer}`,
    );
  }
}
