/**
 * Dashboard sessions in the StateStore (issue 15): with Redis, a session made on one replica is
 * known to every replica, so the dashboard behind a load balancer without stickiness stays signed
 * in, and signing out on one ends the session on all. Records are keyed by a hash of the session id
 * (the cookie value is never stored) and expire after the idle time; each use pushes the expiry
 * out, written at most once a minute per session so that a busy page is not a write per request.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { StateStore } from '../settings/state-store.js';
import { DEFAULT_SESSION_IDLE_MS, type AdminSessionStore, type DashboardSession } from './admin-session.js';

/** The StateStore collection of dashboard sessions. */
export const DASHBOARD_SESSIONS = 'dashboard-sessions';

/** How stale a session's stored expiry may get before a use writes it again. */
const TOUCH_EVERY_MS = 60_000;

export class StateAdminSessions implements AdminSessionStore {
  readonly #store: StateStore;
  readonly #idleMs: number;
  readonly #now: () => number;

  constructor(store: StateStore, options: { idleMs?: number; now?: () => number } = {}) {
    this.#store = store;
    this.#idleMs = options.idleMs ?? DEFAULT_SESSION_IDLE_MS;
    this.#now = options.now ?? Date.now;
  }

  async create(who: DashboardSession): Promise<string> {
    const id = randomBytes(32).toString('base64url');
    const now = this.#now();
    await this.#store.put(
      DASHBOARD_SESSIONS,
      digest(id),
      { subject: who.subject, role: who.role, touched: now },
      { expiresAt: now + this.#idleMs },
    );
    return id;
  }

  async touch(id: string): Promise<DashboardSession | undefined> {
    const key = digest(id);
    const record = await this.#store.get(DASHBOARD_SESSIONS, key);
    if (typeof record?.subject !== 'string' || (record.role !== 'admin' && record.role !== 'user'))
      return undefined;
    const who: DashboardSession = { subject: record.subject, role: record.role };
    const now = this.#now();
    if (typeof record.touched !== 'number' || now - record.touched >= TOUCH_EVERY_MS) {
      await this.#store.put(
        DASHBOARD_SESSIONS,
        key,
        { ...who, touched: now },
        { expiresAt: now + this.#idleMs },
      );
    }
    return who;
  }

  async end(id: string): Promise<void> {
    await this.#store.delete(DASHBOARD_SESSIONS, digest(id));
  }
}

function digest(id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('hex');
}
