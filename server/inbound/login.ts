/**
 * How a person proves who they are at Gatehouse's authorization server (`inboundAuth.oauth.login`).
 *
 * Each kind of sign-in is a `LoginMethod`: the part of the sign-in page it shows, an optional check
 * of a sign-in the browser already carries, and what a submitted form proves. Today there is one,
 * `admin` (the one person who holds the admin token); the company's OpenID Connect provider
 * (`login.type === 'oidc'`) fits the same shape, answering `{ redirect }` to send the browser to
 * that provider and finishing the interaction from its own callback route.
 */
import type { FastifyRequest } from 'fastify';
import { sessionIdFromCookie, type AdminSessionStore } from '../security/admin-session.js';
import { verifyBearer } from '../security/admin-token.js';
import { escapeHtml } from './pages.js';

/** The subject of tokens granted through the admin sign-in. */
export const ADMIN_SUBJECT = 'admin';

/** What a submitted sign-in form proves. */
export type LoginOutcome =
  | { kind: 'account'; accountId: string }
  | { kind: 'refused'; message: string }
  /** Sign-in continues elsewhere (an upstream OpenID provider); the browser goes there. */
  | { kind: 'redirect'; url: string };

export interface LoginMethod {
  /** The sign-in page's form(s); `action` is where they post. */
  form(action: string): string;
  /** An account the request already proves (e.g. a signed-in dashboard), without any form. */
  existing(req: FastifyRequest): Promise<string | undefined>;
  /** Checks a submitted form (fields already parsed) of the interaction `uid`. */
  submit(req: FastifyRequest, fields: Record<string, string>, uid: string): Promise<LoginOutcome>;
}

/**
 * The admin sign-in: the dashboard's session cookie (`gatehouse_session`), or the admin token
 * pasted into the form, compared in constant time (`verifyBearer` hashes both sides).
 */
export function adminLogin(options: { adminToken: string; sessions: AdminSessionStore }): LoginMethod {
  // Only the admin's session: a person's (team sign-in, role `user`) must never sign in as admin.
  const signedIn = async (req: FastifyRequest) => {
    const id = sessionIdFromCookie(req.headers.cookie);
    return id !== undefined && (await options.sessions.touch(id))?.role === 'admin';
  };
  return {
    form: (action) => `<p>Sign in as the Gatehouse administrator.</p>
<form method="post" action="${escapeHtml(action)}">
<input type="hidden" name="method" value="session">
<button type="submit">Continue with my dashboard sign-in</button>
</form>
<form method="post" action="${escapeHtml(action)}">
<input type="hidden" name="method" value="token">
<label for="admin-token">Admin token</label>
<input id="admin-token" name="token" type="password" autocomplete="off" required>
<button type="submit">Sign in</button>
</form>`,
    // SameSite=Strict: the cookie comes with the page only when the person came from Gatehouse
    // itself; after a client's cross-site redirect it comes with the form's same-origin post.
    existing: async (req) => ((await signedIn(req)) ? ADMIN_SUBJECT : undefined),
    submit: async (req, fields) => {
      if (fields.method === 'session') {
        return (await signedIn(req))
          ? { kind: 'account', accountId: ADMIN_SUBJECT }
          : { kind: 'refused', message: 'This browser is not signed in to the Gatehouse dashboard.' };
      }
      const token = fields.token ?? '';
      if (token !== '' && verifyBearer(`Bearer ${token}`, options.adminToken)) {
        return { kind: 'account', accountId: ADMIN_SUBJECT };
      }
      return { kind: 'refused', message: 'That is not the admin token.' };
    },
  };
}
