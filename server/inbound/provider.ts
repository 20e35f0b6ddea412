/**
 * The oidc-provider configuration of Gatehouse's own authorization server (issue 13): what MCP
 * clients expect of one (the MCP authorization spec, OAuth 2.1).
 *
 * - Authorization code flow only, PKCE required (oidc-provider offers S256 only: `plain` is refused).
 * - RFC 8707 resource indicators: the resource must be one of Gatehouse's MCP endpoints
 *   (resources.ts); access tokens are opaque (revocation is immediate: the verifier looks each one
 *   up) and carry the resource as audience.
 * - Refresh tokens for every client registered with the refresh_token grant (MCP clients rarely ask
 *   for `offline_access`), rotated on every use; tokens do not end with the sign-in session.
 * - RFC 7591 dynamic registration (optionally behind an initial access token), Client ID Metadata
 *   Documents fetched through the SSRF guard, RFC 7009 revocation, RFC 9207 `iss` (always on).
 * - Loopback redirect URIs match on any port (RFC 8252 §7.3), every other one exactly.
 */
import type { Logger } from '../log.js';
import { assertAllowedUrl, type FetchLike, type SsrfGuardOptions } from '../security/ssrf.js';
import type { StateStore } from '../settings/state-store.js';
import type { InboundAuthConfig, Settings } from '../settings/types.js';
import { stateAdapter } from './adapter.js';
import type { ProviderKeys } from './keys.js';
import type { ClientModel, OidcProvider } from './oidc-types.js';
import { errorPage } from './pages.js';
import { isGatehouseResource, OFFLINE_ACCESS, supportedScopes } from './resources.js';
import { HTML_CONTENT_SECURITY_POLICY } from '../api/security-headers.js';

export type OwnServerConfig = NonNullable<InboundAuthConfig['oauth']>;

export interface ProviderOptions {
  issuer: string;
  /** Gatehouse's public base URL (no trailing slash). */
  base: string;
  settings: () => Settings;
  config: OwnServerConfig;
  keys: ProviderKeys;
  state: StateStore;
  /** The SSRF-guarded fetch for every request oidc-provider makes (CIMD documents above all). */
  fetch: FetchLike;
  /** The guard's rules, checked before a CIMD fetch is even tried. */
  guard: SsrfGuardOptions;
  logger: Logger;
}

const DAY = 86_400;

/** Consent and sign-in stay open this long, and the AS's own sign-in session lasts a day. */
const INTERACTION_TTL = 3600;
const SESSION_TTL = DAY;

/** CIMD documents are cached for at least 30 s and at most 5 min, whatever their Cache-Control says. */
const CIMD_CACHE = { min: 30, max: 300 };

interface ClientLike {
  clientId: string;
  redirectUris: string[];
  grantTypeAllowed(type: string): boolean;
}

/**
 * Builds the provider; its endpoints live under the issuer's path (`/oauth2`). oidc-provider is
 * loaded here, on first use, not when Gatehouse starts: a gateway without its own authorization
 * server does not carry it (its module graph is large) and, on Node 20, does not print the
 * library's "Unsupported runtime" warning.
 */
