import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyServerOptions,
} from 'fastify';
import { adminRoutes } from './api/admin-routes.js';
import { securityHeaders } from './api/security-headers.js';
import { GatehouseError, isGatehouseError } from './errors.js';
import { Gateway } from './gateway/gateway.js';
import { CallerRelay } from './gateway/relay.js';
import { gatewayRoutes } from './gateway/routes.js';
import type { Logger } from './log.js';
import { MemoryAdminSessions, type AdminSessionStore } from './security/admin-session.js';
import { StateAdminSessions } from './security/shared-admin-sessions.js';
import { allowedHostNames, hostName, isLoopback } from './security/inbound.js';
import { oauthRoutes } from './api/oauth-routes.js';
import { healthRoutes } from './api/health-routes.js';
import { connectLink, connectRoutes } from './api/connect-routes.js';
import type { CredentialStore } from './settings/credentials.js';
import { SettingsCredentialStore } from './settings/file-credentials.js';
import { FileStateStore, type StateStore } from './settings/state-store.js';
import { StateCredentialStore } from './settings/state-credentials.js';
import { ApiKeyStore } from './security/api-keys.js';
import { InboundAuthenticator } from './security/inbound-auth.js';
import { createJwtVerifier } from './security/jwt-verifier.js';
import type { TokenVerifier } from './security/principal.js';
import { RateLimiter } from './security/rate-limit.js';
import { resourceMetadataRoutes, resourceUrls } from './api/resource-metadata.js';
import { createAuthorizationServer } from './inbound/authorization-server.js';
import type { SettingsStore } from './settings/store.js';
import type { UpstreamLists } from './upstream/lists.js';
import { UpstreamManager } from './upstream/manager.js';

export const VERSION = '0.1.0';
/** The StateStore collection of per-user servers' last tool, prompt and resource lists. */
const UPSTREAM_LISTS = 'upstream-lists';
const SERVER_INFO = { name: 'gatehouse', version: VERSION };

export interface AppOptions {
  /** A loaded SettingsStore; buildApp subscribes to its changes. */
  store: SettingsStore;
  adminToken: string;
  /** The address main binds; a loopback one is added to the Host names MCP requests may use. */
  host?: string;
  /** Fastify logger options (tests); ignored when `loggerInstance` is given. */
  logger?: FastifyServerOptions['logger'];
  /** The process's logger (main creates it before anything else, so every line looks alike). */
  loggerInstance?: FastifyBaseLogger;
  /** Where OAuth credentials live; default: encrypted in the settings file. */
  credentials?: CredentialStore;
  /** The fetch the OAuth engines use (tests inject nothing; it is here for embedders). */
  fetch?: typeof fetch;
  random?: () => number;
  /** Idle Streamable HTTP sessions are closed after this long (default 1 hour). */
  sessionIdleMs?: number;
  /** How long after an upstream starts a refused connection is retried quietly (default 5 s). */
  startupGraceMs?: number;
  /** The dashboard's static files; default: the project's dashboard/ folder. */
  dashboardDir?: string;
  /** Where signed-in dashboard sessions live; default: in memory, 12 h idle expiry. */
  adminSessions?: AdminSessionStore;
  /** Gateway-wide records (API keys, the inbound authorization server's state); default: the state file beside the settings. */
  state?: StateStore;
}

export interface App {
  app: FastifyInstance;
  manager: UpstreamManager;
  gateway: Gateway;
  keys: ApiKeyStore;
}

/**
 * Builds the gateway: upstream manager, catalog, MCP routes and admin API. Does not listen, so
 * tests can `inject()` or `listen({ port: 0 })`. Upstreams start connecting when the app is ready.
 */
