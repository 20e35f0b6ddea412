import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import type { Logger } from '../log.js';
import { covers, parseScopes, type Principal } from '../security/principal.js';
import type { StateStore } from '../settings/state-store.js';
import type { Settings } from '../settings/types.js';
import type { ListKind } from '../upstream/lists.js';
import { relayKey, type UpstreamManager } from '../upstream/manager.js';
import { sendingPlainErrors } from '../upstream/mcp-error-text.js';
import { Catalog, type Scope } from './catalog.js';
import type { CallerRelay } from './relay.js';
import { createSessionServer } from './session.js';
import { sessionRecord, SharedSessions, type SessionRecord } from './shared-sessions.js';
import { StreamableServerTransport } from './streamable-transport.js';

export interface GatewayOptions {
  manager: UpstreamManager;
  settings: () => Settings;
  logger: Logger;
  serverInfo: { name: string; version: string };
  authorizationHint: (server: string) => { url?: string; how: string };
  /** Where a person authorizes a per-user server (the connect link) or sets its inputs (the dashboard). */
  personLink: (server: string, person: string, need: 'authorize' | 'inputs') => string;
  relay: CallerRelay;
  /** A Streamable HTTP session with no request for this long is closed (default 1 hour). */
  sessionIdleMs?: number;
  /**
   * The state store shared by several replicas (Redis), when there is one: Streamable HTTP
   * sessions then leave a record there that lets any replica rebuild them (shared-sessions.ts).
   */
  sharedStore?: StateStore;
}

const DEFAULT_SESSION_IDLE_MS = 60 * 60 * 1000;

interface InboundSession {
  id: string;
  /** The path segment the session was opened on: '' for /mcp, else a group or server name. */
  scopeName: string;
  kind: 'streamable' | 'sse';
  /** Hands one HTTP request of this session to its SDK transport. */
  handle: (req: IncomingMessage, res: ServerResponse, body: unknown) => Promise<void>;
  close: () => Promise<void>;
  /** When the client last sent a request on this session. */
  lastSeen: number;
  /**
   * Who opened the session; each later request must come from the same subject (a session id is
   * not a credential). Replaced by each request's principal, so a token refreshed with other
   * scopes takes effect in the session at once. (A box shared with the session's server.)
   */
  identity: { principal: Principal };
  /** A shareable session's record and when this replica last wrote it (0: not yet). */
  shared?: { record: SessionRecord; writtenAt: number };
  /** Set once another replica's DELETE removed the record: a late expiry write must not revive it. */
  removed?: boolean;
}

/** Why a request for an existing session was not handed to it. */
export type SessionRefusal = 'not_found' | 'mismatch';

/**
 * The aggregated endpoint's state: the catalog and every inbound session. Transport-level HTTP
 * handling lives in routes.ts; this object owns sessions so that shutdown can close them all.
 */
export class Gateway {
  readonly catalog: Catalog;
  readonly #options: GatewayOptions;
  readonly #sessions = new Map<string, InboundSession>();
  readonly #pending = { servers: new Set<string>(), kinds: new Set<ListKind>() };
  #rebuildTimer: NodeJS.Immediate | undefined;
  readonly #sweeper: NodeJS.Timeout;
  /** Calls (tools, prompts, resource reads) being served now, and who waits for them to end. */
  #inFlight = 0;
  #idle: Array<() => void> = [];
  #draining = false;
  #closed = false;
  /** Shareable sessions' records (only with a shared store), and the rebuilds under way by id. */
  readonly #shared: SharedSessions | undefined;
  readonly #rebuilding = new Map<string, Promise<void>>();
  readonly #stopListening: () => void;

  constructor(options: GatewayOptions) {
    this.#options = options;
    // Clients often go away without DELETE: forget Streamable HTTP sessions nobody uses any more.
    // (A legacy SSE session ends when its stream closes.) A client coming back gets 404 and, as
    // the MCP spec tells it to, starts a new session. A shared session's record outlives this
    // replica's copy until its own expiry: another replica may still be serving it.
    const idleMs = options.sessionIdleMs ?? DEFAULT_SESSION_IDLE_MS;
    this.#sweeper = setInterval(() => void this.#closeIdle(idleMs), Math.min(idleMs, 60_000));
    this.#sweeper.unref();
    this.#shared = options.sharedStore
      ? new SharedSessions({ store: options.sharedStore, idleMs, logger: options.logger })
      : undefined;
    // A client's DELETE on any replica ends the session on all of them.
    this.#stopListening = this.#shared?.onRemoved((id) => this.#dropCopy(id)) ?? (() => undefined);
    this.catalog = new Catalog(options.manager, {
      separator: options.settings().system.nameSeparator,
      logger: options.logger,
    });
    options.manager.on((event) => {
      if (event.type === 'auth') return;
      const kinds = event.type === 'lists' ? event.changed : (['tools', 'prompts', 'resources'] as const);
      // A state change matters to the catalog only when it crosses "connected".
      if (event.type === 'state' && event.state.status === 'connecting') return;
      this.#scheduleRebuild([event.server], kinds);
    });
  }

