import { GatehouseError } from '../errors.js';
import type { AuthStatus, OAuthEngine } from '../oauth/engine.js';
import { holdsTokens } from '../oauth/record.js';
import { PendingStateIndex } from '../oauth/pending-index.js';
import { GATEWAY_OWNER, personOf, type CredentialKey } from '../settings/credentials.js';
import type { ServerConfig, Settings } from '../settings/types.js';
import type { UpstreamConnection } from './connection.js';
import { createHttpFetch, type HttpFetch } from '../http-fetch.js';
import { pinnedLookup } from '../security/ssrf.js';
import { checkInputValues, UpstreamFactory, type InputsSeen } from './factory.js';
import { inputsKey, readInputValues, updateInputValues, urlTakesInputs } from './inputs.js';
import { createLimiter } from './limit.js';
import { PerUserServer, type PersonServerStatus, type UpstreamView } from './per-user.js';
import { PerUserBudget } from './per-user-budget.js';

export type { PersonServerStatus } from './per-user.js';

export { relayKey } from './factory.js';
import type { ManagerOptions, UpstreamEvent } from './manager-options.js';

export type { ListsMemory, ManagerOAuthOptions, ManagerOptions, UpstreamEvent } from './manager-options.js';

interface SharedEntry {
  kind: 'shared';
  connection: UpstreamConnection;
  oauth: OAuthEngine | undefined;
  /** Ids of the declared inputs that have a value, as last read (never the values). */
  inputs: InputsSeen;
}

/** A `credentials: "perUser"` server: each person's connection lives in its PerUserServer. */
interface PerUserEntry {
  kind: 'perUser';
  server: PerUserServer;
  /** The SSRF-guarded HTTP client its people's OAuth engines share. */
  guardedHttp: HttpFetch | undefined;
}

type Entry = SharedEntry | PerUserEntry;

/**
 * Owns one UpstreamConnection per configured server (and, for per-user servers, one per person
 * who uses it) and applies settings as per-server diffs: only added, removed or changed servers
 * (re)connect; everything else stays untouched.
 */
export class UpstreamManager {
  readonly #options: ManagerOptions;
  readonly #entries = new Map<string, Entry>();
  readonly #listeners = new Set<(event: UpstreamEvent) => void>();
  #limit: <T>(fn: () => Promise<T>) => Promise<T> = createLimiter(8);
  #limitSize = 8;
  /** One keep-alive agent for all upstream MCP traffic. */
  readonly #http = createHttpFetch();
  /** `state` → server (or `<server>\0<person>`) of every authorization in progress, for the callback. */
  readonly #pendingStates: PendingStateIndex;
  /** The cap over every person's connection, and the idle sweep. */
  readonly #budget = new PerUserBudget(100);
  #settings: Settings | undefined;

  readonly #factory: UpstreamFactory;

