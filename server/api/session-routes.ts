/**
 * `POST/GET/DELETE /api/session`: the dashboard's sign-in. The page trades the admin token it was
 * opened with (`#token=…`) for a session cookie and forgets the token; a second tab, a reload and
 * the OAuth popup's return then stay signed in. Registered behind the admin guard.
 *
 * In team mode (issue 13) people sign in too, through the company's OpenID provider:
 * `GET /api/session/methods` says whether that is offered and `GET /api/session/team` sends the
 * browser there. Those two are the only admin API routes without a credential (`publicSignIn`); the
 * provider's return (`/oauth2/login/callback`, server/inbound) sets the same cookie.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GatehouseError } from '../errors.js';
import {
  ADMIN_SESSION,
  clearedSessionCookie,
  secureCookies,
  sessionCookie,
  sessionIdFromCookie,
  type AdminSessionStore,
} from '../security/admin-session.js';

/** The dashboard's sign-in through the company's provider (the own authorization server's team login). */
export interface TeamSignIn {
  /** The provider's host when `inboundAuth.oauth.login` names one now; undefined otherwise. */
  provider(): string | undefined;
  /**
   * Starts a dashboard sign-in at the provider: where to send the browser, or an HTML page (with its
   * status) saying why not.
   * @throws GatehouseError INBOUND_AUTH_NOT_CONFIGURED without a team login; RATE_LIMITED
   */
  start(req: FastifyRequest): Promise<{ redirect: string } | { status: number; html: string }>;
}

export interface SessionRoutesOptions {
  sessions: AdminSessionStore;
  baseUrl: () => string | undefined;
  /** Team sign-in, when Gatehouse's own authorization server exists. */
  team?: TeamSignIn;
}

/** The sign-in routes. The session id appears only in `Set-Cookie`, never in a body or a log. */
export async function sessionRoutes(app: FastifyInstance, opts: SessionRoutesOptions): Promise<void> {
  /** Signs in: needs the bearer token itself (a cookie cannot mint another session). */
  app.post('/api/session', async (req, reply) => {
    const credential = req.adminCredential;
    if (credential?.kind !== 'bearer') {
      throw new GatehouseError('ADMIN_UNAUTHORIZED', 'Sign in with the admin token (Authorization: Bearer)');
    }
    const id = await opts.sessions.create(ADMIN_SESSION);
    return reply
      .code(204)
      .header('set-cookie', sessionCookie(id, secureCookies(opts.baseUrl())))
      .send();
  });

  /** 200 `{ signedIn: true, subject, role }` behind the guard; the guard answers 401 otherwise. */
  app.get('/api/session', async (req) => {
    const { subject, role } = req.adminCredential!;
    return { signedIn: true, subject, role };
  });

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

  /** Public: the ways to sign in besides the admin token (`team` in team mode). */
  app.get('/api/session/methods', { config: { publicSignIn: true } }, async () => {
    const provider = opts.team?.provider();
    return provider === undefined ? {} : { team: { provider } };
  });

  /** Public: 302 to the company's provider; its return signs the browser in as that person. */
  app.get('/api/session/team', { config: { publicSignIn: true } }, async (req, reply) => {
    if (!opts.team || opts.team.provider() === undefined)
      throw new GatehouseError('INBOUND_AUTH_NOT_CONFIGURED');
    const started = await opts.team.start(req);
    if ('redirect' in started) return reply.code(302).header('location', started.redirect).send();
    return reply.code(started.status).type('text/html; charset=utf-8').send(started.html);
  });
}
