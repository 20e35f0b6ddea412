import { GatehouseError } from '../errors.js';
import type { Logger } from '../log.js';
import { OAuthEngine } from '../oauth/engine.js';
import type { CredentialStore } from '../settings/credentials.js';
import type { ServerConfig, Settings } from '../settings/types.js';
import {
  UpstreamConnection,
  type ConnectionState,
  type UpstreamAuth,
  type UpstreamRequestRelay,
} from './connection.js';
import { createHttpFetch } from '../http-fetch.js';
import { createLimiter } from './limit.js';
import type { ListKind } from './lists.js';

/** What the manager tells the catalog and the status API. */
export type UpstreamEvent =
  | { type: 'state'; server: string; state: ConnectionState }
  | { type: 'lists'; server: string; changed: ListKind[] }
  | { type: 'auth'; server: string }
  | { type: 'removed'; server: string };

/** What the OAuth engines of HTTP upstreams need from the app. */
export interface ManagerOAuthOptions {
  store: CredentialStore;
  /** `<baseUrl>/oauth/callback`; the port is known only after listen. */
  redirectUri: () => string;
  /** Injected for tests; global fetch otherwise. */
  fetch?: typeof fetch;
}

export interface ManagerOptions {
  logger: Logger;
  clientInfo: { name: string; version: string };
  /** Absent: HTTP upstreams connect without an OAuth engine (a 401 is only shown). */
  oauth?: ManagerOAuthOptions;
  /** Relays upstream sampling/elicitation requests to the inbound caller. */
  relay?: UpstreamRequestRelay;
  random?: () => number;
  now?: () => number;
}

interface Entry {
  connection: UpstreamConnection;
  oauth: OAuthEngine | undefined;
}

/**
 * Owns one UpstreamConnection per configured server and applies settings as per-server diffs:
 * only added, removed or changed servers (re)connect; everything else stays untouched.
 */
export class UpstreamManager {
  readonly #options: ManagerOptions;
  readonly #entries = new Map<string, Entry>();
  readonly #listeners = new Set<(event: UpstreamEvent) => void>();
  #limit: <T>(fn: () => Promise<T>) => Promise<T> = createLimiter(8);
  #limitSize = 8;
  /** One keep-alive agent for all upstream MCP traffic. */
  readonly #http = createHttpFetch();

  constructor(options: ManagerOptions) {
    this.#options = options;
  }

