/**
 * The OAuth client of an upstream: pre-registered (settings) → Client ID Metadata Document →
 * dynamic registration (RFC 7591) → tell the person what to configure. Choices are pure; the
 * registration is oauth4webapi's request/process pair.
 */
import * as oauth from 'oauth4webapi';

import { GatehouseError } from '../errors.js';
import type { OAuthSettings } from '../settings/types.js';
import { libraryOptions, toOAuthError, type OAuthHttp } from './http.js';
import type { RegisteredClient } from './record.js';

export type TokenAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';
const METHODS: readonly string[] = ['client_secret_basic', 'client_secret_post', 'none'];

/** The client the engine uses for one authorization server. */
export interface ResolvedClient {
  method: 'static' | 'cimd' | 'dynamic';
  issuer: string;
  clientId: string;
  clientSecret?: string;
  authMethod: TokenAuthMethod;
}

export type ClientChoice =
  | { kind: 'static'; clientId: string; clientSecret: string | undefined }
  | { kind: 'cimd'; url: string }
  | { kind: 'reuse'; client: RegisteredClient }
  | { kind: 'register' }
  | { kind: 'none' };

/**
 * MCP spec, "Client Registration Approaches": pre-registered first, then a Client ID Metadata
 * Document when the server says `client_id_metadata_document_supported`, then dynamic registration
 * when it has a `registration_endpoint`. A registered client is reused only for the same issuer and
 * redirect URI and while its secret is valid (RFC 7591 §3.2.1 `client_secret_expires_at`).
 */
export function chooseClient(input: {
  settings: OAuthSettings | undefined;
  metadata: oauth.AuthorizationServer;
  stored: RegisteredClient | undefined;
  redirectUri: string;
  now: number;
}): ClientChoice {
  const { settings, metadata, stored } = input;
  if (settings?.clientId)
    return { kind: 'static', clientId: settings.clientId, clientSecret: settings.clientSecret };
  if (settings?.clientMetadataUrl && metadata.client_id_metadata_document_supported === true) {
    return { kind: 'cimd', url: settings.clientMetadataUrl };
  }
  if (
    stored &&
    stored.issuer === metadata.issuer &&
    stored.redirectUri === input.redirectUri &&
    (stored.clientSecretExpiresAt === undefined || stored.clientSecretExpiresAt > input.now)
  ) {
    return { kind: 'reuse', client: stored };
  }
  return metadata.registration_endpoint ? { kind: 'register' } : { kind: 'none' };
}

/**
 * The token endpoint authentication method. The registration response's method wins when we can
 * perform it; else with a secret, `client_secret_basic` unless the server lists only
 * `client_secret_post` (RFC 8414 §2: absent list means basic; RFC 6749 §2.3.1: servers MUST
 * support basic); without a secret, `none` (a public client, PKCE-protected).
 */
export function tokenEndpointAuthMethod(input: {
  registered?: string | undefined;
  hasSecret: boolean;
  supported?: readonly string[] | undefined;
}): TokenAuthMethod {
  const { registered, hasSecret } = input;
  if (registered === 'none') return 'none';
  if (hasSecret && (registered === 'client_secret_basic' || registered === 'client_secret_post'))
    return registered;
  if (!hasSecret) return 'none';
  const supported = input.supported ?? ['client_secret_basic'];
  if (!supported.includes('client_secret_basic') && supported.includes('client_secret_post'))
    return 'client_secret_post';
  return 'client_secret_basic';
}

/** What to ask for at registration: a confidential client when the server allows it. */
export function registrationAuthMethod(supported: readonly string[] | undefined): TokenAuthMethod {
  const list = supported ?? ['client_secret_basic'];
  return (METHODS.find((m) => list.includes(m)) as TokenAuthMethod | undefined) ?? 'client_secret_basic';
}

export function staticClient(
  choice: { clientId: string; clientSecret: string | undefined },
  metadata: oauth.AuthorizationServer,
): ResolvedClient {
  const secret = choice.clientSecret;
  return {
    method: 'static',
    issuer: metadata.issuer,
    clientId: choice.clientId,
    ...(secret ? { clientSecret: secret } : {}),
    authMethod: tokenEndpointAuthMethod({
      hasSecret: !!secret,
      supported: metadata.token_endpoint_auth_methods_supported,
    }),
  };
}

/** CIMD: the document URL is the client_id; a public client (the document could name private_key_jwt keys, we do not). */
export function cimdClient(url: string, metadata: oauth.AuthorizationServer): ResolvedClient {
  return { method: 'cimd', issuer: metadata.issuer, clientId: url, authMethod: 'none' };
}

export function dynamicClient(stored: RegisteredClient): ResolvedClient {
  return {
    method: 'dynamic',
    issuer: stored.issuer,
    clientId: stored.clientId,
    ...(stored.clientSecret ? { clientSecret: stored.clientSecret } : {}),
    authMethod: METHODS.includes(stored.authMethod) ? (stored.authMethod as TokenAuthMethod) : 'none',
  };
}

/**
 * The client an earlier authorization used, without registering anything (callback, refresh,
 * revocation): the configured one, the CIMD URL, or the stored registration with that id.
 */
