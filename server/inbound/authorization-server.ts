/**
 * Gatehouse's own OAuth 2.1 authorization server for its inbound MCP clients (issue 13), enabled
 * by `systemConfig.inboundAuth.oauth.enabled`. oidc-provider (configured in provider.ts) is mounted
 * under Fastify at the issuer `<base>/oauth2`, where base is `systemConfig.baseUrl` or, without
 * it, `http://localhost:<listening port>`.
 *
 * The provider is built on first use, because the port is known only after listen. It is built
 * again when the issuer or the server's settings change; tokens and grants live in the state store
 * and stay valid across a rebuild, except that tokens stay bound to the issuer that minted them:
 * after a `baseUrl` change clients sign in again (logged).
 *
 * Metadata: oidc-provider serves OpenID discovery at `<issuer>/.well-known/openid-configuration`;
 * the RFC 8414 path-inserted URL `<base>/.well-known/oauth-authorization-server/oauth2` and the
 * other URL the MCP SDK tries for an issuer with a path (`/.well-known/openid-configuration/oauth2`)
 * answer the same document.
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GatehouseError } from '../errors.js';
import { createHttpFetch, type FetchLike, type HttpFetch } from '../http-fetch.js';
import type { Logger } from '../log.js';
import type { AdminSessionStore } from '../security/admin-session.js';
import { hostName } from '../security/inbound.js';
import type { TokenVerifier } from '../security/principal.js';
import { RateLimiter } from '../security/rate-limit.js';
import { createGuardedFetch, pinnedLookup, type SsrfGuardOptions } from '../security/ssrf.js';
import type { StateStore } from '../settings/state-store.js';
import type { Settings } from '../settings/types.js';
import { ClientGrants } from './grants.js';
import { interactionRoutes, issuerPath } from './interactions.js';
import { loadProviderKeys, type ProviderKeys } from './keys.js';
import { adminLogin, type LoginMethod } from './login.js';
import { finishDashboardSignIn, oidcLogin, withAdministrator, type FederatedLogin } from './login-oidc.js';
import type { OidcProvider } from './oidc-types.js';
import { errorPage } from './pages.js';
import { buildProvider, type OwnServerConfig } from './provider.js';
import { supportedScopes } from './resources.js';
import { OwnTokenVerifier } from './verifier.js';

export interface AuthorizationServerOptions {
  settings: () => Settings;
  state: StateStore;
  /** Gatehouse's public base URL, trailing slashes stripped (app.ts `publicBaseUrl`). */
  baseUrl: () => string;
  adminToken: string;
  adminSessions: AdminSessionStore;
  /** The Host names a browser may use to reach Gatehouse (checked on the dashboard's team sign-in). */
  allowedHosts?: () => Set<string>;
  logger: Logger;
  /**
   * The fetch under the SSRF guard for the server's own outbound requests (CIMD documents).
   * Default: node:http with the guard's pinned lookup.
   */
  fetch?: FetchLike;
}

export interface AuthorizationServer {
  /** `<base>/oauth2` when the own server is enabled; undefined otherwise. */
  issuer(): string | undefined;
  verifier: TokenVerifier;
  /** The admin's view of authorized clients (works whether or not the server is enabled). */
  grants: ClientGrants;
  /**
   * The dashboard's sign-in through the company's provider (api/session-routes.ts `TeamSignIn`):
   * the provider's host when the settings name one, and the start of a sign-in whose return
   * (`/oauth2/login/callback`) gives the person a dashboard session.
   */
  dashboard: {
    provider(): string | undefined;
    start(req: FastifyRequest): Promise<{ redirect: string } | { status: number; html: string }>;
  };
  /** Mounts the server's routes (only when enabled at start; see the module comment). */
  register(app: FastifyInstance): Promise<void>;
  close(): Promise<void>;
}

/** RFC 7591 registrations per client address: 20 a minute. */
const REGISTRATION_LIMIT = { capacity: 20, windowMs: 60_000 };
/** Every other request to the server per client address: 300 a minute. */
const ENDPOINT_LIMIT = { capacity: 300, windowMs: 60_000 };
/** Failed sign-ins per client address: 10 a minute. */
const LOGIN_FAILURE_LIMIT = { capacity: 10, windowMs: 60_000 };

