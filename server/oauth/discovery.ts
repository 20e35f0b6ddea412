/**
 * Discovery: protected resource metadata (RFC 9728), then authorization server metadata (RFC 8414 /
 * OpenID Connect Discovery) in the MCP spec's order, with the 2025-03-26 defaults when a server has
 * no metadata at all. URL lists and checks are pure; the fetches go through the SSRF guard and are
 * validated by oauth4webapi's `process…Response()` functions.
 */
import * as oauth from 'oauth4webapi';

import { GatehouseError } from '../errors.js';
import type { OAuthSettings } from '../settings/types.js';
import type { BearerChallenge } from './challenge.js';
import { getJson, libraryCause, toOAuthError, type OAuthHttp } from './http.js';
import type { ServerBinding } from './record.js';
import { assertSecureScheme } from '../security/ssrf.js';
import { canonicalResource, resourceMatches } from './resource.js';

/**
 * Where to look for protected resource metadata. MCP spec, "Protected Resource Metadata Discovery
 * Requirements": the `resource_metadata` URL of the challenge when present, else the path-inserted
 * well-known URL (RFC 9728 §3.1), else the root one. The header URL failing still tries the others.
 */
export function protectedResourceMetadataUrls(serverUrl: string, headerUrl?: string): string[] {
  const url = new URL(serverUrl);
  const path = url.pathname === '/' ? '' : url.pathname;
  const urls = [
    ...(headerUrl ? [headerUrl] : []),
    ...(path ? [`${url.origin}/.well-known/oauth-protected-resource${path}`] : []),
    `${url.origin}/.well-known/oauth-protected-resource`,
  ];
  return [...new Set(urls)];
}

/**
 * Where to look for authorization server metadata. MCP spec, "Authorization Server Metadata
 * Discovery": with a path, RFC 8414 path insertion, OIDC path insertion, OIDC path appending;
 * without, RFC 8414 then OIDC.
 */
export function authorizationServerMetadataUrls(issuer: string): string[] {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/$/, '');
  if (path === '') {
    return [
      `${url.origin}/.well-known/oauth-authorization-server`,
      `${url.origin}/.well-known/openid-configuration`,
    ];
  }
  return [
    `${url.origin}/.well-known/oauth-authorization-server${path}`,
    `${url.origin}/.well-known/openid-configuration${path}`,
    `${url.origin}${path}/.well-known/openid-configuration`,
  ];
}

/**
 * MCP 2025-03-26, "Fallbacks for Servers without Metadata Discovery": default endpoints at the
 * server's origin. That revision required PKCE S256 of every server, so S256 is assumed here.
 */
export function defaultMetadata(serverUrl: string): oauth.AuthorizationServer {
  const origin = new URL(serverUrl).origin;
  return {
    issuer: origin,
    authorization_endpoint: `${origin}/authorize`,
    token_endpoint: `${origin}/token`,
    registration_endpoint: `${origin}/register`,
    code_challenge_methods_supported: ['S256'],
  };
}

/**
 * Metadata from explicit `oauth.authorizationEndpoint`/`tokenEndpoint` settings (discovery skipped).
 * The person vouches for PKCE; the issuer (for RFC 9207 `iss`) is the configured one or the
 * authorization endpoint's origin.
 */
export function configuredMetadata(
  settings: OAuthSettings | undefined,
): oauth.AuthorizationServer | undefined {
  if (!settings?.authorizationEndpoint || !settings.tokenEndpoint) return undefined;
  return {
    issuer: settings.dynamicRegistration?.issuer ?? new URL(settings.authorizationEndpoint).origin,
    authorization_endpoint: settings.authorizationEndpoint,
    token_endpoint: settings.tokenEndpoint,
    code_challenge_methods_supported: ['S256'],
  };
}

/**
 * MCP spec, "Authorization Code Protection": clients MUST refuse to proceed when
 * `code_challenge_methods_supported` lacks S256, and also when it is absent (RFC 8414 and OIDC alike).
 */
export function assertPkceS256(metadata: oauth.AuthorizationServer): void {
  const methods = metadata.code_challenge_methods_supported;
  if (methods?.includes('S256')) return;
  throw new GatehouseError(
    'OAUTH_PKCE_UNSUPPORTED',
    methods
      ? `${metadata.issuer} does not offer PKCE S256 (code_challenge_methods_supported lacks it)`
      : `${metadata.issuer} does not advertise PKCE support (no code_challenge_methods_supported)`,
  );
}