  constructor(options: ManagerOptions) {
    this.#options = options;
    this.#pendingStates = new PendingStateIndex(options.pendingStore);
    this.#factory = new UpstreamFactory({
      ...options,
      http: this.#http,
      limit: (fn) => this.#limit(fn),
      pendingStates: this.#pendingStates,
    });
  }

  on(listener: (event: UpstreamEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** What the catalog and the status API read of a server. */
  get(name: string): UpstreamView | undefined {
    const entry = this.#entries.get(name);
    return entry?.kind === 'shared' ? entry.connection : entry?.server;
  }

  /** Whether `name` is a per-user server (each person's own credentials). */
  isPerUser(name: string): boolean {
    return this.#entries.get(name)?.kind === 'perUser';
  }

  /**
   * Runs `fn` on the connection that serves `person` on `name`: the server's own for a shared
   * server, the person's (started now if needed) for a per-user one.
   * @throws GatehouseError SERVER_NOT_FOUND; PER_USER_LIMIT
   */
  use<T>(
    name: string,
    person: string,
    fn: (connection: UpstreamConnection) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    const entry = this.#entries.get(name);
    if (entry?.kind === 'shared') return fn(entry.connection);
    if (!entry) return Promise.reject(new GatehouseError('SERVER_NOT_FOUND', `no server named "${name}"`));
    return entry.server.use(person, fn, signal);
  }

  /** The OAuth status of an HTTP upstream (secret-free); undefined for stdio, per-user or unknown servers. */
  authStatus(name: string): AuthStatus | undefined {
    const entry = this.#entries.get(name);
    return entry?.kind === 'shared' ? entry.oauth?.status() : undefined;
  }

  /**
   * Starts (or restarts) the OAuth flow of `name`: the URL a person opens.
   * @throws GatehouseError `SERVER_NOT_FOUND`, `OAUTH_NOT_CONFIGURED`, `SERVER_PER_USER`, or the flow's own failure
   */
  async authorize(name: string, options: { scopes?: string[] } = {}): Promise<{ authorizationUrl: string }> {
    return this.#engineOf(name).startAuthorization(options);
  }

  /**
   * Stores typed-in values of `name`'s inputs (a string sets one, `null` forgets it; the others are
   * kept), then reconnects the server so it uses them.
   * @throws GatehouseError SERVER_NOT_FOUND; SERVER_PER_USER; BAD_REQUEST for an id the entry does
   *   not declare or a value with control characters (it would reach a header or an environment variable)
   */
  async setInputs(name: string, values: Readonly<Record<string, string | null>>): Promise<void> {
    const entry = this.#shared(name);
    checkInputValues(entry.connection.config, values);
    const stored = await updateInputValues(this.#factory.credentials(), name, values);
    // The entry may have been replaced meanwhile (a settings edit): the current one reads again.
    const current = this.#entries.get(name);
    if (current?.kind === 'shared') current.inputs.set = new Set(Object.keys(stored));
    this.#emit({ type: 'auth', server: name });
    this.reconnect(name);
  }

  /** Revokes the tokens of `name` where the authorization server allows it, forgets them, reconnects. */
  async disconnect(name: string): Promise<void> {
    await this.#engineOf(name).disconnect();
    this.reconnect(name);
  }

  // --- per-user servers: one person's own connection ------------------------------------------

  /**
   * What `person` has of per-user server `name`: their connection (if one runs), their OAuth
   * status, which of their inputs are set.
   * @throws GatehouseError SERVER_NOT_FOUND; SERVER_NOT_PER_USER
   */
  personStatus(name: string, person: string): Promise<PersonServerStatus> {
    return this.#perUser(name).status(person);
  }

  /**
   * Starts (or returns the waiting) authorization of `person` on per-user server `name`: the
   * authorization server's URL. Callers hand people the connect link, which binds the browser.
   * @throws GatehouseError SERVER_NOT_FOUND; SERVER_NOT_PER_USER; OAUTH_NOT_CONFIGURED (no OAuth engine)
   */
  authorizeFor(
    name: string,
    person: string,
    options: { scopes?: string[] } = {},
  ): Promise<{ authorizationUrl: string }> {
    return this.#perUser(name).authorize(person, options);
  }

  /** Revokes `person`'s tokens of `name` where possible, forgets them and ends their connection. */
  async disconnectFor(name: string, person: string): Promise<void> {
    await this.#perUser(name).disconnect(person);
    this.#emit({ type: 'auth', server: name });
  }

  /** Stores (or forgets) `person`'s own values of `name`'s inputs; their connection uses them next. */
  async setInputsFor(
    name: string,
    person: string,
    values: Readonly<Record<string, string | null>>,
  ): Promise<void> {
    const server = this.#perUser(name);
    checkInputValues(server.config, values);
    server.inputsChanged(person, await updateInputValues(this.#factory.userStore(), name, values, person));
    this.#emit({ type: 'auth', server: name });
  }

  /** Waits until `person` has authorized `name` (or set its inputs), or `signal` aborts. */
  waitForPerson(name: string, person: string, signal: AbortSignal): Promise<void> {
    return this.#perUser(name).waitForPerson(person, signal);
  }

  /** How many people have stored credentials for per-user server `name`, and how many connections are up. */
  async people(name: string): Promise<{ people: number; connected: number }> {
    const server = this.#perUser(name);
    // A person counts once they hold tokens or typed-in values (a registered client alone is not a connection).
    const records = (await this.#factory.userStore().records?.(name)) ?? [];
    const people = new Set(
      records
        .filter(({ owner, record }) => owner.startsWith('inputs:') || holdsTokens(record))
        .map(({ owner }) => personOf(owner))
        .filter((person) => person !== undefined),
    );
    return { people: people.size, connected: server.connectedCount() };
  }

  /**
   * Which server (and person, for a per-user server) an authorization `state` was handed out for,
   * on this replica or, with a shared store, another. Nothing is consumed: the callback route
   * checks the browser's binding first.
   */
  async pendingOf(state: string | null): Promise<{ server: string; person?: string } | undefined> {
    const key = await this.#pendingStates.find(state);
    if (key === undefined) return undefined;
    const nul = key.indexOf('\u0000');
    return nul === -1 ? { server: key } : { server: key.slice(0, nul), person: key.slice(nul + 1) };
  }

  /**
   * The browser came back from an authorization server: the `state` names the server (one index,
   * so no other upstream's stored credentials are read), whose engine completes the flow. The
   * authorization may have started on another replica: the engine reads its record from the shared
   * store, and a person's engine is made here when this replica has none yet.
   * @throws GatehouseError `OAUTH_STATE_INVALID` when no authorization in progress has that state;
   *   the engine's callback errors otherwise
   */
  async completeCallback(params: URLSearchParams): Promise<{ server: string; person?: string }> {
    const pending = await this.pendingOf(params.get('state'));
    const entry = pending && this.#entries.get(pending.server);
    const engine =
      entry?.kind === 'shared'
        ? pending?.person === undefined
          ? entry.oauth
          : undefined
        : pending?.person !== undefined && entry
          ? (await entry.server.slot(pending.person)).oauth
          : undefined;
    if (!pending || !engine) {
      throw new GatehouseError(
        'OAUTH_STATE_INVALID',
        'This authorization response is unknown, expired or was already used. Start again from Gatehouse.',
      );
    }
    await engine.handleCallback(params);
    return pending;
  }

  /**
   * Another replica wrote the stored credential `key` (the shared store's feed): the engine or the
   * connection that uses it follows — new tokens, a person's authorization, typed-in values.
   */
  async credentialChanged(key: CredentialKey): Promise<void> {
    const entry = this.#entries.get(key.server);
    const person = personOf(key.owner);
    if (entry?.kind === 'shared') {
      if (key.owner === GATEWAY_OWNER) await entry.oauth?.reload();
      else if (key.owner === inputsKey(key.server).owner) {
        const stored = await readInputValues(this.#factory.credentials(), key.server);
        entry.inputs.set = new Set(Object.keys(stored));
        this.#emit({ type: 'auth', server: key.server });
        this.reconnect(key.server);
      }
    } else if (entry && person !== undefined) {
      if (key.owner.startsWith('inputs:')) {
        entry.server.inputsChanged(
          person,
          await readInputValues(this.#factory.userStore(), key.server, person),
        );
      } else await entry.server.existing(person)?.oauth?.reload();
    }
  }

  /** Connections in settings order. */
  list(): UpstreamView[] {
    return [...this.#entries.values()].map((e) => (e.kind === 'shared' ? e.connection : e.server));
  }

  /**
   * Brings the running connections in line with `settings`. Returns at once: connecting happens
   * in the background, in parallel up to `systemConfig.connectConcurrency`.
   */
  async apply(settings: Settings): Promise<{ added: string[]; removed: string[]; restarted: string[] }> {
    this.#settings = settings;
    if (settings.system.connectConcurrency !== this.#limitSize) {
      this.#limitSize = settings.system.connectConcurrency;
      this.#limit = createLimiter(this.#limitSize);
    }
    this.#budget.configure(settings.system.perUser, this.#options.now ?? Date.now, this.#options.logger);
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
      const current = entry?.kind === 'shared' ? entry.connection.config : entry?.server.config;
      if (!entry) {
        added.push(name);
        this.#start(config, settings);
      } else if (current?.fingerprint !== config.fingerprint) {
        if (current && sameConnection(current, config)) {
          // Only the tool filter changed: no reconnect, the catalog re-reads the filter.
          if (entry.kind === 'shared') entry.connection.updateConfig(config);
          else entry.server.updateConfig(config);
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

  /** Connects one server again now (after authorization, or from the dashboard); a per-user server's people too. */
  reconnect(name: string): void {
    const entry = this.#entries.get(name);
    if (entry?.kind === 'shared') entry.connection.reconnect();
    else for (const slot of entry?.server.slots() ?? []) if (slot.started) slot.connection.reconnect();
  }

  async close(): Promise<void> {
    this.#budget.stop();
    await Promise.all([...this.#entries].map(([name, entry]) => this.#stop(name, entry)));
    this.#http.close();
  }

  #shared(name: string): SharedEntry {
    const entry = this.#entries.get(name);
    if (!entry) throw new GatehouseError('SERVER_NOT_FOUND', `no server named "${name}"`);
    if (entry.kind === 'perUser') {
      throw new GatehouseError(
        'SERVER_PER_USER',
        `server "${name}" uses each person's own credentials: each person connects it under My servers`,
      );
    }
    return entry;
  }

  #perUser(name: string): PerUserServer {
    const entry = this.#entries.get(name);
    if (!entry) throw new GatehouseError('SERVER_NOT_FOUND', `no server named "${name}"`);
    if (entry.kind !== 'perUser') throw new GatehouseError('SERVER_NOT_PER_USER');
    return entry.server;
  }

  #engineOf(name: string): OAuthEngine {
    const entry = this.#shared(name);
    if (!entry.oauth) {
      throw new GatehouseError('OAUTH_NOT_CONFIGURED', `server "${name}" is not an HTTP server`);
    }
    return entry.oauth;
  }

  #start(config: ServerConfig, settings: Settings): void {
    if (config.credentials === 'perUser') return this.#startPerUser(config, settings);
    const name = config.name;
    const oauth = this.#factory.engine(config, settings, {
      store: this.#options.oauth?.store,
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
    const inputs: InputsSeen = {};
    const connection = this.#factory.connection(config, settings, oauth, inputs, undefined, {
      onState: (state) => this.#emit({ type: 'state', server: name, state }),
      onLists: (_lists, changed) => this.#emit({ type: 'lists', server: name, changed }),
    });
    this.#entries.set(name, { kind: 'shared', connection, oauth, inputs });
    // A disabled server does not connect, but its form still shows which inputs are set.
    if (!config.enabled && config.inputs.length > 0) {
      readInputValues(this.#factory.credentials(), name).then(
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

  /** A per-user server: nothing connects until a person calls it or authorizes it. */
  #startPerUser(config: ServerConfig, settings: Settings): void {
    const name = config.name;
    const canOAuth = this.#options.oauth !== undefined && config.type !== 'stdio' && !urlTakesInputs(config);
    const guardedHttp =
      canOAuth && !this.#options.oauth?.fetch
        ? createHttpFetch({
            lookup: pinnedLookup({
              upstreamUrl: config.url,
              allowedPrivateHosts: settings.system.allowedPrivateHosts,
            }),
          })
        : undefined;
    const server: PerUserServer = new PerUserServer({
      config,
      budget: this.#budget,
      now: this.#options.now ?? Date.now,
      connectMs: () => (this.#settings ?? settings).system.timeouts.connectMs,
      onLists: (changed) => this.#emit({ type: 'lists', server: name, changed }),
      onPeople: () => this.#emit({ type: 'auth', server: name }),
      remember: (lists) => {
        this.#options.lists?.put(name, config.fingerprint, lists).catch((error: unknown) => {
          this.#options.logger.warn(
            { server: name, err: String(error) },
            'remembering the tool lists failed',
          );
        });
      },
      build: (owner, person) =>
        this.#factory.personSlot(owner, person, settings, guardedHttp, () =>
          this.#emit({ type: 'auth', server: name }),
        ),
    });
    this.#entries.set(name, { kind: 'perUser', server, guardedHttp });
    // After a restart nobody's connection runs yet: the lists a person's connection last gave are
    // shown until someone connects (for the same entry only; a changed one lists afresh).
    this.#options.lists?.get(name, config.fingerprint).then(
      (lists) => {
        if (lists) server.restore(lists);
      },
      (error: unknown) =>
        this.#options.logger.warn(
          { server: name, err: String(error) },
          'reading the remembered tool lists failed',
        ),
    );
  }

  async #stop(name: string, entry: Entry): Promise<void> {
    if (this.#entries.get(name) === entry) this.#entries.delete(name);
    if (entry.kind === 'shared') {
      entry.oauth?.close();
      await entry.connection.stop();
    } else {
      await entry.server.closeAll();
      entry.guardedHttp?.close();
    }
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