/**
 * The SSRF guard of CIMD fetches has no "upstream" whose host is trusted: `.invalid` (RFC 2606)
 * never resolves, so only `allowedPrivateHosts` opens private addresses.
 */
const NO_TRUSTED_HOST = 'https://client-metadata.invalid/';

/** The well-known URLs below the origin that answer the server's metadata (besides the issuer's own). */
const METADATA_PATHS = ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration'];

/** Creates the server (nothing is built until the first request or token check). */
export function createAuthorizationServer(options: AuthorizationServerOptions): AuthorizationServer {
  const { logger } = options;
  const config = (): OwnServerConfig | undefined => {
    const oauth = options.settings().system.inboundAuth?.oauth;
    return oauth?.enabled ? oauth : undefined;
  };
  let keys: Promise<ProviderKeys> | undefined;
  let current: { key: string; issuer: string; provider: OidcProvider; http?: HttpFetch } | undefined;
  let building: Promise<OidcProvider> | undefined;

  const provider = async (): Promise<OidcProvider> => {
    const oauth = config();
    if (!oauth) throw new GatehouseError('INBOUND_AUTH_NOT_CONFIGURED');
    const base = options.baseUrl();
    const issuer = `${base}/oauth2`;
    const allowedPrivateHosts = options.settings().system.allowedPrivateHosts;
    const key = JSON.stringify([issuer, oauth, allowedPrivateHosts, supportedScopes(options.settings())]);
    if (current?.key === key) return current.provider;
    if (building) return building;
    building = (async () => {
      keys ??= loadProviderKeys(options.state);
      const guard: SsrfGuardOptions = { upstreamUrl: NO_TRUSTED_HOST, allowedPrivateHosts };
      const http = options.fetch ? undefined : createHttpFetch({ lookup: pinnedLookup(guard) });
      const fetch = createGuardedFetch({ ...guard, fetch: options.fetch ?? http!.fetch });
      const built = await buildProvider({
        issuer,
        base,
        settings: options.settings,
        config: oauth,
        keys: await keys,
        state: options.state,
        fetch,
        guard,
        logger,
      });
      if (current && current.issuer !== issuer) {
        logger.warn(
          { issuer, previous: current.issuer },
          'the authorization server issuer changed (systemConfig.baseUrl): its clients must sign in again',
        );
      }
      current?.http?.close();
      current = { key, issuer, provider: built, http };
      return built;
    })().finally(() => {
      building = undefined;
    });
    return building;
  };

  const admin = adminLogin({ adminToken: options.adminToken, sessions: options.adminSessions });
  let team: { key: string; login: FederatedLogin } | undefined;
  /** The sign-in the settings name now (`login`); the team one is rebuilt when its settings change. */
  const loginMethod = (): LoginMethod | FederatedLogin => {
    const login = config()?.login;
    if (!login || login.type === 'admin') return admin;
    const settings = options.settings();
    const base = options.baseUrl();
    const key = JSON.stringify([login, base, settings.system.allowedPrivateHosts]);
    if (team?.key !== key) {
      const guard = { upstreamUrl: login.issuer, allowedPrivateHosts: settings.system.allowedPrivateHosts };
      team = {
        key,
        login: withAdministrator(
          oidcLogin({
            config: login,
            redirectUri: `${base}/oauth2/login/callback`,
            // The company's provider is the trusted host (any port); its answers still go through the guard.
            fetch: createGuardedFetch({ ...guard, fetch: options.fetch ?? fetch }),
            timeoutMs: settings.system.timeouts.oauthMs,
            state: options.state,
          }),
          admin,
        ),
      };
    }
    return team.login;
  };

  const teamLogin = (): FederatedLogin | undefined => {
    const login = loginMethod();
    return 'callback' in login ? login : undefined;
  };
  /** A dashboard sign-in is reached only by a Host Gatehouse answers to (as /mcp, against DNS rebinding). */
  const checkHost = (req: FastifyRequest) => {
    const allowed = options.allowedHosts?.();
    const host = req.headers.host;
    if (allowed && (!host || !allowed.has(hostName(host)))) {
      throw new GatehouseError('ORIGIN_REJECTED', `Host "${host ?? ''}" is not allowed`);
    }
  };
  const dashboard: AuthorizationServer['dashboard'] = {
    provider: () => teamLogin()?.provider,
    async start(req) {
      const team = teamLogin();
      if (!team) throw new GatehouseError('INBOUND_AUTH_NOT_CONFIGURED');
      checkHost(req);
      if (!requests.take(req.ip)) throw new GatehouseError('RATE_LIMITED');
      const outcome = await team.start({ kind: 'dashboard' });
      if (outcome.kind === 'redirect') return { redirect: outcome.url };
      const message = outcome.kind === 'refused' ? outcome.message : 'The sign-in cannot start.';
      return { status: 502, html: errorPage('Sign in to Gatehouse', message) };
    },
  };

  const grants = new ClientGrants(options.state);
  const verifier = new OwnTokenVerifier({
    provider,
    state: options.state,
    baseUrl: options.baseUrl,
    settings: options.settings,
  });
  const registrations = new RateLimiter(REGISTRATION_LIMIT);
  const requests = new RateLimiter(ENDPOINT_LIMIT);
  const loginFailures = new RateLimiter(LOGIN_FAILURE_LIMIT);

  /** Hands one request to oidc-provider, as a request to `<issuer path><inner>` of the public base. */
  const delegate = async (req: FastifyRequest, reply: FastifyReply, inner: string) => {
    const limited = inner.startsWith('/reg') && req.method === 'POST' ? registrations : requests;
    if (!limited.take(req.ip)) {
      reply.header('retry-after', String(limited.retryAfterSeconds(req.ip)));
      throw new GatehouseError('RATE_LIMITED');
    }
    const handle = (await provider()).callback();
    const base = new URL(options.baseUrl());
    const raw = req.raw as IncomingMessage & { originalUrl?: string };
    // oidc-provider computes its mount path from originalUrl minus url (see its urlFor).
    raw.originalUrl = `${issuerPath(base.href)}${inner}`;
    raw.url = inner;
    // Every URL it writes (metadata, redirects, cookie flags) comes from the public base, never
    // from what the client claims in Host or X-Forwarded-* (provider.proxy is on, see provider.ts).
    raw.headers.host = base.host;
    raw.headers['x-forwarded-proto'] = base.protocol.slice(0, -1);
    delete raw.headers['x-forwarded-host'];
    reply.hijack();
    reply.raw.setHeader('x-content-type-options', 'nosniff');
    handle(raw, reply.raw);
  };

  const innerOf = (url: string) => {
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    const search = query === -1 ? '' : url.slice(query);
    return { path, search };
  };

  return {
    issuer: () => (config() ? `${options.baseUrl()}/oauth2` : undefined),
    verifier,
    grants,
    dashboard,
    async register(app) {
      await app.register(async (scope) => {
        // oidc-provider reads request bodies itself: Fastify must leave the stream untouched.
        scope.removeAllContentTypeParsers();
        scope.addContentTypeParser('*', (_req, _payload, done) => done(null));
        scope.all('/oauth2/*', async (req, reply) => {
          const { path, search } = innerOf(req.url);
          await delegate(req, reply, `${path.slice('/oauth2'.length)}${search}`);
        });
        for (const prefix of METADATA_PATHS) {
          scope.get(`${prefix}/oauth2`, async (req, reply) => {
            await delegate(req, reply, `/.well-known/openid-configuration${innerOf(req.url).search}`);
          });
        }
        // A client from before RFC 9728 looks at the root of the server it was given.
        scope.get('/.well-known/oauth-authorization-server', async (req, reply) => {
          await delegate(req, reply, '/.well-known/openid-configuration');
        });
      });
      await app.register(interactionRoutes, {
        provider,
        login: loginMethod,
        loginFailures,
        state: options.state,
        baseUrl: options.baseUrl,
        recordConsent: (grantId, info) => grants.recordConsent(grantId, info),
        finishDashboard: async (req, reply, outcome) => {
          checkHost(req);
          return finishDashboardSignIn(reply, outcome, {
            sessions: options.adminSessions,
            baseUrl: options.baseUrl(),
          });
        },
        logger,
      });
    },
    async close() {
      verifier.close();
      current?.http?.close();
      current = undefined;
    },
  };
}