/**
 * The endpoints of authorization server metadata a person or Gatehouse will use must be http(s)
 * under the same rules as every guarded request (no `javascript:`, no userinfo, plain HTTP only to
 * loopback or allowed hosts): checked once, when the metadata arrives, so a bad one is never offered.
 * @throws GatehouseError `OAUTH_INSECURE_ENDPOINT` or `SSRF_BLOCKED` naming the field
 */
export function assertEndpoints(
  metadata: oauth.AuthorizationServer,
  allowedPrivateHosts: readonly string[],
): void {
  for (const field of ENDPOINT_FIELDS) {
    const value = metadata[field];
    if (value === undefined) continue;
    let url: URL;
    try {
      url = new URL(String(value));
    } catch {
      throw new GatehouseError(
        'OAUTH_PROTOCOL_ERROR',
        `The metadata of ${metadata.issuer} has an invalid ${field}`,
      );
    }
    try {
      assertSecureScheme(url, allowedPrivateHosts);
    } catch (err) {
      if (!(err instanceof GatehouseError)) throw err;
      throw new GatehouseError(err.code, `${metadata.issuer}'s ${field}: ${err.message}`, {
        cause: err,
        details: { issuer: metadata.issuer, field },
      });
    }
  }
}

const ENDPOINT_FIELDS = [
  'authorization_endpoint',
  'token_endpoint',
  'registration_endpoint',
  'revocation_endpoint',
] as const;

/**
 * Fetches and checks protected resource metadata, with the URL it came from; `undefined` when no
 * candidate URL has any.
 */
export async function fetchResourceMetadata(
  http: OAuthHttp,
  serverUrl: string,
  headerUrl?: string,
): Promise<{ metadata: oauth.ResourceServer; url: string } | undefined> {
  for (const url of protectedResourceMetadataUrls(serverUrl, headerUrl)) {
    const response = await tryGet(http, url);
    if (!response) continue;
    const claimed = await peekString(response, 'resource');
    // RFC 9728 §3.3: the metadata's resource must be the resource we asked about.
    if (claimed !== undefined && !resourceMatches(serverUrl, claimed)) {
      await response.body?.cancel();
      throw new GatehouseError(
        'OAUTH_RESOURCE_MISMATCH',
        `The protected resource metadata at ${url} is for another resource than ${canonicalResource(serverUrl)}`,
        { details: { metadataUrl: url } },
      );
    }
    try {
      const metadata = await oauth.processResourceDiscoveryResponse(new URL(claimed ?? serverUrl), response);
      return { metadata, url };
    } catch (err) {
      throw toOAuthError(err, 'OAUTH_DISCOVERY_FAILED', `Reading protected resource metadata at ${url}`);
    }
  }
  return undefined;
}

/**
 * Fetches authorization server metadata for `issuer`; `undefined` when no candidate URL has any.
 * `checkIssuer: false` is for the 2025-03-26 fallback only, where `issuer` is the MCP server's
 * origin, a guess rather than an issuer anyone named: the document's own `issuer` is then taken.
 */
export async function fetchServerMetadata(
  http: OAuthHttp,
  issuer: string,
  { checkIssuer = true }: { checkIssuer?: boolean } = {},
): Promise<oauth.AuthorizationServer | undefined> {
  // The well-known URLs are built from the issuer's origin, which drops a user name and password:
  // an issuer named with them is refused here, before anything is fetched or shown.
  const named = new URL(issuer);
  if (named.username !== '' || named.password !== '') {
    throw new GatehouseError(
      'OAUTH_INSECURE_ENDPOINT',
      `Refusing an authorization server named with a user name or password (${named.host})`,
      { details: { host: named.host } },
    );
  }
  for (const url of authorizationServerMetadataUrls(issuer)) {
    const response = await tryGet(http, url);
    if (!response) continue;
    const named = checkIssuer ? undefined : await peekString(response, 'issuer');
    const expected = named !== undefined && URL.canParse(named) ? named : issuer;
    try {
      return await oauth.processDiscoveryResponse(new URL(expected), response);
    } catch (err) {
      // RFC 8414 §3.3: the issuer value returned MUST be identical to the one the URL was built from.
      if (err instanceof oauth.OperationProcessingError && err.code === oauth.JSON_ATTRIBUTE_COMPARISON) {
        throw new GatehouseError(
          'OAUTH_ISSUER_MISMATCH',
          `The metadata at ${url} names another issuer than ${issuer}`,
          {
            cause: libraryCause(err),
          },
        );
      }
      throw toOAuthError(err, 'OAUTH_DISCOVERY_FAILED', `Reading authorization server metadata at ${url}`);
    }
  }
  return undefined;
}

