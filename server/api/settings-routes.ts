import type { FastifyInstance } from 'fastify';
import type { SettingsStore } from '../settings/store.js';

export interface SettingsRoutesOptions {
  store: SettingsStore;
}

/**
 * `GET /api/settings/status`: whether the settings file on disk is live, or the last rejected
 * edit (code, message, problems with path, line and column, time) while the last good settings
 * stay live; and the keys kept but ignored. Registered behind the admin guard (admin-routes.ts),
 * like every /api route. The answer never carries the file's text.
 */
export async function settingsRoutes(app: FastifyInstance, opts: SettingsRoutesOptions): Promise<void> {
  app.get('/api/settings/status', async () => opts.store.status());
}
