/**
 * The admin's view of the clients people authorized at Gatehouse's own authorization server
 * (server/inbound): `GET /api/clients` lists every grant (never a token), `DELETE
 * /api/clients/:grantId` withdraws one with all its tokens, effective at once on /mcp.
 * Registered by admin-routes.ts, behind the admin guard.
 */
import type { FastifyInstance } from 'fastify';
import type { ClientGrants } from '../inbound/grants.js';

export interface ClientsRoutesOptions {
  clients: ClientGrants;
}

export async function clientsRoutes(app: FastifyInstance, opts: ClientsRoutesOptions): Promise<void> {
  app.get('/api/clients', async () => ({ clients: await opts.clients.list() }));

  app.delete<{ Params: { grantId: string } }>('/api/clients/:grantId', async (req, reply) => {
    await opts.clients.revoke(req.params.grantId);
    return reply.code(204).send();
  });
}
