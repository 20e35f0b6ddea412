/**
 * Which upstream an authorization `state` belongs to. The callback route looks a `state` up here
 * instead of asking every engine (which would read, and decrypt, every upstream's stored record:
 * one unreadable record would then break every callback). Each engine keeps its entries in step
 * with its record's pending authorizations (at most a handful per upstream); whether a state has
 * expired is the engine's to say. Nothing here is secret: a `state` is single use and names no token.
 */
export class PendingStateIndex {
  readonly #byState = new Map<string, string>();
  readonly #byServer = new Map<string, readonly string[]>();

  /** Replaces the states of `server` with those of its newest record. */
  set(server: string, states: readonly string[]): void {
    this.forget(server);
    if (states.length === 0) return;
    for (const state of states) this.#byState.set(state, server);
    this.#byServer.set(server, [...states]);
  }

  /** Drops every state of `server` (removed from the settings, or closed). */
  forget(server: string): void {
    for (const state of this.#byServer.get(server) ?? []) {
      if (this.#byState.get(state) === server) this.#byState.delete(state);
    }
    this.#byServer.delete(server);
  }

  /** The server `state` was handed out for, if any. */
  serverOf(state: string | null): string | undefined {
    return state ? this.#byState.get(state) : undefined;
  }
}
