/**
 * What the page knows, fed by the live event stream (events.js): every server's summary, the
 * settings file's status and whether the stream is up. Views subscribe and redraw what changed.
 * One object created at start, passed to the views; nothing else holds server data.
 */
export class PageState {
  /** name → ServerSummary, in the order the gateway lists them. */
  servers = new Map();
  /** Whether a first `servers` event has arrived since sign-in. */
  loaded = false;
  /** The `GET /api/settings/status` body, once known. */
  settings = undefined;
  /** 'connecting' (before the first open), 'live', or 'lost' (reconnecting). */
  live = 'connecting';
  #listeners = new Set();

  /** `listener(change)`; change is { kind: 'servers' | 'server' | 'removed' | 'settings' | 'live', name? }. */
  subscribe(listener) {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(change) {
    for (const listener of [...this.#listeners]) listener(change);
  }

  setServers(list) {
    this.servers = new Map(list.map((server) => [server.name, server]));
    this.loaded = true;
    this.#emit({ kind: 'servers' });
  }

  upsertServer(server) {
    this.servers.set(server.name, server);
    this.#emit({ kind: 'server', name: server.name });
  }

  removeServer(name) {
    if (this.servers.delete(name)) this.#emit({ kind: 'removed', name });
  }

  setSettings(status) {
    this.settings = status;
    this.#emit({ kind: 'settings' });
  }

  setLive(live) {
    if (this.live === live) return;
    this.live = live;
    this.#emit({ kind: 'live' });
  }

  /** Forgets everything (sign-out). */
  clear() {
    this.servers = new Map();
    this.loaded = false;
    this.settings = undefined;
    this.live = 'connecting';
  }
}
