import type { FastifyInstance } from 'fastify';
import { GatehouseError } from '../errors.js';
import type { Gateway } from '../gateway/gateway.js';
import { verifyBearer } from '../security/admin-token.js';
import type { UpstreamManager } from '../upstream/manager.js';
import { serverStatus } from './status.js';

export interface AdminRoutesOptions {
  adminToken: string;
  manager: UpstreamManager;
  gateway: Gateway;
}

/**
 * The admin REST API under /api. Every route here needs the admin token
 * (`Authorization: Bearer <token>`); the check is scoped to this plugin only.
 */
export async function adminRoutes(app: FastifyInstance, opts: AdminRoutesOptions): Promise<void> {
  const { manager, gateway } = opts;

  app.addHook('onRequest', async (req) => {
    if (!verifyBearer(req.headers.authorization, opts.adminToken)) {
      throw new GatehouseError('ADMIN_UNAUTHORIZED');
    }
  });

  app.get('/api/servers', async () => manager.list().map((c) => serverStatus(c, gateway.catalog)));

  app.get<{ Params: { name: string } }>('/api/servers/:name', async (req) => {
    const connection = manager.get(req.params.name);
    if (!connection) throw new GatehouseError('SERVER_NOT_FOUND', `no server named "${req.params.name}"`);
    return {
      ...serverStatus(connection, gateway.catalog),
      stderr: connection.config.type === 'stdio' ? connection.stderr.lines() : undefined,
    };
  });

  app.post<{ Params: { name: string } }>('/api/servers/:name/reconnect', async (req, reply) => {
    if (!manager.get(req.params.name)) {
      throw new GatehouseError('SERVER_NOT_FOUND', `no server named "${req.params.name}"`);
    }
    manager.reconnect(req.params.name);
    return reply.code(202).send({ ok: true });
  });
}
