import type { FastifyInstance } from 'fastify';
import { GatehouseError } from '../errors.js';
import type { Gateway } from '../gateway/gateway.js';
import type { AdminSessionStore } from '../security/admin-session.js';
import type { SettingsStore } from '../settings/store.js';
import type { UpstreamManager } from '../upstream/manager.js';
import { SettingsEditor } from '../settings/server-edits.js';
import { adminGuard } from './admin-guard.js';
import { editRoutes } from './edit-routes.js';
import { eventsRoutes, liveChanges } from './events-routes.js';
import { importRoutes } from './import.js';
import { adminErrorHandler } from './problems.js';
import { rawRoutes } from './raw-routes.js';
import { inputsRoutes } from './inputs-routes.js';
import { keysRoutes } from './keys-routes.js';
import { meRoutes } from './me-routes.js';
import { meServersRoutes } from './me-servers-routes.js';
import { clientsRoutes } from './clients-routes.js';
import type { ClientGrants } from '../inbound/grants.js';
import type { ApiKeyStore } from '../security/api-keys.js';
import { serverSummaries, withPeople } from './server-list.js';
import { sessionRoutes, type TeamSignIn } from './session-routes.js';
import { settingsRoutes } from './settings-routes.js';
import { toolsRoutes } from './tools-routes.js';
import { serverDetail } from './status.js';

export interface AdminRoutesOptions {
  adminToken: string;
  /** Where signed-in dashboard sessions live. */
  sessions: AdminSessionStore;
  manager: UpstreamManager;
  gateway: Gateway;
  store: SettingsStore;
  keys: ApiKeyStore;
  /** The own authorization server's grants (GET/DELETE /api/clients, and a person's own under /api/me). */
  clients?: ClientGrants;
  /** The dashboard's team sign-in (GET /api/session/methods, /api/session/team). */
  team?: TeamSignIn;
}

/**
 * The admin REST API under /api. One guard (admin-guard.ts) covers every route registered in this
 * scope: the bearer token, or the session cookie with a same-origin `Origin` on changes. Every
 * /api plugin is registered here, so none can be added without it.
 */
export async function adminRoutes(app: FastifyInstance, opts: AdminRoutesOptions): Promise<void> {
  const { manager, gateway, store } = opts;
  const baseUrl = () => store.current.system.baseUrl;

  app.setErrorHandler(adminErrorHandler);
  await app.register(adminGuard, { adminToken: opts.adminToken, sessions: opts.sessions, baseUrl });
  await app.register(sessionRoutes, { sessions: opts.sessions, baseUrl, team: opts.team });
  await app.register(meRoutes, { keys: opts.keys, store, clients: opts.clients });
  await app.register(meServersRoutes, { manager, store });
  await app.register(settingsRoutes, { store });
  await app.register(rawRoutes, { store });
  const editor = new SettingsEditor(store);
  await app.register(editRoutes, { editor, store, manager });
  await app.register(importRoutes, { editor, store });
  await app.register(toolsRoutes, {
    manager,
    requestTimeoutMs: () => store.current.system.timeouts.requestMs,
  });
  await app.register(inputsRoutes, { manager });
  await app.register(keysRoutes, { keys: opts.keys, store });
  if (opts.clients) await app.register(clientsRoutes, { clients: opts.clients });
  const summaries = serverSummaries(manager, gateway);
  await app.register(eventsRoutes, {
    summaries,
    settingsStatus: () => store.status(),
    subscribe: liveChanges(manager, store),
  });

  const connectionOf = (name: string) => {
    const connection = manager.get(name);
    if (!connection) throw new GatehouseError('SERVER_NOT_FOUND', `no server named "${name}"`);
    return connection;
  };

  app.get('/api/servers', async () => summaries.list());

  app.get<{ Params: { name: string } }>('/api/servers/:name', async (req) => {
    const connection = connectionOf(req.params.name);
    return withPeople(
      manager,
      serverDetail(
        connection,
        gateway.catalog,
        manager.authStatus(connection.name),
        store.rawServerEntry(connection.name),
      ),
    );
  });

  app.post<{ Params: { name: string } }>('/api/servers/:name/reconnect', async (req, reply) => {
    connectionOf(req.params.name);
    manager.reconnect(req.params.name);
    return reply.code(202).send({ ok: true });
  });

  /** Starts (or restarts) the OAuth flow: discovery and registration as needed, then the URL to open. */
  app.post<{ Params: { name: string } }>('/api/servers/:name/authorize', async (req) => {
    const { authorizationUrl } = await manager.authorize(req.params.name);
    return { authorizationUrl };
  });

  /** Revokes the tokens at the AS when it can (RFC 7009), forgets them, and reconnects. */
  app.post<{ Params: { name: string } }>('/api/servers/:name/disconnect', async (req) => {
    await manager.disconnect(req.params.name);
    return { ok: true };
  });
}
