/**
 * A person's own authorization of a per-user server (issue 14), bound to their browser.
 *
 * MCP 2025-11-25 (URL-mode elicitation, security): the server must check that the person who opens
 * an elicited URL is the person it was elicited for, or anyone could make someone else's consent
 * land on their own account. So the link a person is given (in their MCP client, or by the
 * dashboard) is Gatehouse's own `GET /oauth/connect/<server>?for=<tag>`: it needs the browser's
 * dashboard session, of the person the tag names; it then sets a binding cookie for that one
 * authorization (`state`) and sends the browser to the authorization server. The callback of a
 * per-user authorization is accepted only with that cookie, so a callback completed in someone
 * else's browser (or a link opened by another person) is refused and changes nothing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { GatehouseError, isGatehouseError, toGatehouseError } from '../errors.js';
import { secureCookies, sessionIdFromCookie, type AdminSessionStore } from '../security/admin-session.js';
import type { SecretBox } from '../settings/secrets.js';
import type { UpstreamManager } from '../upstream/manager.js';
import { callbackPage } from './callback-page.js';

/** How long a binding cookie lives: as long as the authorization's `state` (authorizations.ts). */
const BINDING_MAX_AGE_S = 10 * 60;
const BINDING_PREFIX = 'gatehouse_connect_';

/** Which person a link is for: a short digest of their subject (not a secret; the session decides). */
export function personTag(person: string): string {
  return createHash('sha256').update(`gatehouse/connect\u0000${person}`).digest('base64url').slice(0, 16);
}

/** The link a person opens to authorize per-user server `server` as themselves. */
export function connectLink(base: string, server: string, person: string): string {
  return `${base}/oauth/connect/${encodeURIComponent(server)}?for=${personTag(person)}`;
}

/** Binds a browser to one authorization: the cookie's name and value for `state` and `person`. */
export async function bindingCookie(
  secrets: SecretBox,
  state: string,
  person: string,
): Promise<{ name: string; value: string }> {
  const value = await secrets.mac('connect-binding', `${state}\u0000${person}`);
  const name = BINDING_PREFIX + createHash('sha256').update(state).digest('hex').slice(0, 12);
  return { name, value };
}

/**
 * Whether a callback's browser carries the binding of `state` for `person` (constant-time).
 * @see https://www.rfc-editor.org/rfc/rfc6265#section-5.4
 */
export async function browserIsBound(
  secrets: SecretBox,
  cookieHeader: string | undefined,
  state: string,
  person: string,
): Promise<boolean> {
  const expected = await bindingCookie(secrets, state, person);
  for (const part of (cookieHeader ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1 || part.slice(0, eq).trim() !== expected.name) continue;
    const given = Buffer.from(part.slice(eq + 1).trim());
    const wanted = Buffer.from(expected.value);
    if (given.length === wanted.length && timingSafeEqual(given, wanted)) return true;
  }
  return false;
}

/** The `Set-Cookie` of a binding: sent back on the authorization server's redirect (Lax), to the callback only. */
export function setBindingCookie(
  cookie: { name: string; value: string },
  secure: boolean,
  clear = false,
): string {
  const value = clear ? '' : cookie.value;
  const age = clear ? 0 : BINDING_MAX_AGE_S;
  return `${cookie.name}=${value}; HttpOnly; SameSite=Lax; Path=/oauth/callback; Max-Age=${age}${secure ? '; Secure' : ''}`;
}

export interface ConnectRoutesOptions {
  manager: UpstreamManager;
  sessions: AdminSessionStore;
  secrets: SecretBox;
  baseUrl: () => string | undefined;
  /** Whether people sign in through the company's provider (then the page offers it). */
  teamSignIn: () => boolean;
}

export async function connectRoutes(app: FastifyInstance, opts: ConnectRoutesOptions): Promise<void> {
  app.get<{ Params: { server: string }; Querystring: { for?: string; step?: string } }>(
    '/oauth/connect/:server',
    async (req, reply) => {
      reply
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .header('referrer-policy', 'no-referrer');
      const { server } = req.params;
      const tag = typeof req.query.for === 'string' ? req.query.for : '';
      const sessionId = sessionIdFromCookie(req.headers.cookie);
      const session = sessionId === undefined ? undefined : await opts.sessions.touch(sessionId);
      if (!session) {
        // The session cookie is SameSite=Strict: a link followed from another site arrives without
        // it. One click on this page (same site) brings it along; without it then, sign in.
        if (req.query.step !== 'signed-in') {
          const again = `/oauth/connect/${encodeURIComponent(server)}?for=${encodeURIComponent(tag)}&step=signed-in`;
          return page(reply, 200, {
            title: `Connect ${server}`,
            message: `Gatehouse will send you to ${server}'s sign-in to connect it as yourself.`,
            links: [{ href: again, text: 'Continue' }],
          });
        }
        return page(reply, 401, {
          title: 'Sign in to Gatehouse first',
          message: `Sign in to Gatehouse as yourself, then open the link you were given again to connect ${server}.`,
          links: [
            ...(opts.teamSignIn()
              ? [{ href: '/api/session/team', text: 'Sign in with your company account' }]
              : []),
            { href: '/', text: 'Open the Gatehouse dashboard' },
          ],
        });
      }
      if (personTag(session.subject) !== tag) {
        return page(reply, 403, {
          title: 'This link is not yours',
          code: 'OAUTH_BROWSER_MISMATCH',
          message: `This link was made for another person. You are signed in to Gatehouse as ${session.subject}; connect ${server} for yourself under My servers.`,
        });
      }
      try {
        const { authorizationUrl } = await opts.manager.authorizeFor(server, session.subject);
        const state = new URL(authorizationUrl).searchParams.get('state');
        if (!state) throw new GatehouseError('OAUTH_PROTOCOL_ERROR', 'the authorization URL has no state');
        const cookie = await bindingCookie(opts.secrets, state, session.subject);
        return reply
          .code(303)
          .header('set-cookie', setBindingCookie(cookie, secureCookies(opts.baseUrl())))
          .header('location', authorizationUrl)
          .send();
      } catch (error) {
        const failure = isGatehouseError(error) ? error : toGatehouseError(error, 'OAUTH_PROTOCOL_ERROR');
        req.log.warn({ code: failure.code, server }, 'starting a per-user authorization failed');
        return page(reply, failure.status >= 500 ? 502 : failure.status, {
          code: failure.code,
          message: failure.message,
        });
      }
    },
  );
}

function page(reply: FastifyReply, status: number, content: Omit<Parameters<typeof callbackPage>[0], 'ok'>) {
  return reply.code(status).send(callbackPage({ ok: status < 400, ...content }));
}
