/* global location, history, URLSearchParams */
/**
 * Sign-in: the printed URL carries `#token=…` (a fragment never reaches a server). The page removes
 * it from the address bar at once, trades it for an HttpOnly session cookie (POST /api/session
 * with `Authorization: Bearer`), and forgets it: nothing lands in Web Storage, the DOM or history.
 * Other tabs, reloads and the OAuth popup's return ride on the cookie.
 *
 * In team mode people sign in through the company's OpenID provider instead (a plain navigation
 * to `api/session/team`; the gateway's callback sets the same cookie): their session has the role
 * `user` and reaches only their own keys and clients.
 */
import { ApiError, api, readApiError } from './api.js';

/** Takes `token` out of the fragment (keeping any route in it) and returns it, or null. */
export function takeTokenFromUrl() {
  const hash = location.hash.slice(1);
  if (!/(^|[&?])token=/.test(hash)) return null;
  // `#token=x` or `#/servers/a?token=x`: the route is what precedes `?`, when there is one.
  const [route, query = ''] = hash.startsWith('/') ? hash.split(/\?(.*)/s) : ['', hash];
  const params = new URLSearchParams(query);
  const token = params.get('token');
  params.delete('token');
  const rest = params.toString();
  const next = `${route}${rest ? `?${rest}` : ''}`;
  history.replaceState(history.state, '', `${location.pathname}${location.search}${next ? `#${next}` : ''}`);
  return token || null;
}

/** Trades the admin token for a session cookie. Throws ApiError (401: the token was refused). */
export async function signIn(token) {
  const response = await fetch('api/session', {
    method: 'POST',
    cache: 'no-store',
    credentials: 'same-origin',
    headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
  });
  if (!response.ok) throw await readApiError(response);
}

/**
 * Who this browser's session is: `{ subject, role: 'admin' | 'user' }`, or null when there is
 * none (the cookie is HttpOnly: only the server can say). A gateway that answers without a role
 * (before team sign-in existed) only ever had the admin's sessions.
 */
export async function currentSession() {
  try {
    const answer = (await api('api/session')) ?? {};
    return answer.role === 'user'
      ? { subject: String(answer.subject ?? ''), role: 'user' }
      : { subject: answer.subject ?? 'admin', role: 'admin' };
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return null;
    throw error;
  }
}

/** Whether this browser has a live session. */
export async function isSignedIn() {
  return (await currentSession()) !== null;
}

/**
 * The ways to sign in besides the admin token (`GET /api/session/methods`, public):
 * `{ team?: { provider } }` when people sign in through the company's OpenID provider. Any
 * failure answers "none": the admin token form is always there.
 */
export async function signInMethods() {
  try {
    const answer = await api('api/session/methods');
    const provider = answer?.team?.provider;
    return typeof provider === 'string' && provider ? { team: { provider } } : {};
  } catch {
    return {};
  }
}

/** Where the team sign-in starts: a navigation (302 to the company's provider, back with a cookie). */
export const TEAM_SIGN_IN_PATH = 'api/session/team';

/** Ends the session on the server (the cookie is cleared by the answer). */
export async function signOut() {
  await api('api/session', { method: 'DELETE' });
}
