import type { FastifyInstance } from 'fastify';
import { isGatehouseError, toGatehouseError } from '../errors.js';
import type { UpstreamManager } from '../upstream/manager.js';
import { callbackPage } from './callback-page.js';

/**
 * `GET /oauth/callback`: where authorization servers send the person back. It needs no admin
 * token (the browser arrives from the AS); the single-use `state` is what binds the response to a
 * flow Gatehouse started. Unknown or reused state changes nothing.
 */
export async function oauthRoutes(app: FastifyInstance, opts: { manager: UpstreamManager }): Promise<void> {
  app.get('/oauth/callback', async (req, reply) => {
    const params = new URLSearchParams(req.raw.url?.split('?')[1] ?? '');
    reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('referrer-policy', 'no-referrer');
    try {
      const { server } = await opts.manager.completeCallback(params);
      req.log.info({ server }, 'authorization completed');
      return reply.send(
        callbackPage({ ok: true, message: 'Gatehouse is now authorized. You can close this window.' }),
      );
    } catch (error) {
      const failure = isGatehouseError(error) ? error : toGatehouseError(error, 'OAUTH_CALLBACK_ERROR');
      req.log.warn({ code: failure.code }, 'authorization callback failed');
      return reply
        .code(failure.status >= 500 ? 502 : 400)
        .send(callbackPage({ ok: false, code: failure.code, message: failure.message }));
    }
  });
}