  /**
   * Coalesces catalog rebuilds: events that arrive together (100 upstreams connecting at start-up
   * each report lists and state) cost one rebuild, not one each.
   */
  #scheduleRebuild(servers: Iterable<string>, kinds: Iterable<ListKind>): void {
    for (const server of servers) this.#pending.servers.add(server);
    for (const kind of kinds) this.#pending.kinds.add(kind);
    this.#rebuildTimer ??= setImmediate(() => {
      this.#rebuildTimer = undefined;
      const servers = new Set(this.#pending.servers);
      const kinds = new Set(this.#pending.kinds);
      this.#pending.servers.clear();
      this.#pending.kinds.clear();
      this.catalog.rebuild(servers, kinds);
    });
  }

  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** True once shutdown began: new MCP requests are refused, calls in flight go on. */
  get draining(): boolean {
    return this.#draining;
  }

  /**
   * Stops taking new requests and waits until the calls in flight have ended, or `timeoutMs` has
   * passed (then shutdown goes on and cancels what is left). Resolves with the calls still running.
   */
  async drain(timeoutMs: number): Promise<number> {
    this.#draining = true;
    if (this.#inFlight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.#idle.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.#inFlight;
  }

  /** Counts one call in flight until the returned function is called. */
  #enterCall(): () => void {
    this.#inFlight++;
    return () => {
      if (--this.#inFlight > 0) return;
      const waiting = this.#idle;
      this.#idle = [];
      for (const resolve of waiting) resolve();
    };
  }

  /** Applies a new separator after a settings reload. */
  settingsChanged(settings: Settings): void {
    this.catalog.setSeparator(settings.system.nameSeparator);
    this.catalog.invalidateResults();
    // Group membership may have changed: sessions on a group re-list.
    this.#scheduleRebuild(settings.servers.keys(), ['tools', 'prompts', 'resources']);
  }

  /** The servers a path segment covers; undefined when it names neither a group nor a server. */
  scope(scopeName: string): Scope | undefined {
    if (scopeName === '') return () => true;
    const settings = this.#options.settings();
    if (settings.groups.has(scopeName)) {
      return (server) => this.#options.settings().groups.get(scopeName)?.servers.includes(server) ?? false;
    }
    if (settings.servers.has(scopeName)) return (server) => server === scopeName;
    return undefined;
  }

  /** Whether a group of this name exists (else a path segment names a server, or nothing). */
  isGroup(name: string): boolean {
    return name !== '' && this.#options.settings().groups.has(name);
  }

  /**
   * Whether a principal's scopes reach at least one server of a path segment ('' is every
   * server: the lists are then filtered; a credential without any MCP scope reaches nothing).
   */
  reaches(scopeName: string, principal: Principal): boolean {
    const { grants } = principal;
    if (grants.all) return true;
    if (scopeName === '') return grants.key !== '';
    const groupsOf = (server: string) => this.#groupsOf(server);
    const group = this.#options.settings().groups.get(scopeName);
    if (group) return grants.groups.has(scopeName) || group.servers.some((s) => covers(grants, s, groupsOf));
    return covers(grants, scopeName, groupsOf);
  }

  /**
   * A Streamable HTTP session, only on the path it was opened on and only for the subject that
   * opened it; the request's principal becomes the session's.
   */
  session(id: string, scopeName: string, principal: Principal): InboundSession | SessionRefusal {
    const session = this.#sessions.get(id);
    if (!session || session.kind !== 'streamable' || session.scopeName !== scopeName) return 'not_found';
    if (!samePerson(session.identity.principal, principal)) return 'mismatch';
    session.identity.principal = principal;
    const now = Date.now();
    session.lastSeen = now;
    // Moves the shared record's expiry on, at most once per quarter of the idle time, off the
    // request's path (the hot path does no store I/O otherwise).
    const shared = session.shared;
    if (shared !== undefined && now - shared.writtenAt >= this.#shared!.refreshMs) {
      shared.writtenAt = now;
      void this.#writeRecord(session, shared.record);
    }
    return session;
  }

  /**
   * A Streamable HTTP session this replica does not hold, rebuilt from the shared store when
   * another replica opened it (then checked as `session` checks a held one). Concurrent requests
   * for one id build one session. Without a shared store: 'not_found', as before.
   * @throws GatehouseError STORE_UNAVAILABLE when the store cannot be reached now
   */
  async rebuild(
    id: string,
    scopeName: string,
    principal: Principal,
  ): Promise<InboundSession | SessionRefusal> {
    if (!this.#shared || this.#closed) return 'not_found';
    let building = this.#rebuilding.get(id);
    if (!building) {
      building = this.#rebuildFromStore(this.#shared, id).finally(() => this.#rebuilding.delete(id));
      this.#rebuilding.set(id, building);
    }
    await building;
    return this.session(id, scopeName, principal);
  }

  async #rebuildFromStore(shared: SharedSessions, id: string): Promise<void> {
    const record = await shared.read(id);
    if (!record || this.#sessions.has(id) || this.#closed) return;
    const scope = this.scope(record.scopeName);
    if (!scope) return;
    // Who opened it, without scopes: the first request's own principal replaces it (in `session`).
    const identity = { principal: { ...record.principal, grants: parseScopes(undefined) } };
    const { server, transport, register } = this.#streamable(record.scopeName, scope, identity, id);
    await server.connect(transport);
    try {
      await transport.replayInitialize(record.initialize);
    } catch (error) {
      this.#options.logger.warn({ err: String(error), session: id }, 'shared MCP session not rebuilt');
      await server.close();
      return;
    }
    if (this.#closed || this.#sessions.has(id)) {
      await server.close();
      return;
    }
    // writtenAt 0: the first request here writes the record again (its last write may be old).
    register(id, { record, writtenAt: 0 });
  }

  /** Writes a shared session's record; one removed meanwhile by a DELETE elsewhere stays removed. */
  #writeRecord(session: InboundSession, record: SessionRecord): Promise<void> {
    return this.#shared!.write(session.id, record, () => session.removed === true);
  }

  /** Another replica's DELETE (or this one's): this replica's copy of the session closes. */
  #dropCopy(id: string): void {
    const session = this.#sessions.get(id);
    if (!session || session.kind !== 'streamable') return;
    session.removed = true;
    this.#sessions.delete(id);
    session
      .close()
      .catch((error: unknown) => this.#options.logger.debug({ err: String(error) }, 'session close'));
  }

  async #closeIdle(idleMs: number): Promise<void> {
    const cutoff = Date.now() - idleMs;
    const idle = [...this.#sessions.values()].filter((s) => s.kind === 'streamable' && s.lastSeen < cutoff);
    for (const session of idle) {
      this.#sessions.delete(session.id);
      await session.close().catch(() => undefined);
    }
    if (idle.length > 0) this.#options.logger.info({ closed: idle.length }, 'idle MCP sessions closed');
  }

  /**
   * A new Streamable HTTP session; registered once its transport has assigned the id (on
   * initialize). With a shared store its record is written then, before the client hears the id.
   */
  async openStreamable(
    scopeName: string,
    scope: Scope,
    principal: Principal,
  ): Promise<StreamableServerTransport> {
    const identity = { principal };
    const { server, transport, register } = this.#streamable(
      scopeName,
      scope,
      identity,
      undefined,
      (id, params) => {
        const session = register(id);
        const record = this.#shared && sessionRecord(scopeName, principal, params);
        if (!record) return undefined;
        session.shared = { record, writtenAt: Date.now() };
        return this.#writeRecord(session, record);
      },
    );
    await server.connect(transport);
    return transport;
  }

  /**
   * A session's SDK server and transport (a new session's, or a rebuilt one's with its id), and
   * how to register it under its id.
   */
  #streamable(
    scopeName: string,
    scope: Scope,
    identity: { principal: Principal },
    restoredId?: string,
    initialized?: (id: string, params: unknown) => void | Promise<void>,
  ) {
    const { server, dispose } = this.#newServer(scopeName, scope, () => identity.principal);
    const shared = this.#shared;
    let registered: InboundSession | undefined;
    const transport: StreamableServerTransport = new StreamableServerTransport({
      sessionId: () => randomUUID(),
      restoredId,
      onSessionInitialized: initialized,
      // The record goes first: should the store be unreachable, the DELETE fails and nothing ends.
      onDelete: shared && ((id) => shared.remove(id)),
    });
    transport.onclose = () => {
      dispose();
      // Only this copy's own entry (a copy rebuilt later under the same id is another's).
      if (registered && this.#sessions.get(registered.id) === registered)
        this.#sessions.delete(registered.id);
    };
    const register = (id: string, sharedRecord?: InboundSession['shared']): InboundSession => {
      registered = {
        id,
        scopeName,
        kind: 'streamable',
        handle: (req, res, body) => transport.handleRequest(req, res, body),
        close: () => server.close(),
        lastSeen: Date.now(),
        identity,
        shared: sharedRecord,
      };
      this.#sessions.set(id, registered);
      return registered;
    };
    return { server, transport, register };
  }

  /** A legacy HTTP+SSE session (protocol 2024-11-05): GET opens the stream, POSTs go to `endpoint`. */
  async openSse(
    scopeName: string,
    scope: Scope,
    endpoint: string,
    res: ServerResponse,
    principal: Principal,
  ): Promise<void> {
    const identity = { principal };
    const { server, dispose } = this.#newServer(scopeName, scope, () => identity.principal);
    // Our Streamable HTTP transport unprefixes error texts as it serializes; the SDK's needs this.
    const transport = sendingPlainErrors(new SSEServerTransport(endpoint, res));
    const id = transport.sessionId;
    this.#sessions.set(id, {
      id,
      scopeName,
      kind: 'sse',
      handle: (req, res, body) => transport.handlePostMessage(req, res, body),
      close: () => server.close(),
      lastSeen: Date.now(),
      identity,
    });
    transport.onclose = () => {
      dispose();
      this.#sessions.delete(id);
    };
    await server.connect(transport);
  }

  /** Hands a POST to /messages to its legacy SSE session, for the subject that opened it only. */
  async handleSsePost(
    id: string,
    req: IncomingMessage,
    res: ServerResponse,
    body: unknown,
    principal: Principal,
  ): Promise<true | SessionRefusal> {
    const session = this.#sessions.get(id);
    if (!session || session.kind !== 'sse') return 'not_found';
    if (!samePerson(session.identity.principal, principal)) return 'mismatch';
    session.identity.principal = principal;
    await session.handle(req, res, body);
    return true;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#stopListening();
    clearInterval(this.#sweeper);
    if (this.#rebuildTimer) clearImmediate(this.#rebuildTimer);
    this.#rebuildTimer = undefined;
    const sessions = [...this.#sessions.values()];
    this.#sessions.clear();
    await Promise.all(
      sessions.map((s) =>
        s
          .close()
          .catch((error: unknown) => this.#options.logger.debug({ err: String(error) }, 'session close')),
      ),
    );
  }

  #newServer(scopeName: string, scope: Scope, principal: () => Principal) {
    return createSessionServer(scopeName, scope, principal, {
      catalog: this.catalog,
      use: (name, person, fn, signal) => this.#options.manager.use(name, person, fn, signal),
      perUser: {
        is: (name) => this.#options.manager.isPerUser(name),
        link: this.#options.personLink,
        wait: (name, person, signal) => this.#options.manager.waitForPerson(name, person, signal),
      },
      relayKey,
      enterCall: () => this.#enterCall(),
      authorizationHint: this.#options.authorizationHint,
      requestTimeoutMs: () => this.#options.settings().system.timeouts.requestMs,
      relay: this.#options.relay,
      logger: this.#options.logger,
      serverInfo: this.#options.serverInfo,
      groupsOf: (server) => this.#groupsOf(server),
    });
  }

  /** The groups a server is in now (a group scope covers what the group holds at each request). */
  *#groupsOf(server: string): Iterable<string> {
    for (const [name, group] of this.#options.settings().groups)
      if (group.servers.includes(server)) yield name;
  }
}

/** Whether two principals are the same person through the same kind of credential. */
function samePerson(a: Principal, b: Principal): boolean {
  return a.kind === b.kind && a.subject === b.subject;
}
