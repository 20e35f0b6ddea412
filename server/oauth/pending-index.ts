/**
 * Which upstream an authorization `state` belongs to. The callback route looks a `state` up here
 * instead of asking every engine (which would read, and decrypt, every upstream's stored record:
 * one unreadable record would then break every callback). Each engine keeps its entries in step
 * with its record's pending authorizations (at most a handful per upstream); whether a state has
 * expired is the engine's to say. Nothing here is secret: a `state` is single use and names no token.
 *
 * With a StateStore, every state handed out is also filed there (collection `oauth-pending`,
 * expiring with the authorization), so that the browser's callback finds its upstream on another
 * replica sharing the store, or after a restart. The engine's record stays the single-use check.
 */
import type { StateStore } from '../settings/state-store.js';

/** The StateStore collection of `state` → `{ key }` (the server, or `<server>\0<person>`). */
export const PENDING_STATES = 'oauth-pending';

export class PendingStateIndex {
  readonly #byState = new Map<string, string>();
  readonly #byServer = new Map<string, readonly string[]>();
  readonly #store: StateStore | undefined;

  constructor(store?: StateStore) {
    this.#store = store;
  }

  /** Replaces the states of `server` with those of its newest record. */
  set(server: string, states: readonly string[]): void {
    this.forget(server);
    if (states.length === 0) return;
    for (const state of states) this.#byState.set(state, server);
    this.#byServer.set(server, [...states]);
  }

  /**
   * Files a new authorization's `state` where every replica finds it; resolves once it is there,
   * so the URL is handed out only when its callback can land anywhere.
   * @throws GatehouseError STORE_UNAVAILABLE when the shared store cannot be reached
   */
  async announce(server: string, pending: { state: string; expiresAt: number }): Promise<void> {
    await this.#store?.put(PENDING_STATES, pending.state, { key: server }, { expiresAt: pending.expiresAt });
  }

  /** Drops every state of `server` (removed from the settings, or closed). */
  forget(server: string): void {
    for (const state of this.#byServer.get(server) ?? []) {
      if (this.#byState.get(state) === server) this.#byState.delete(state);
    }
    this.#byServer.delete(server);
  }

  /** The server `state` was handed out for, if any (this process's engines only). */
  serverOf(state: string | null): string | undefined {
    return state ? this.#byState.get(state) : undefined;
  }

  /** The server `state` was handed out for, here or (with a store) on any replica. */
  async find(state: string | null): Promise<string | undefined> {
    const known = this.serverOf(state);
    if (known !== undefined || !state || !this.#store) return known;
    const filed = await this.#store.get(PENDING_STATES, state);
    return typeof filed?.key === 'string' ? filed.key : undefined;
  }
}