export async function buildProvider(options: ProviderOptions): Promise<OidcProvider> {
  const { default: Provider, errors } = await import('oidc-provider');
  const { config, base, settings } = options;
  const accessTokenTTL = config.accessTokenTtlSeconds;
  const provider = new Provider(options.issuer, {
    adapter: stateAdapter(options.state),
    jwks: { keys: [options.keys.signing] },
    cookies: { keys: options.keys.cookies },
    // The sign-in step (login.ts) decides who may sign in; an account is then its subject.
    findAccount: (_ctx: unknown, sub: string) => ({ accountId: sub, claims: () => ({ sub }) }),
    interactions: {
      url: (_ctx: unknown, interaction: { uid: string }) =>
        `${options.issuer}/interaction/${interaction.uid}`,
    },
    // Clients register with the scopes they will ask for (the MCP SDK sends the resource's
    // scopes_supported), and oidc-provider accepts only these in registrations: the list is the
    // settings' as they were when the provider was built (authorization-server.ts rebuilds it
    // when they change).
    scopes: ['openid', OFFLINE_ACCESS, ...supportedScopes(settings())],
    responseTypes: ['code'],
    subjectTypes: ['public'],
    // A browser-based client (the MCP Inspector's page) calls the token and registration
    // endpoints from the origin of its redirect URI; no other origin gets CORS answers.
    clientBasedCORS: (_ctx: unknown, origin: string, client: ClientLike) =>
      client.redirectUris.some((uri) => URL.parse(uri)?.origin === origin),
    pkce: { required: () => true },
    // RFC 7591 §2: omitted metadata takes the server's defaults; an MCP client wants to refresh.
    clientDefaults: {
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    },
    issueRefreshToken: (_ctx: unknown, client: ClientLike) => client.grantTypeAllowed('refresh_token'),
    // OAuth 2.1 §4.3.1: a public client's refresh token is rotated (and a replayed one revokes the grant).
    rotateRefreshToken: () => true,
    // Tokens belong to the client's grant, not to the browser's sign-in at this server.
    expiresWithSession: () => false,
    ttl: {
      AccessToken: accessTokenTTL,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: INTERACTION_TTL,
      RefreshToken: config.refreshTokenTtlSeconds,
      // A grant outlives its rotated refresh tokens; the admin withdraws it (DELETE /api/clients/:grantId).
      Grant: 365 * DAY,
      Session: SESSION_TTL,
    },
    fetch: (url: string | URL, init: RequestInit) => options.fetch(url, stripDispatcher(init)),
    renderError: (ctx: HtmlContext, out: { error?: string; error_description?: string }) => {
      renderHtml(
        ctx,
        errorPage('Sign-in failed', out.error_description ?? 'The request was refused.', out.error),
      );
    },
    features: {
      devInteractions: { enabled: false },
      registration: {
        enabled: config.dynamicRegistration,
        // A string: oidc-provider compares it in constant time with the bearer token of the request.
        initialAccessToken: config.initialAccessToken ?? false,
      },
      revocation: {
        enabled: true,
        // RFC 7009 §2.1: a client revokes only its own tokens.
        allowedPolicy: (_ctx: unknown, client: ClientLike, token: { clientId?: string }) =>
          token.clientId === client.clientId,
      },
      clientIdMetadataDocument: {
        enabled: true,
        ack: 'draft-02',
        allowFetch: async (_ctx: unknown, clientId: string) => {
          try {
            await assertAllowedUrl(new URL(clientId), options.guard);
            return true;
          } catch (error) {
            options.logger.warn(
              { code: (error as { code?: string }).code },
              'client metadata document refused',
            );
            return false;
          }
        },
        // A document without a redirect URI could never complete a flow: refuse it at once.
        allowClient: async (_ctx: unknown, client: ClientLike) => client.redirectUris.length > 0,
        cacheDuration: CIMD_CACHE,
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: (_ctx: unknown, _client: unknown, oneOf?: string | string[]) =>
          oneOf ?? `${base}/mcp`,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, resource: string) => {
          // RFC 8707 §2: a resource this server does not issue tokens for is invalid_target.
          if (!isGatehouseResource(resource, base, settings())) {
            throw new errors.InvalidTarget('Gatehouse issues tokens only for its own MCP endpoints');
          }
          return {
            scope: supportedScopes(settings()).join(' '),
            audience: resource,
            accessTokenTTL,
            accessTokenFormat: 'opaque',
          };
        },
      },
    },
  }) as unknown as OidcProvider;
  // The public base decides every URL (the request's Host is rewritten from it, see
  // authorization-server.ts), and `X-Forwarded-Proto` says whether cookies are `Secure`.
  provider.proxy = true;
  allowLoopbackPorts(provider);
  return provider;
}

/**
 * RFC 8252 §7.3: a native app's loopback redirect URI may use any port, chosen when it runs.
 * oidc-provider allows that only to clients registered as `native`; MCP clients register as
 * `web` (the SDK's default) with a loopback redirect, so the rule is applied to every client.
 */
function allowLoopbackPorts(provider: OidcProvider): void {
  const prototype = provider.Client.prototype;
  const exact = prototype.redirectUriAllowed;
  prototype.redirectUriAllowed = function redirectUriAllowed(this: ClientModel, value: string): boolean {
    if (exact.call(this, value)) return true;
    const presented = withoutLoopbackPort(value);
    return presented !== undefined && this.redirectUris.some((uri) => withoutLoopbackPort(uri) === presented);
  };
}

/** The URI without its port when it is an http loopback URI (127.0.0.1, [::1], localhost); else undefined. */
export function withoutLoopbackPort(uri: string): string | undefined {
  const url = URL.parse(uri);
  if (!url || url.protocol !== 'http:') return undefined;
  if (!['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname)) return undefined;
  url.port = '';
  return url.href;
}

interface HtmlContext {
  type: string;
  body: string;
  set(name: string, value: string): void;
}

/**
 * oidc-provider's own HTML answers (its error page) are written by Koa, past Fastify's onSend hook:
 * they get the same headers as every Gatehouse page here.
 */
function renderHtml(ctx: HtmlContext, html: string): void {
  ctx.type = 'html';
  ctx.set('content-security-policy', HTML_CONTENT_SECURITY_POLICY);
  ctx.set('x-frame-options', 'DENY');
  ctx.set('referrer-policy', 'no-referrer');
  ctx.set('cache-control', 'no-store');
  ctx.body = html;
}

/** oidc-provider passes an undici dispatcher (its own SSRF check, which also refuses allowed hosts). */
function stripDispatcher(init: RequestInit): RequestInit {
  const { dispatcher: _ignored, ...rest } = init as RequestInit & { dispatcher?: unknown };
  return rest;
}
