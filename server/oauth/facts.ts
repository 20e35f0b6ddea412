/**
 * What each step of an upstream's OAuth flow learned, as data beside the event log's own words
 * (stage.ts `describe`): where the metadata came from, the issuer and endpoints, how the client was
 * obtained, the scopes asked for and granted, and which step failed. And who the tokens belong to,
 * read for display only. Pure; never a token, code, verifier or secret.
 */
import * as oauth from 'oauth4webapi';
import { decodeJwt } from 'jose';

import type { ServerBinding } from './record.js';
import type { ResolvedClient } from './registration.js';

/** The step of the flow a failure belongs to (DESIGN.md: "which step failed"). */
export type AuthStep = 'discovery' | 'registration' | 'authorization' | 'token_exchange' | 'refresh';

/** What one log entry learned. Every field is public metadata or our own words. */
export interface AuthFacts {
  /** The protected resource metadata document used (RFC 9728). */
  resourceMetadataUrl?: string;
  issuer?: string;
  authorizationEndpoint?: string;
  tokenEndpoint?: string;
  /** How the client was obtained: configured, a Client ID Metadata Document, or RFC 7591. */
  registration?: ResolvedClient['method'];
  scopesRequested?: string[];
  scopesGranted?: string[];
  errorStep?: AuthStep;
}

/** What discovery found: the resource metadata URL, the issuer and its endpoints. */
export function bindingFacts(binding: ServerBinding): AuthFacts {
  const { metadata } = binding;
  return {
    ...(binding.resourceMetadataUrl ? { resourceMetadataUrl: binding.resourceMetadataUrl } : {}),
    issuer: metadata.issuer,
    ...(metadata.authorization_endpoint ? { authorizationEndpoint: metadata.authorization_endpoint } : {}),
    ...(metadata.token_endpoint ? { tokenEndpoint: metadata.token_endpoint } : {}),
  };
}

/** What an authorization handed to a person rests on: the server, the client and the scopes. */
export function authorizationFacts(
  binding: ServerBinding,
  client: Pick<ResolvedClient, 'method'>,
  scopes: readonly string[],
): AuthFacts {
  return { ...bindingFacts(binding), registration: client.method, scopesRequested: [...scopes] };
}

/** Longest account name kept: a name is shown, and the server that sent it is not ours. */
const MAX_ACCOUNT_NAME = 256;
/** The claims that name a person, most readable first (OIDC Core §5.1). */
const NAME_CLAIMS = ['email', 'preferred_username', 'sub'] as const;

/**
 * Who a token response's tokens belong to, for display only ("Connected as alice@example.com"):
 * the ID token's `email`, `preferred_username` or `sub` (validated by oauth4webapi when it
 * processed the response; its signature need not be checked for display, and it came straight
 * from the token endpoint), else the same claims of a JWT access token, decoded and not verified,
 * else undefined (an opaque token names nobody). Neither token is kept.
 */
export function accountName(response: oauth.TokenEndpointResponse): string | undefined {
  return nameIn(idTokenClaims(response)) ?? nameIn(jwtClaims(response.access_token));
}

function idTokenClaims(response: oauth.TokenEndpointResponse): Record<string, unknown> | undefined {
  try {
    return oauth.getValidatedIdTokenClaims(response);
  } catch {
    // A response that did not come through oauth4webapi's processing: its ID token is not trusted.
    return undefined;
  }
}

function jwtClaims(token: string): Record<string, unknown> | undefined {
  try {
    return decodeJwt(token);
  } catch {
    return undefined; // not a JWT
  }
}

function nameIn(claims: Record<string, unknown> | undefined): string | undefined {
  if (!claims) return undefined;
  for (const claim of NAME_CLAIMS) {
    const value = claims[claim];
    if (typeof value === 'string' && value.trim() !== '') return value.trim().slice(0, MAX_ACCOUNT_NAME);
  }
  return undefined;
}