export function existingClient(input: {
  clientId?: string | undefined;
  settings: OAuthSettings | undefined;
  metadata: oauth.AuthorizationServer;
  stored: RegisteredClient | undefined;
}): ResolvedClient | undefined {
  const { settings, metadata, stored } = input;
  const wanted = (id: string) => input.clientId === undefined || input.clientId === id;
  if (settings?.clientId && wanted(settings.clientId)) {
    return staticClient({ clientId: settings.clientId, clientSecret: settings.clientSecret }, metadata);
  }
  if (
    settings?.clientMetadataUrl &&
    wanted(settings.clientMetadataUrl) &&
    metadata.client_id_metadata_document_supported === true
  ) {
    return cimdClient(settings.clientMetadataUrl, metadata);
  }
  if (stored && stored.issuer === metadata.issuer && wanted(stored.clientId)) return dynamicClient(stored);
  return undefined;
}

export function noClientError(server: string, issuer: string): GatehouseError {
  return new GatehouseError(
    'OAUTH_NO_CLIENT',
    `${server}: ${issuer} offers no client registration; register a client there and set oauth.clientId (and oauth.clientSecret) for ${server} in the settings`,
    { details: { server, issuer } },
  );
}

/**
 * RFC 7591 §3.1 dynamic registration: `application_type: web`, our redirect URI, the code and
 * refresh grants (SEP-2207: declare `refresh_token` to get refresh tokens), the configured
 * `dynamicRegistration.metadata` merged over those, and the initial access token as Bearer (§3).
 */
export async function registerClient(input: {
  http: OAuthHttp;
  metadata: oauth.AuthorizationServer;
  redirectUri: string;
  settings: OAuthSettings | undefined;
  now: number;
}): Promise<RegisteredClient> {
  const { http, metadata, redirectUri, settings } = input;
  const extra = jsonObject(settings?.dynamicRegistration?.metadata);
  const extraUris = Array.isArray(extra.redirect_uris)
    ? extra.redirect_uris.filter((u): u is string => typeof u === 'string')
    : [];
  const body: oauth.JsonObject = {
    client_name: 'Gatehouse MCP gateway',
    application_type: 'web',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: registrationAuthMethod(metadata.token_endpoint_auth_methods_supported),
    ...extra,
    redirect_uris: [...new Set([redirectUri, ...extraUris])],
  };
  const token = settings?.dynamicRegistration?.initialAccessToken;
  try {
    const response = await oauth.dynamicClientRegistrationRequest(metadata, body, {
      ...libraryOptions(http),
      ...(token ? { initialAccessToken: token } : {}),
    });
    const client = await oauth.processDynamicClientRegistrationResponse(await withSecretExpiry(response));
    const secret =
      typeof client.client_secret === 'string' && client.client_secret ? client.client_secret : undefined;
    const expires = typeof client.client_secret_expires_at === 'number' ? client.client_secret_expires_at : 0;
    return {
      issuer: metadata.issuer,
      clientId: client.client_id,
      ...(secret ? { clientSecret: secret } : {}),
      ...(secret && expires > 0 ? { clientSecretExpiresAt: expires * 1000 } : {}),
      authMethod: tokenEndpointAuthMethod({
        registered:
          typeof client.token_endpoint_auth_method === 'string'
            ? client.token_endpoint_auth_method
            : undefined,
        hasSecret: secret !== undefined,
        supported: metadata.token_endpoint_auth_methods_supported,
      }),
      redirectUri,
      registeredAt: input.now,
    };
  } catch (err) {
    throw toOAuthError(err, 'OAUTH_REGISTRATION_FAILED', `Registering a client at ${metadata.issuer}`);
  }
}

/**
 * RFC 7591 §3.2.1 makes `client_secret_expires_at` REQUIRED whenever a `client_secret` is issued,
 * and oauth4webapi refuses a response without it; real servers (and the MCP conformance suite's
 * mock) leave it out. We read an absent (or null) value as 0, which that section defines as "does
 * not expire", and leave every other check to the library. Other responses pass through untouched.
 */
export async function withSecretExpiry(response: Response): Promise<Response> {
  if (response.status !== 201) return response;
  let body: unknown;
  try {
    body = await response.clone().json();
  } catch {
    return response; // not JSON: the library says why
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return response;
  const fields = body as Record<string, unknown>;
  if (typeof fields.client_secret !== 'string' || fields.client_secret === '') return response;
  if (fields.client_secret_expires_at !== undefined && fields.client_secret_expires_at !== null)
    return response;
  await response.body?.cancel();
  const headers = new Headers(response.headers);
  headers.delete('content-length');
  headers.delete('content-encoding');
  return new Response(JSON.stringify({ ...fields, client_secret_expires_at: 0 }), {
    status: response.status,
    statusText: response.statusText,
    headers,
  });
}

/** The person's registration metadata as JSON (drops what JSON cannot carry). */
function jsonObject(value: Record<string, unknown> | undefined): oauth.JsonObject {
  if (!value) return {};
  const parsed: unknown = JSON.parse(JSON.stringify(value));
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
    ? (parsed as oauth.JsonObject)
    : {};
}
