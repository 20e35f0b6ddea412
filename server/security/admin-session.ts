/**
 * Admin sign-in by cookie (issue 12, "Sign-in that survives a new tab"): the dashboard trades the
 * admin token it was opened with for a random session id kept in an `HttpOnly`, `SameSite=Strict`
 * cookie, so no admin credential stays in the page or in Web Storage. Sessions live behind the
 * small `AdminSessionStore` interface (in memory here; a shared store can replace it for several
 * replicas) and end after an idle time.
 *
 * With a cookie the browser sends the credential by itself, so a mutating request must also prove
 * it comes from the gateway's own page: its `Origin` must be the gateway's origin (`originAllowed`).
 *
 * A session says who it is (issue 13, people in the dashboard): the admin (signed in with the admin
 * token), or a person signed in through the company's OpenID provider in team mode, who may see and
 * manage only their own keys and clients (the guard's `sessionMayCall`).
 */
import { createHash, randomBytes } from 'node:crypto';

/** The cookie's name (fixed by the admin API contract). */
export const SESSION_COOKIE = 'gatehouse_session';

/** Sessions end after this long without a request (12 hours). */
export const DEFAULT_SESSION_IDLE_MS = 12 * 60 * 60 * 1000;

const SESSION_ID_BYTES = 32;

/** `admin`: everything; `user`: only their own keys and clients (`/api/session*`, `/api/me*`). */
export type SessionRole = 'admin' | 'user';

/** Who a dashboard session (or the admin bearer token) is. */
export interface DashboardSession {
  /** `admin` for the admin; a person's subject (as in their tokens) for a team sign-in. */
  subject: string;
  role: SessionRole;
}

/** The admin token's identity, as a bearer credential or as the session it signs in. */
export const ADMIN_SESSION: Readonly<DashboardSession> = Object.freeze({ subject: 'admin', role: 'admin' });

/**
 * Where sessions live. Ids are opaque random strings; implementations should keep only a hash of
 * them, so what they hold cannot be replayed as a cookie.
 */
export interface AdminSessionStore {
  /** Starts a session for `who`; resolves with its id (the cookie value). */
  create(who: DashboardSession): Promise<string>;
  /**
   * Who `id`'s session is, when it is live; that counts as activity (the idle time restarts).
   * Undefined when there is no such live session.
   */
  touch(id: string): Promise<DashboardSession | undefined>;
  /** Ends the session `id` names (no-op when there is none). */
  end(id: string): Promise<void>;
}

export interface MemoryAdminSessionsOptions {
  idleMs?: number;
  now?: () => number;
  /** Random bytes for ids (tests may inject; default node:crypto). */
  random?: (bytes: number) => Buffer;
}

/** Sessions in this process's memory: a restart signs everyone out. */
export class MemoryAdminSessions implements AdminSessionStore {
  readonly #idleMs: number;
  readonly #now: () => number;
  readonly #random: (bytes: number) => Buffer;
  /** sha256(id) → who, and the last activity (ms). */
  readonly #seen = new Map<string, { who: DashboardSession; last: number }>();

  constructor(options: MemoryAdminSessionsOptions = {}) {
    this.#idleMs = options.idleMs ?? DEFAULT_SESSION_IDLE_MS;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? randomBytes;
  }

  /** How many sessions are live (expired ones are dropped first). */
  get size(): number {
    this.#prune();
    return this.#seen.size;
  }

  async create(who: DashboardSession): Promise<string> {
    this.#prune();
    const id = this.#random(SESSION_ID_BYTES).toString('base64url');
    this.#seen.set(digest(id), { who: { subject: who.subject, role: who.role }, last: this.#now() });
    return id;
  }

  async touch(id: string): Promise<DashboardSession | undefined> {
    // Looked up by hash: the map's string comparison never runs on the secret itself, so its
    // timing says nothing about how much of a guessed id was right.
    const key = digest(id);
    const entry = this.#seen.get(key);
    if (entry === undefined) return undefined;
    const now = this.#now();
    if (now - entry.last >= this.#idleMs) {
      this.#seen.delete(key);
      return undefined;
    }
    entry.last = now;
    return { ...entry.who };
  }

  async end(id: string): Promise<void> {
    this.#seen.delete(digest(id));
  }

  #prune(): void {
    const now = this.#now();
    for (const [key, { last }] of this.#seen) if (now - last >= this.#idleMs) this.#seen.delete(key);
  }
}

function digest(id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('hex');
}

/**
 * The session id in a `Cookie` header, if there is one of a plausible shape (a malformed value
 * is treated as none).
 * @see https://www.rfc-editor.org/rfc/rfc6265#section-5.4 (the Cookie header: `name=value; name=value`)
 */
export function sessionIdFromCookie(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1 || part.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    const value = part.slice(eq + 1).trim();
    if (/^[A-Za-z0-9_-]{16,128}$/.test(value)) return value;
  }
  return undefined;
}

/**
 * The `Set-Cookie` value that stores a session: not readable by scripts (`HttpOnly`), not sent
 * with any cross-site request (`SameSite=Strict`), for the whole gateway (`Path=/`), and only over
 * TLS when the gateway is reached over https (`Secure`). No `Max-Age`: the browser keeps it for
 * its session; the server's idle expiry decides how long it is good for.
 */
export function sessionCookie(id: string, secure: boolean): string {
  return `${SESSION_COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/${secure ? '; Secure' : ''}`;
}

/** True when the gateway is reached over https (`systemConfig.baseUrl`), so the cookie must be `Secure`. */
export function secureCookies(baseUrl: string | undefined): boolean {
  return baseUrl?.startsWith('https:') === true;
}

/** The `Set-Cookie` value that removes the session cookie from the browser. */
export function clearedSessionCookie(secure: boolean): string {
  return `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0${secure ? '; Secure' : ''}`;
}

/** True for request methods that change something: they need an Origin check with a cookie. */
export function isMutatingMethod(method: string): boolean {
  return method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS';
}

/**
 * Whether a cookie-authenticated request's `Origin` is the gateway's own: the request's own origin
 * (its scheme and `Host`), or the origin of `systemConfig.baseUrl` (behind a proxy the Host the
 * gateway sees may differ from the one the browser used). A missing or `null` Origin is refused:
 * browsers send it on every POST, PUT, PATCH and DELETE, so only a non-browser client omits it,
 * and those use the bearer token.
 * @see https://www.rfc-editor.org/rfc/rfc6454#section-7 (the Origin header)
 */
export function originAllowed(
  origin: string | undefined,
  request: { protocol: string; host: string | undefined },
  baseUrl: string | undefined,
): boolean {
  if (origin === undefined || origin === 'null') return false;
  let presented: string;
  try {
    presented = new URL(origin).origin;
  } catch {
    return false;
  }
  const own = new Set<string>();
  if (request.host) {
    try {
      own.add(new URL(`${request.protocol}://${request.host}`).origin);
    } catch {
      // A Host that is not a host: only baseUrl can match.
    }
  }
  if (baseUrl) own.add(new URL(baseUrl).origin);
  return own.has(presented);
}
