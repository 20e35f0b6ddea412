/**
 * A small browser-like client of the admin API for the sign-in tests: it signs in with the admin
 * token, then sends only the session cookie, with `Origin` on every mutating request as a browser
 * does (or another Origin, or none, to play a cross-site page).
 */
import assert from 'node:assert/strict';
import { ADMIN_TOKEN } from '../fixtures/gateway.js';

export interface CookieClient {
  /** The `gatehouse_session=<id>` pair the browser would send. */
  cookie: string;
  /** The session id alone. */
  sessionId: string;
  /** The whole `Set-Cookie` value the sign-in answered with. */
  setCookie: string;
  /**
   * Fetches `path` with the cookie only. Mutating methods carry `Origin: <base>` unless `origin`
   * says otherwise (`null` sends none).
   */
  fetch(path: string, init?: RequestInit & { origin?: string | null }): Promise<Response>;
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Signs in at `base` with the admin token (as the dashboard does with its `#token=`). */
export async function signIn(base: string, token = ADMIN_TOKEN): Promise<CookieClient> {
  const response = await fetch(`${base}/api/session`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, origin: base },
  });
  assert.equal(response.status, 204, `sign-in answered ${response.status}`);
  const setCookie = response.headers.get('set-cookie') ?? '';
  const match = /^gatehouse_session=([^;]+)/.exec(setCookie);
  assert.ok(match?.[1], `a session cookie in: ${setCookie}`);
  return cookieClient(base, match[1], setCookie);
}

/** A client that sends the session `sessionId` as its cookie. */
export function cookieClient(base: string, sessionId: string, setCookie = ''): CookieClient {
  const cookie = `gatehouse_session=${sessionId}`;
  return {
    cookie,
    sessionId,
    setCookie,
    fetch: (path, init = {}) => {
      const { origin, ...rest } = init;
      const headers: Record<string, string> = { cookie, ...(rest.headers as Record<string, string>) };
      const method = (rest.method ?? 'GET').toUpperCase();
      const sent = origin === undefined ? (MUTATING.has(method) ? base : undefined) : origin;
      if (sent !== undefined && sent !== null) headers.origin = sent;
      return fetch(`${base}${path}`, { ...rest, headers });
    },
  };
}

/** The `{ error: { code } }` of an answer. */
export async function errorCode(response: Response): Promise<string | undefined> {
  const body = (await response.json().catch(() => undefined)) as { error?: { code?: string } } | undefined;
  return body?.error?.code;
}

/**
 * Every route of an app's `printRoutes({ commonPrefix: false })` tree, as `[method, path]` pairs
 * (HEAD left out: Fastify adds it to every GET).
 */
export function routesOf(tree: string): Array<[string, string]> {
  const routes: Array<[string, string]> = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^([│ ├└─]*)(\S[^(]*?)(?: \(([^)]*)\))?$/.exec(line);
    if (match === null || match[2] === undefined) continue;
    const depth = Math.floor((match[1] ?? '').length / 4);
    stack.length = depth;
    stack.push(match[2].trim());
    for (const method of (match[3] ?? '').split(',').map((m) => m.trim())) {
      if (method !== '' && method !== 'HEAD') routes.push([method, stack.join('')]);
    }
  }
  return routes;
}

/** A settings problem as error answers list it. */
export interface AnswerProblem {
  path: string;
  message: string;
  line?: number;
  column?: number;
}

/** An admin API answer: status, parsed body, and the error part of an error answer. */
export interface ApiAnswer<T> {
  status: number;
  body: T;
  error?: { code: string; message: string; problems?: AnswerProblem[] };
}

/** One admin API call with the bearer token and a JSON body. */
export async function callApi<T = Record<string, unknown>>(
  gw: { api(path: string, init?: RequestInit): Promise<Response> },
  method: string,
  path: string,
  body?: unknown,
): Promise<ApiAnswer<T>> {
  const response = await gw.api(path, {
    method,
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const text = await response.text();
  const parsed = (text === '' ? undefined : JSON.parse(text)) as T & { error?: ApiAnswer<T>['error'] };
  return { status: response.status, body: parsed, error: parsed?.error };
}
