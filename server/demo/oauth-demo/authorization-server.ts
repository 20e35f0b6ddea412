/**
 * The demo's authorization server: `oidc-provider` set up the way MCP clients expect one.
 * Dynamic client registration without an initial access token (RFC 7591), PKCE S256 required,
 * resource indicators (RFC 8707) minting JWT access tokens (RFC 9068) for the demo MCP resource
 * only, rotating refresh tokens, revocation (RFC 7009), and `iss` in every authorization response
 * (RFC 9207, always on in oidc-provider). Its login and consent pages are oidc-provider's
 * development pages (devInteractions): ANY username and password are accepted, and the username
 * becomes the token's `sub`. Never use this configuration for anything but a local demo.
 */
import type { JWK } from 'jose';
import Provider, { errors, type Adapter } from 'oidc-provider';

export interface AuthorizationServerOptions {
  issuer: string;
  /** The one resource it issues tokens for: the demo MCP endpoint's URL. */
  resource: string;
  /** The scopes that resource grants. */
  scopes: string[];
  /** Access token lifetime in seconds. */
  accessTokenTtl: number;
  signingKey: JWK;
  cookieKeys: string[];
  adapter: (model: string) => Adapter;
}

const DAY = 86_400;

interface ClientLike {
  clientId: string;
  grantTypeAllowed(type: string): boolean;
}

export function createAuthorizationServer(options: AuthorizationServerOptions): Provider {
  return withoutConstructionNotices(() => provider(options));
}

/**
 * oidc-provider prints a warning on every construction with devInteractions on. The demo turns
 * them on on purpose (they are its sign-in page) and tells a person so itself; the notice, printed
 * again at every start (and by every test that starts the demo), is left out. Construction is
 * synchronous, so only oidc-provider's own notices fall in this window.
 */
function withoutConstructionNotices<T>(construct: () => T): T {
  const { warn, info } = globalThis.console;
  globalThis.console.warn = () => undefined;
  globalThis.console.info = () => undefined;
  try {
    return construct();
  } finally {
    globalThis.console.warn = warn;
    globalThis.console.info = info;
  }
}

function provider(options: AuthorizationServerOptions): Provider {
  const { resource, accessTokenTtl } = options;
  return new Provider(options.issuer, {
    adapter: options.adapter,
    jwks: { keys: [options.signingKey] },
    cookies: { keys: options.cookieKeys },
    // devInteractions log in whatever username is typed; that name is the account.
    findAccount: (_ctx: unknown, sub: string) => ({ accountId: sub, claims: () => ({ sub }) }),
    // OAuth 2.1: the code flow only, always with PKCE (S256 is the only method oidc-provider offers).
    responseTypes: ['code'],
    pkce: { required: () => true },
    // A refresh token for every client that registered the grant type, without offline_access.
    issueRefreshToken: (_ctx: unknown, client: ClientLike) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: () => true,
    // Rotated refresh tokens get the full lifetime again, so a gateway that runs keeps working.
    ttl: {
      AccessToken: accessTokenTtl,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 3600,
      RefreshToken: 14 * DAY,
      Grant: 30 * DAY,
      Session: 14 * DAY,
    },
    // Only navigations and server-to-server calls reach it: no browser app needs CORS.
    clientBasedCORS: () => false,
    features: {
      devInteractions: { enabled: true },
      registration: { enabled: true, initialAccessToken: false },
      revocation: {
        enabled: true,
        // RFC 7009 §2.1: a client may revoke only its own tokens.
        allowedPolicy: (_ctx: unknown, client: ClientLike, token: { clientId?: string }) =>
          token.clientId === client.clientId,
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => resource,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, target: string) => {
          // RFC 8707 §2: an unknown resource is an invalid_target error.
          if (target !== resource)
            throw new errors.InvalidTarget(`this server only issues tokens for ${resource}`);
          return {
            scope: options.scopes.join(' '),
            audience: resource,
            accessTokenTTL: accessTokenTtl,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
  });
}