export interface DiscoverInput {
  serverUrl: string;
  settings: OAuthSettings | undefined;
  challenge: BearerChallenge | undefined;
  http: OAuthHttp;
  now: number;
  /** For the endpoint checks (OAuth 2.1 §1.5): hosts allowed plain HTTP although not loopback. */
  allowedPrivateHosts: readonly string[];
}

/** Finds the authorization server and resource for an upstream (DESIGN.md, OAuth engine steps 1–4). */
export async function discover(input: DiscoverInput): Promise<ServerBinding> {
  const { serverUrl, settings, challenge, http, now, allowedPrivateHosts } = input;
  const configured = configuredMetadata(settings);
  const resource = settings?.resource;
  if (configured) {
    return {
      metadata: configured,
      resource: resource ?? canonicalResource(serverUrl),
      source: 'settings',
      discoveredAt: now,
    };
  }
  const preferred = settings?.dynamicRegistration?.issuer;
  const found = await fetchResourceMetadata(http, serverUrl, challenge?.resourceMetadata);
  if (found) {
    const prm = found.metadata;
    const servers = prm.authorization_servers ?? [];
    // RFC 9728 §7.6: the client chooses among the listed servers; a configured issuer wins if listed.
    const issuer = servers.find((s) => s === preferred) ?? servers[0];
    if (!issuer)
      throw new GatehouseError(
        'OAUTH_DISCOVERY_FAILED',
        'The protected resource metadata lists no authorization server',
      );
    const metadata = await fetchServerMetadata(http, issuer);
    if (!metadata)
      throw new GatehouseError(
        'OAUTH_DISCOVERY_FAILED',
        `${issuer} publishes no authorization server metadata`,
      );
    assertPkceS256(metadata);
    assertEndpoints(metadata, allowedPrivateHosts);
    return {
      metadata,
      // What the resource calls itself is the audience it checks (RFC 9728 §2 `resource`).
      resource: resource ?? prm.resource,
      ...(prm.scopes_supported ? { resourceScopes: [...prm.scopes_supported] } : {}),
      resourceMetadataUrl: found.url,
      source: 'metadata',
      discoveredAt: now,
    };
  }
  // No resource metadata: a legacy hint, the configured issuer, or (2025-03-26) the server's origin.
  const hinted = challenge?.authorizationServer ?? preferred;
  const issuer = hinted ?? new URL(serverUrl).origin;
  // RFC 8414 §3.3 compares the document's issuer with the one we were given (by the resource's
  // hint or the settings). MCP 2025-03-26 only says the authorization server sits at the MCP
  // server's origin, so nobody named an issuer to compare with: the document's own is used.
  const metadata = await fetchServerMetadata(http, issuer, { checkIssuer: hinted !== undefined });
  if (metadata) {
    assertPkceS256(metadata);
    assertEndpoints(metadata, allowedPrivateHosts);
    return {
      metadata,
      resource: resource ?? canonicalResource(serverUrl),
      source: 'metadata',
      discoveredAt: now,
    };
  }
  if (hinted)
    throw new GatehouseError(
      'OAUTH_DISCOVERY_FAILED',
      `${issuer} publishes no authorization server metadata`,
    );
  return {
    metadata: defaultMetadata(serverUrl),
    resource: resource ?? canonicalResource(serverUrl),
    source: 'defaults',
    discoveredAt: now,
  };
}

/** GET through the guard; `undefined` for "not here" (non-200, network error). Guard refusals throw. */
async function tryGet(http: OAuthHttp, url: string): Promise<Response | undefined> {
  try {
    const response = await getJson(http, url);
    if (response.status === 200) return response;
    await response.body?.cancel();
    return undefined;
  } catch (err) {
    if (err instanceof GatehouseError) throw err;
    return undefined;
  }
}

async function peekString(response: Response, field: string): Promise<string | undefined> {
  try {
    const body: unknown = await response.clone().json();
    const value =
      typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[field] : undefined;
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}
