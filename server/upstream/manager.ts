import { GatehouseError, isGatehouseError } from '../errors.js';
import type { Logger } from '../log.js';
import { OAuthEngine, type AuthStatus } from '../oauth/engine.js';
import { PendingStateIndex } from '../oauth/pending-index.js';
import type { CredentialStore } from '../settings/credentials.js';
import type { ServerConfig, Settings } from '../settings/types.js';
import {
  UpstreamConnection,
  type ConnectionState,
  type ConnectionAuth,
  type UpstreamRequestRelay,
} from './connection.js';
import { createHttpFetch } from '../http-fetch.js';
import {
  credentialsRequired,
  readInputValues,
  resolveInputs,
  updateInputValues,
  urlTakesInputs,
} from './inputs.js';
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
  /** How long after start a refused connection is retried quietly (default 5 s; tests use 0). */
  startupGraceMs?: number;
  /** Where typed-in input values live (inputs.ts); default: the OAuth credential store. */
  credentials?: CredentialStore;
}

interface Entry {
  connection: UpstreamConnection;
  oauth: OAuthEngine | undefined;
  /** Ids of the declared inputs that have a value, as last read (never the values). */
  inputs: { set?: ReadonlySet<string> };
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
  /** `state` → server of every authorization in progress, for the callback. */
  readonly #pendingStates = new PendingStateIndex();

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

  /** The OAuth status of an HTTP upstream (secret-free); undefined for stdio or unknown servers. */
  authStatus(name: string): AuthStatus | undefined {
    return this.#entries.get(name)?.oauth?.status();
  }

  /**
   * Starts (or restarts) the OAuth flow of `name`: the URL a person opens.
   * @throws GatehouseError `SERVER_NOT_FOUND`, `OAUTH_NOT_CONFIGURED`, or the flow's own failure
   */
  async authorize(name: string, options: { scopes?: string[] } = {}): Promise<{ authorizationUrl: string }> {
    return this.#engineOf(name).startAuthorization(options);
  }

