import type { FastifyInstance } from 'fastify';
import { GatehouseError } from '../errors.js';
import { verifyBearer } from '../security/admin-token.js';
import type { SettingsStore } from '../settings/store.js';

export interface SettingsRoutesOptions {
  adminToken: string;
  store: SettingsStore;
}

/**
 * `GET /api/settings/status`: whether the settings file on disk is live, or the last rejected
 * edit (code, message, problems with path, line and column, time) while the last good settings
 * stay live; and the keys kept but ignored. Needs the admin token, like every /api route. The
 * answer never carries the file's text.
 */
export async function settingsRoutes(app: FastifyInstance, opts: SettingsRoutesOptions): Promise<void> {
  app.addHook('onRequest', async (req) => {
    if (!verifyBearer(req.headers.authorization, opts.adminToken)) {
      throw new GatehouseError('ADMIN_UNAUTHORIZED');
    }
  });

  app.get('/api/settings/status', async () => opts.store.status());
}
