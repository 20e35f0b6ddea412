import type { FastifyInstance } from 'fastify';
import { GatehouseError, isGatehouseError, toGatehouseError } from '../errors.js';
import { secureCookies } from '../security/admin-session.js';
import type { SecretBox } from '../settings/secrets.js';
import type { UpstreamManager } from '../upstream/manager.js';
import { callbackPage } from './callback-page.js';
import { bindingCookie, browserIsBound, setBindingCookie } from './connect-routes.js';

/**
 * `GET /oauth/callback`: where authorization servers send the person back. It needs no admin
 * token (the browser arrives from the AS); the single-use `state` is what binds the response to a
 * flow Gatehouse started. Unknown or reused state changes nothing. A person's own authorization of
 * a per-user server is also bound to their browser (connect-routes.ts): without the binding cookie
 * its callback is refused before the `state` is used.
 */
export async function oauthRoutes(
  app: FastifyInstance,
  opts: { manager: UpstreamManager; secrets: SecretBox; baseUrl: () => string | undefined },
): Promise<void> {
  app.get('/oauth/callback', async (req, reply) => {
    const params = new URLSearchParams(req.raw.url?.split('?')[1] ?? '');
    reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('referrer-policy', 'no-referrer');
    try {
      const state = params.get('state');
      const pending = await opts.manager.pendingOf(state);
      let clear: string | undefined;
      if (pending?.person !== undefined && state !== null) {
        if (!(await browserIsBound(opts.secrets, req.headers.cookie, state, pending.person))) {
          throw new GatehouseError('OAUTH_BROWSER_MISMATCH', undefined, {
            details: { server: pending.server },
          });
        }
        clear = setBindingCookie(
          await bindingCookie(opts.secrets, state, pending.person),
          secureCookies(opts.baseUrl()),
          true,
        );
      }
      const { server } = await opts.manager.completeCallback(params);
      if (clear) reply.header('set-cookie', clear);
      req.log.info({ server }, 'authorization completed');
      return reply.send(
        callbackPage({ ok: true, message: 'Gatehouse is now authorized. You can close this window.' }),
      );
    } catch (error) {
      const failure = isGatehouseError(error) ? error : toGatehouseError(error, 'OAUTH_CALLBACK_ERROR');
      req.log.warn({ code: failure.code }, 'authorization callback failed');
      return reply
        .code(failure.status >= 500 ? 502 : failure.code === 'OAUTH_BROWSER_MISMATCH' ? 403 : 400)
        .send(callbackPage({ ok: false, code: failure.code, message: failure.message }));
    }
  });
}