  /**
   * Stores typed-in values of `name`'s inputs (a string sets one, `null` forgets it; the others are
   * kept), then reconnects the server so it uses them.
   * @throws GatehouseError SERVER_NOT_FOUND; BAD_REQUEST for an id the entry does not declare or a
   *   value with control characters (it would reach a header or an environment variable)
   */
  async setInputs(name: string, values: Readonly<Record<string, string | null>>): Promise<void> {
    const entry = this.#entries.get(name);
    if (!entry) throw new GatehouseError('SERVER_NOT_FOUND', `no server named "${name}"`);
    const declared = new Set(entry.connection.config.inputs.map((input) => input.id));
    for (const [id, value] of Object.entries(values)) {
      if (!declared.has(id))
        throw new GatehouseError('BAD_REQUEST', `server "${name}" declares no input "${id}"`);
      // eslint-disable-next-line no-control-regex
      if (value !== null && (value === '' || /[\u0000-\u001f\u007f]/.test(value)))
        throw new GatehouseError('BAD_REQUEST', `the value of "${id}" is empty or has control characters`);
    }
    const stored = await updateInputValues(this.#credentials(), name, values);
    // The entry may have been replaced meanwhile (a settings edit): the current one reads again.
    const current = this.#entries.get(name);
    if (current) current.inputs.set = new Set(Object.keys(stored));
    this.#emit({ type: 'auth', server: name });
    this.reconnect(name);
  }

  /** Revokes the tokens of `name` where the authorization server allows it, forgets them, reconnects. */
  async disconnect(name: string): Promise<void> {
    await this.#engineOf(name).disconnect();
    this.reconnect(name);
  }

  /**
   * The browser came back from an authorization server: the `state` names the server (one index,
   * so no other upstream's stored credentials are read), whose engine completes the flow.
   * @throws GatehouseError `OAUTH_STATE_INVALID` when no authorization in progress has that state;
   *   the engine's callback errors otherwise
   */
  async completeCallback(params: URLSearchParams): Promise<{ server: string }> {
    const server = this.#pendingStates.serverOf(params.get('state'));
    const engine = server === undefined ? undefined : this.#entries.get(server)?.oauth;
    if (server === undefined || !engine) {
      throw new GatehouseError(
        'OAUTH_STATE_INVALID',
        'This authorization response is unknown, expired or was already used. Start again from Gatehouse.',
      );
    }
    await engine.handleCallback(params);
    return { server };
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

  #engineOf(name: string): OAuthEngine {
    const entry = this.#entries.get(name);
    if (!entry) throw new GatehouseError('SERVER_NOT_FOUND', `no server named "${name}"`);
    if (!entry.oauth) {
      throw new GatehouseError('OAUTH_NOT_CONFIGURED', `server "${name}" is not an HTTP server`);
    }
    return entry.oauth;
  }

  #start(config: ServerConfig, settings: Settings): void {
    const name = config.name;
    const oauth = this.#createOAuth(config, settings);
    const inputs: Entry['inputs'] = {};
    const auth: ConnectionAuth | undefined = oauth && {
      fetch: oauth.fetch,
      authorizationNeeded: () => authorizationNeeded(name, oauth),
      refreshFailing: () => oauth.refreshFailing,
    };
    const connection = new UpstreamConnection(config, {
      timeouts: settings.system.timeouts,
      logger: this.#options.logger.child({ server: name }),
      clientInfo: this.#options.clientInfo,
      auth,
      fetch: this.#http.fetch,
      limit: (fn) => this.#limit(fn),
      relay: this.#options.relay,
      ...(config.inputs.length > 0
        ? {
            inputs: {
              resolve: () => this.#resolveInputs(inputs, config),
              set: () => inputs.set,
            },
          }
        : {}),
      now: this.#options.now,
      random: this.#options.random,
      startupGraceMs: this.#options.startupGraceMs,
      onState: (state) => this.#emit({ type: 'state', server: name, state }),
      onLists: (_lists, changed) => this.#emit({ type: 'lists', server: name, changed }),
    });
    this.#entries.set(name, { connection, oauth, inputs });
    // A disabled server does not connect, but its form still shows which inputs are set.
    if (!config.enabled && config.inputs.length > 0) {
      readInputValues(this.#credentials(), name).then(
        (values) => {
          inputs.set = new Set(Object.keys(values));
        },
        (error: unknown) =>
          this.#options.logger.warn({ server: name, err: String(error) }, 'reading inputs failed'),
      );
    }
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

  /**
   * The config of one connect attempt of a server with inputs: the stored values in place.
   * @throws GatehouseError UPSTREAM_CREDENTIALS_REQUIRED naming the inputs without a value
   */
  async #resolveInputs(inputs: Entry['inputs'], config: ServerConfig): Promise<ServerConfig> {
    let values: Awaited<ReturnType<typeof readInputValues>>;
    try {
      values = await readInputValues(this.#credentials(), config.name);
    } catch (error) {
      if (!isGatehouseError(error, 'SECRETS_DECRYPT_FAILED')) throw error;
      // Retrying would read the same blob: the person types the values in again, which replaces it.
      inputs.set = new Set();
      throw new GatehouseError(
        'UPSTREAM_CREDENTIALS_REQUIRED',
        `server "${config.name}": its stored credentials cannot be decrypted (was the key changed?); set them again in the Gatehouse dashboard`,
        { cause: error, details: { server: config.name } },
      );
    }
    inputs.set = new Set(Object.keys(values));
    const resolved = resolveInputs(config, values);
    if (resolved.missing) throw credentialsRequired(config.name, resolved.missing);
    return resolved.config;
  }

  #credentials(): CredentialStore {
    const store = this.#options.credentials ?? this.#options.oauth?.store;
    if (!store) throw new GatehouseError('INTERNAL', 'no credential store for typed-in inputs');
    return store;
  }

  #createOAuth(config: ServerConfig, settings: Settings): OAuthEngine | undefined {
    const oauth = this.#options.oauth;
    // A URL that carries a typed-in value (an API key in the query, say) is not a resource to
    // authorize: the engine would send it to an authorization server as the RFC 8707 resource.
    if (!oauth || config.type === 'stdio' || urlTakesInputs(config)) return undefined;
    const name = config.name;
    return new OAuthEngine({
      server: name,
      serverUrl: config.url,
      settings: config.oauth,
      redirectUri: oauth.redirectUri,
      store: oauth.store,
      timeoutMs: settings.system.timeouts.oauthMs,
      allowedPrivateHosts: settings.system.allowedPrivateHosts,
      fetch: oauth.fetch,
      upstreamFetch: this.#http.fetch,
      logger: this.#options.logger,
      pendingStates: this.#pendingStates,
      onStageChange: (_stage, event) => {
        const status = this.get(name)?.state.status;
        // A fresh authorization (callback done) connects an upstream that was waiting for it; a
        // refresh that worked while the upstream shows an error (a failed refresh) retries at once.
        // A refresh that failed again changes nothing here: the connection's backoff retries it.
        if (event.type === 'authorized') {
          const waiting = status !== 'connected' && status !== 'disabled';
          if ((event.via === 'exchange' && waiting) || (event.via === 'refresh' && status === 'error'))
            this.reconnect(name);
        }
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
      `server "${name}" needs authorization (${stage.code}: ${stage.message})`,
      { details: { server: name, code: stage.code } },
    );
  }
  return undefined;
}
