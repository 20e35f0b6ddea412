/**
 * `POST/GET/DELETE /api/session`: the dashboard's sign-in. The page trades the admin token it was
 * opened with (`#token=…`) for a session cookie and forgets the token; a second tab, a reload and
 * the OAuth popup's return then stay signed in. Registered behind the admin guard.
 */
import type { FastifyInstance } from 'fastify';
import { GatehouseError } from '../errors.js';
import {
  clearedSessionCookie,
  sessionCookie,
  sessionIdFromCookie,
  type AdminSessionStore,
} from '../security/admin-session.js';
import { secureCookies } from './admin-guard.js';

export interface SessionRoutesOptions {
  sessions: AdminSessionStore;
  baseUrl: () => string | undefined;
}

/** The sign-in routes. The session id appears only in `Set-Cookie`, never in a body or a log. */
export async function sessionRoutes(app: FastifyInstance, opts: SessionRoutesOptions): Promise<void> {
  /** Signs in: needs the bearer token itself (a cookie cannot mint another session). */
  app.post('/api/session', async (req, reply) => {
    const credential = req.adminCredential;
    if (credential?.kind !== 'bearer') {
      throw new GatehouseError('ADMIN_UNAUTHORIZED', 'Sign in with the admin token (Authorization: Bearer)');
    }
    const id = await opts.sessions.create();
    return reply
      .code(204)
      .header('set-cookie', sessionCookie(id, secureCookies(opts.baseUrl())))
      .send();
  });

  /** 200 `{ signedIn: true }` behind the guard; the guard answers 401 otherwise. */
  app.get('/api/session', async () => ({ signedIn: true }));

  /** Signs out: the session ends on the server and the browser drops the cookie. */
  app.delete('/api/session', async (req, reply) => {
    // The cookie's session ends even when the request also carried the bearer token.
    const sessionId = sessionIdFromCookie(req.headers.cookie);
    if (sessionId !== undefined) await opts.sessions.end(sessionId);
    return reply
      .code(204)
      .header('set-cookie', clearedSessionCookie(secureCookies(opts.baseUrl())))
      .send();
  });
}
