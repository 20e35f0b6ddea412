/* global location, history, URLSearchParams */
/**
 * Sign-in: the printed URL carries `#token=…` (a fragment never reaches a server). The page removes
 * it from the address bar at once, trades it for an HttpOnly session cookie (POST /api/session
 * with `Authorization: Bearer`), and forgets it: nothing lands in Web Storage, the DOM or history.
 * Other tabs, reloads and the OAuth popup's return ride on the cookie.
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

/** Whether this browser has a live session (the cookie is HttpOnly: only the server can say). */
export async function isSignedIn() {
  try {
    await api('api/session');
    return true;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return false;
    throw error;
  }
}

/** Ends the session on the server (the cookie is cleared by the answer). */
export async function signOut() {
  await api('api/session', { method: 'DELETE' });
}
