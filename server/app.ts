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
import { allowedHostNames } from './security/inbound.js';
import { oauthRoutes } from './api/oauth-routes.js';
import type { CredentialStore } from './settings/credentials.js';
import { SettingsCredentialStore } from './settings/file-credentials.js';
import type { SettingsStore } from './settings/store.js';
import { UpstreamManager } from './upstream/manager.js';

export const VERSION = '0.1.0';
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
}

export interface App {
  app: FastifyInstance;
  manager: UpstreamManager;
  gateway: Gateway;
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
  const relay = new CallerRelay({ timeoutMs: () => store.current.system.timeouts.requestMs, logger });
  const manager = new UpstreamManager({
    logger,
    clientInfo: SERVER_INFO,
    relay: relay.relay,
    oauth: {
      store: options.credentials ?? new SettingsCredentialStore({ store }),
      redirectUri: () => `${publicBaseUrl()}/oauth/callback`,
      fetch: options.fetch,
    },
    random: options.random,
    startupGraceMs: options.startupGraceMs,
  });
  const gateway = new Gateway({
    manager,
    settings: () => store.current,
    logger,
    serverInfo: SERVER_INFO,
    relay,
    sessionIdleMs: options.sessionIdleMs,
    authorizationHint: (server) => {
      const status = manager.authStatus(server);
      return {
        url: status?.authorizationUrl,
        how: status?.authorizationUrl
          ? `Open ${status.authorizationUrl} to authorize it, or use the Gatehouse dashboard`
          : `Authorize it in the Gatehouse dashboard or with POST /api/servers/${server}/authorize`,
      };
    },
  });

  store.on('change', ({ next, diff }) => {
    logger.info({ ...diff }, 'settings changed; applying');
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
  });
  await app.register(adminRoutes, {
    adminToken: options.adminToken,
    sessions: options.adminSessions ?? new MemoryAdminSessions(),
    manager,
    gateway,
    store,
  });
  await app.register(oauthRoutes, { manager });
  await registerDashboard(app, options.dashboardDir ?? findDashboard());

  app.addHook('onReady', async () => {
    await manager.apply(store.current);
  });
  app.addHook('preClose', async () => {
    await gateway.close();
  });
  app.addHook('onClose', async () => {
    await manager.close();
  });

  return { app, manager, gateway };
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
