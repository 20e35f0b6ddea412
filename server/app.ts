import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { adminRoutes } from './api/admin-routes.js';
import { isGatehouseError } from './errors.js';
import { Gateway } from './gateway/gateway.js';
import { gatewayRoutes } from './gateway/routes.js';
import type { Logger } from './log.js';
import type { SettingsStore } from './settings/store.js';
import { UpstreamManager, type UpstreamAuthFactory } from './upstream/manager.js';

export const VERSION = '0.1.0';
const SERVER_INFO = { name: 'gatehouse', version: VERSION };

export interface AppOptions {
  /** A loaded SettingsStore; buildApp subscribes to its changes. */
  store: SettingsStore;
  adminToken: string;
  logger?: FastifyServerOptions['logger'];
  /** The OAuth seam; absent, HTTP upstreams connect without credentials. */
  authFor?: UpstreamAuthFactory;
  random?: () => number;
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
    logger: options.logger ?? false,
    bodyLimit: 4 * 1024 * 1024,
    // MCP clients hold long-lived SSE streams; shutdown closes them itself.
    forceCloseConnections: true,
  });
  const logger = app.log as unknown as Logger;
  const { store } = options;

  const manager = new UpstreamManager({
    logger,
    clientInfo: SERVER_INFO,
    authFor: options.authFor,
    random: options.random,
  });
  const gateway = new Gateway({
    manager,
    settings: () => store.current,
    logger,
    serverInfo: SERVER_INFO,
    authorizationHint: (server) => ({
      how: `Authorize it in the Gatehouse dashboard or with POST /api/servers/${server}/authorize`,
    }),
  });

  store.on('change', ({ next, diff }) => {
    logger.info({ ...diff }, 'settings changed; applying');
    gateway.settingsChanged(next);
    manager.apply(next).catch((error: unknown) => logger.error({ err: String(error) }, 'applying settings failed'));
  });
  store.on('invalid', (error) => {
    logger.error({ code: error.code, problems: error.details?.problems }, `settings edit rejected: ${error.message}`);
  });

  app.setErrorHandler((error: unknown, _req, reply) => {
    if (isGatehouseError(error)) return reply.code(error.status).send({ error: error.toJSON() });
    const { statusCode, message } = error as { statusCode?: number; message?: string };
    const status = statusCode ?? 500;
    if (status >= 500) logger.error({ err: String(message) }, 'request failed');
    const code = status >= 500 ? 'INTERNAL' : 'BAD_REQUEST';
    return reply.code(status).send({ error: { code, message: status >= 500 ? 'Internal error' : message } });
  });

  await app.register(gatewayRoutes, { gateway });
  await app.register(adminRoutes, { adminToken: options.adminToken, manager, gateway });

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