export async function buildApp(options: AppOptions): Promise<App> {
  const app = Fastify({
    ...(options.loggerInstance
      ? { loggerInstance: options.loggerInstance }
      : { logger: options.logger ?? false }),
    bodyLimit: 4 * 1024 * 1024,
    // MCP clients hold long-lived SSE streams; shutdown closes them itself.
    forceCloseConnections: true,
    // Two info lines per tool call (and per dashboard poll) is noise at the default level, and
    // costs as much as the call itself: requests are logged at debug below instead. (Fastify 5's
    // way to say it; the top-level disableRequestLogging option is deprecated, FSTDEP023.)
    logController: new LogController({ disableRequestLogging: true }),
  });
  // (MCP requests are handed to their transport, which skips this hook.) The query string is left
  // out: /oauth/callback carries the authorization code there.
  app.addHook('onResponse', async (req, reply) => {
    req.log.debug(
      {
        method: req.method,
        path: req.url.split('?')[0],
        status: reply.raw.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      'request',
    );
  });
  const logger = app.log as unknown as Logger;
  const { store } = options;

  // systemConfig.baseUrl, else the address we listen on (as localhost: what a browser opens).
  const publicBaseUrl = () => {
    const configured = store.current.system.baseUrl;
    if (configured) return configured.replace(/\/+$/, '');
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : 3000;
    return `http://localhost:${port}`;
  };
  // The base URL a request was sent to, for resource URLs (RFC 9728: the resource a client is told
  // must be the URL it used): systemConfig.baseUrl, else the request's own loopback Host (already
  // checked on MCP routes; any other name falls back to publicBaseUrl).
  const requestBaseUrl = (req: { headers: { host?: string } }) => {
    const configured = store.current.system.baseUrl;
    if (configured) return configured.replace(/\/+$/, '');
    const host = req.headers.host;
    return host && allowedHostNames(undefined, options.host).has(hostName(host))
      ? `http://${host}`
      : publicBaseUrl();
  };
  // Every base a resource URL may start with: the configured one, else each loopback name.
  const resourceBases = () => {
    const configured = store.current.system.baseUrl;
    if (configured) return [configured.replace(/\/+$/, '')];
    const port = new URL(publicBaseUrl()).port;
    return ['localhost', '127.0.0.1', '[::1]'].map((host) => `http://${host}:${port}`);
  };
  // Gateway-wide records (API keys, the own authorization server, per-user upstream credentials):
  // the file beside the settings, or Redis shared by several replicas (systemConfig.store, read here).
  const storeConfig = store.current.system.store;
  // The Redis client is loaded only when it is used (a module loaded at start grows every call's
  // garbage collection, as npm run bench:instructions showed with oidc-provider).
  const shared =
    storeConfig.type === 'redis' && !options.state
      ? await (
          await import('./settings/redis-state.js')
        ).RedisStateStore.open({
          url: storeConfig.url,
          prefix: storeConfig.prefix,
          secrets: store.secrets,
          logger,
        })
      : undefined;
  const state =
    options.state ??
    shared ??
    (await FileStateStore.open({ dir: store.dir, secrets: store.secrets, logger }));
  // Upstream credentials: per person always in the state store; the shared ones too on Redis (every
  // replica needs them), else in the settings file. On Redis the lock holds across replicas.
  const stateCredentials = new StateCredentialStore(
    state,
    shared && storeConfig.type === 'redis'
      ? new (await import('./settings/redis-lock.js')).RedisLock(shared.client, storeConfig.prefix)
      : undefined,
  );
  const relay = new CallerRelay({ timeoutMs: () => store.current.system.timeouts.requestMs, logger });
  const manager = new UpstreamManager({
    logger,
    clientInfo: SERVER_INFO,
    relay: relay.relay,
    oauth: {
      store: options.credentials ?? (shared ? stateCredentials : new SettingsCredentialStore({ store })),
      userStore: stateCredentials,
      redirectUri: () => `${publicBaseUrl()}/oauth/callback`,
      fetch: options.fetch,
    },
    random: options.random,
    startupGraceMs: options.startupGraceMs,
    lists: {
      get: async (server, fingerprint) => {
        const record = await state.get(UPSTREAM_LISTS, server);
        return record?.fingerprint === fingerprint ? (record.lists as UpstreamLists) : undefined;
      },
      put: (server, fingerprint, lists) => state.put(UPSTREAM_LISTS, server, { fingerprint, lists }),
    },
    pendingStore: state,
  });
  // Another replica's authorization, refresh or typed-in values: this replica's engines follow.
  const unfollow = stateCredentials.onRemoteChange((key) => {
    manager
      .credentialChanged(key)
      .catch((error: unknown) =>
        logger.warn(
          { server: key.server, err: String(error) },
          'following a change of another replica failed',
        ),
      );
  });
  const gateway = new Gateway({
    manager,
    settings: () => store.current,
    logger,
    serverInfo: SERVER_INFO,
    relay,
    sessionIdleMs: options.sessionIdleMs,
    // Inbound sessions any replica can serve: only with Redis (the file store is one machine's).
    sharedStore: storeConfig.type === 'redis' ? state : undefined,
    personLink: (server, person, need) =>
      need === 'authorize' ? connectLink(publicBaseUrl(), server, person) : `${publicBaseUrl()}/#/my-servers`,
    authorizationHint: (server) => {
      if (manager.isPerUser(server)) {
        return { how: 'Each person connects it for themselves under My servers in the Gatehouse dashboard' };
      }
      const status = manager.authStatus(server);
      return {
        url: status?.authorizationUrl,
        how: status?.authorizationUrl
          ? `Open ${status.authorizationUrl} to authorize it, or use the Gatehouse dashboard`
          : `Authorize it in the Gatehouse dashboard or with POST /api/servers/${server}/authorize`,
      };
    },
  });

  // Inbound identity: API keys, the admin token, and the token verifiers the settings name.
  // Dashboard sessions: in memory, or with Redis in the shared store (any replica knows them).
  const adminSessions =
    options.adminSessions ?? (shared ? new StateAdminSessions(state) : new MemoryAdminSessions());
  const keys = await ApiKeyStore.open(state);
  // Gatehouse's own authorization server (server/inbound): built on first use, mounted below when enabled.
  const ownServer = createAuthorizationServer({
    settings: () => store.current,
    state,
    baseUrl: publicBaseUrl,
    adminToken: options.adminToken,
    adminSessions,
    allowedHosts: () => allowedHostNames(store.current.system.baseUrl, options.host),
    logger,
    fetch: options.fetch,
  });
  let external: { issuer: string; audience?: string; verifier: TokenVerifier } | undefined;
  const externalVerifier = (): TokenVerifier | undefined => {
    const oauth = store.current.system.inboundAuth?.oauth;
    if (!oauth?.issuer) return undefined;
    if (external?.issuer !== oauth.issuer || external.audience !== oauth.audience) {
      external = {
        issuer: oauth.issuer,
        audience: oauth.audience,
        verifier: createJwtVerifier({
          issuer: oauth.issuer,
          audience: () => (oauth.audience ? [oauth.audience] : resourceUrls(resourceBases(), store.current)),
          timeoutMs: store.current.system.timeouts.oauthMs,
          logger,
          fetch: options.fetch,
        }),
      };
    }
    return external.verifier;
  };
  const inboundAuth = new InboundAuthenticator({
    adminToken: options.adminToken,
    keys,
    verifiers: () => {
      const verifier = externalVerifier();
      if (store.current.system.inboundAuth?.oauth?.enabled) return [ownServer.verifier];
      return verifier ? [verifier] : [];
    },
    // Bound beyond loopback, a credential is always required (main refuses to start otherwise;
    // this keeps a hot edit that removes inboundAuth from opening the endpoint).
    required: () =>
      store.current.system.inboundAuth !== undefined || !isLoopback(options.host ?? '127.0.0.1'),
    failures: new RateLimiter({ capacity: 20, windowMs: 60_000 }),
  });
  // A revoked token or withdrawn grant at the own authorization server ends cached verdicts at once.
  ownServer.verifier.onRevoke?.(() => inboundAuth.dropCache());

  store.on('change', ({ next, diff }) => {
    logger.info({ ...diff }, 'settings changed; applying');
    // An issuer, an audience or a group may have changed: verified tokens are checked again.
    inboundAuth.dropCache();
    gateway.settingsChanged(next);
    manager
      .apply(next)
      .catch((error: unknown) => logger.error({ err: String(error) }, 'applying settings failed'));
  });
  store.on('invalid', (error) => {
    logger.error(
      { code: error.code, problems: error.details?.problems },
      `settings edit rejected: ${error.message}`,
    );
  });

  app.setErrorHandler((error: unknown, _req, reply) => {
    if (isGatehouseError(error)) return reply.code(error.status).send({ error: error.toJSON() });
    const { statusCode, message } = error as { statusCode?: number; message?: string };
    const status = statusCode ?? 500;
    if (status >= 500) logger.error({ err: String(message) }, 'request failed');
    const failure =
      status >= 500 ? new GatehouseError('INTERNAL') : new GatehouseError('BAD_REQUEST', message);
    return reply.code(status).send({ error: failure.toJSON() });
  });
  // Before any route is registered, so that every route (the dashboard's and the callback's HTML
  // pages above all) gets the security headers.
  app.addHook('onSend', securityHeaders);

  await app.register(gatewayRoutes, {
    gateway,
    allowedHosts: () => allowedHostNames(store.current.system.baseUrl, options.host),
    auth: inboundAuth,
    baseUrl: requestBaseUrl,
  });
  await app.register(resourceMetadataRoutes, {
    baseUrl: requestBaseUrl,
    settings: () => store.current,
    issuer: () => store.current.system.inboundAuth?.oauth?.issuer ?? ownServer.issuer(),
  });
  await app.register(adminRoutes, {
    adminToken: options.adminToken,
    sessions: adminSessions,
    manager,
    gateway,
    store,
    keys,
    clients: ownServer.grants,
    team: ownServer.dashboard,
  });
  // A change of inboundAuth.oauth.enabled needs a restart (its routes are mounted once).
  if (store.current.system.inboundAuth?.oauth?.enabled) await ownServer.register(app);
  await app.register(healthRoutes, {
    checks: () => ({
      settings: 'ok',
      // The file store lives in memory and on the local disk: reachable while the process is;
      // Redis while its connection is up.
      store: shared && !shared.reachable ? 'unreachable' : 'ok',
      shutdown: gateway.draining ? 'draining' : 'no',
    }),
  });
  await app.register(oauthRoutes, {
    manager,
    secrets: store.secrets,
    baseUrl: () => store.current.system.baseUrl,
  });
  await app.register(connectRoutes, {
    manager,
    sessions: adminSessions,
    secrets: store.secrets,
    baseUrl: () => store.current.system.baseUrl,
    teamSignIn: () => ownServer.dashboard.provider() !== undefined,
  });
  await registerDashboard(app, options.dashboardDir ?? findDashboard());

  app.addHook('onReady', async () => {
    await manager.apply(store.current);
  });
  app.addHook('preClose', async () => {
    await gateway.close();
  });
  app.addHook('onClose', async () => {
    keys.close();
    unfollow();
    await ownServer.close();
    await manager.close();
    await shared?.close();
  });

  return { app, manager, gateway, keys };
}

/** The dashboard folder beside server/ (running from sources) or beside dist/ (built). */
function findDashboard(): string | undefined {
  const here = import.meta.dirname;
  return [join(here, '..', 'dashboard'), join(here, '..', '..', 'dashboard')].find((dir) =>
    existsSync(join(dir, 'index.html')),
  );
}

/**
 * Serves the dashboard at `/`. The page holds no secret: it reads the admin token from the URL
 * fragment (never sent to a server) and calls /api with it. The strict CSP that keeps injected
 * markup inert is the app-wide one for HTML answers (api/security-headers.ts).
 */
async function registerDashboard(app: FastifyInstance, root: string | undefined): Promise<void> {
  if (!root) return;
  await app.register(async (scope) => {
    scope.addHook('onSend', async (_req, reply) => {
      // An upgraded gateway must not run a stale app.js from the browser's cache.
      reply.header('cache-control', 'no-cache');
    });
    await scope.register(fastifyStatic, { root, prefix: '/', index: ['index.html'] });
  });
}