  on(listener: (event: UpstreamEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get(name: string): UpstreamConnection | undefined {
    return this.#entries.get(name)?.connection;
  }

  /** The OAuth engine of an HTTP upstream. */
  oauth(name: string): OAuthEngine | undefined {
    return this.#entries.get(name)?.oauth;
  }

  /** Every OAuth engine, for the callback to find the one that owns a `state`. */
  oauthEngines(): OAuthEngine[] {
    return [...this.#entries.values()].flatMap((e) => (e.oauth ? [e.oauth] : []));
  }

  /** Connections in settings order. */
  list(): UpstreamConnection[] {
    return [...this.#entries.values()].map((e) => e.connection);
  }

  /**
   * Brings the running connections in line with `settings`. Returns at once: connecting happens
   * in the background, in parallel up to `systemConfig.connectConcurrency`.
   */
  async apply(settings: Settings): Promise<{ added: string[]; removed: string[]; restarted: string[] }> {
    if (settings.system.connectConcurrency !== this.#limitSize) {
      this.#limitSize = settings.system.connectConcurrency;
      this.#limit = createLimiter(this.#limitSize);
    }
    const added: string[] = [];
    const removed: string[] = [];
    const restarted: string[] = [];
    const stopping: Promise<void>[] = [];

    for (const [name, entry] of this.#entries) {
      if (!settings.servers.has(name)) {
        removed.push(name);
        stopping.push(this.#stop(name, entry));
      }
    }
    for (const [name, config] of settings.servers) {
      const entry = this.#entries.get(name);
      if (!entry) {
        added.push(name);
        this.#start(config, settings);
      } else if (entry.connection.config.fingerprint !== config.fingerprint) {
        if (sameConnection(entry.connection.config, config)) {
          // Only the tool filter changed: no reconnect, the catalog re-reads the filter.
          entry.connection.updateConfig(config);
          this.#emit({ type: 'lists', server: name, changed: ['tools'] });
        } else {
          restarted.push(name);
          stopping.push(this.#stop(name, entry));
          this.#start(config, settings);
        }
      }
    }
    this.#reorder([...settings.servers.keys()]);
    await Promise.all(stopping);
    return { added, removed, restarted };
  }

  /** Connects one server again now (after authorization, or from the dashboard). */
  reconnect(name: string): void {
    this.#entries.get(name)?.connection.reconnect();
  }

  async close(): Promise<void> {
    await Promise.all([...this.#entries].map(([name, entry]) => this.#stop(name, entry)));
    this.#http.close();
  }

  #start(config: ServerConfig, settings: Settings): void {
    const name = config.name;
    const oauth = this.#createOAuth(config, settings);
    const auth: UpstreamAuth | undefined = oauth && {
      fetch: oauth.fetch,
      authorizationNeeded: () => authorizationNeeded(name, oauth),
    };
    const connection = new UpstreamConnection(config, {
      timeouts: settings.system.timeouts,
      logger: this.#options.logger.child({ upstream: name }),
      clientInfo: this.#options.clientInfo,
      auth,
      fetch: this.#http.fetch,
      limit: (fn) => this.#limit(fn),
      relay: this.#options.relay,
      now: this.#options.now,
      random: this.#options.random,
      onState: (state) => this.#emit({ type: 'state', server: name, state }),
      onLists: (_lists, changed) => this.#emit({ type: 'lists', server: name, changed }),
    });
    this.#entries.set(name, { connection, oauth });
    if (!oauth) return connection.start();
    // Persisted tokens must be loaded before the first request goes out.
    oauth.init().then(
      () => connection.start(),
      (error: unknown) => {
        this.#options.logger.error({ server: name, err: String(error) }, 'loading stored credentials failed');
        connection.start();
      },
    );
  }

  #createOAuth(config: ServerConfig, settings: Settings): OAuthEngine | undefined {
    const oauth = this.#options.oauth;
    if (!oauth || config.type === 'stdio') return undefined;
    const name = config.name;
    let wasAuthorized = false;
    return new OAuthEngine({
      server: name,
      serverUrl: config.url,
      settings: config.oauth,
      redirectUri: oauth.redirectUri,
      store: oauth.store,
      allowedPrivateHosts: settings.system.allowedPrivateHosts,
      fetch: oauth.fetch,
      upstreamFetch: this.#http.fetch,
      logger: this.#options.logger,
      onStageChange: (stage) => {
        const authorized = stage.kind === 'authorized';
        // A fresh authorization (callback done) reconnects an upstream that was waiting for it.
        const status = this.get(name)?.state.status;
        if (authorized && !wasAuthorized && status !== 'connected' && status !== 'disabled')
          this.reconnect(name);
        wasAuthorized = authorized;
        this.#emit({ type: 'auth', server: name });
      },
    });
  }

  async #stop(name: string, entry: Entry): Promise<void> {
    if (this.#entries.get(name) === entry) this.#entries.delete(name);
    entry.oauth?.close();
    await entry.connection.stop();
    if (!this.#entries.has(name)) this.#emit({ type: 'removed', server: name });
  }

  #reorder(order: string[]): void {
    const entries = new Map(this.#entries);
    this.#entries.clear();
    for (const name of order) {
      const entry = entries.get(name);
      if (entry) this.#entries.set(name, entry);
    }
  }

  #emit(event: UpstreamEvent): void {
    for (const listener of this.#listeners) listener(event);
  }
}

/** Two configs of one server that differ at most in the tool filter share a connection. */
function sameConnection(a: ServerConfig, b: ServerConfig): boolean {
  const strip = ({ tools: _t, fingerprint: _f, ...rest }: ServerConfig) => rest;
  return JSON.stringify(strip(a)) === JSON.stringify(strip(b));
}

/** An upstream whose OAuth engine waits for a person (or failed) cannot connect until then. */
function authorizationNeeded(name: string, oauth: OAuthEngine): GatehouseError | undefined {
  const stage = oauth.stage;
  if (stage.kind === 'awaiting_user') {
    return new GatehouseError('UPSTREAM_AUTH_REQUIRED', `server "${name}" needs authorization`, {
      details: { server: name },
    });
  }
  if (stage.kind === 'failed') {
    return new GatehouseError(
      'UPSTREAM_AUTH_REQUIRED',
      `server "${name}" needs authorization: ${stage.message}`,
      {
        details: { server: name, code: stage.code },
      },
    );
  }
  return undefined;
}
