/**
 * Servers with `"credentials": "perUser"` (issue 14): each person who calls one gets a connection
 * of their own, with their own OAuth engine (tokens keyed by server and person) and their own
 * typed-in inputs (a stdio server's child gets only that person's values). A person's connection
 * starts on their first call (or when they authorize it), closes after `systemConfig.perUser.idleMs`
 * without a call, and at most `maxConnections` run at once over the whole gateway.
 *
 * The server itself, as the catalog and the admin's status see it, is a `PerUserServer`: its tools
 * are those of whichever person's connection listed them last (MCP servers list the same tools to
 * everyone), so people discover them before they have authorized.
 */
import type { ServerCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { GatehouseError } from '../errors.js';
import type { PerUserBudget } from './per-user-budget.js';
import type { OAuthEngine } from '../oauth/engine.js';
import type { AuthStatus } from '../oauth/engine.js';
import type { InputDeclaration, ServerConfig } from '../settings/types.js';
import { BoundedLog } from './bounded-log.js';
import type { UpstreamConnection } from './connection.js';
import { EMPTY_LISTS, type ListKind, type UpstreamLists } from './lists.js';
import type { ConnectionState } from './state.js';

/** What the catalog and the status API read of a server (an UpstreamConnection, or a PerUserServer). */
export interface UpstreamView {
  readonly name: string;
  readonly config: ServerConfig;
  readonly state: ConnectionState;
  readonly lists: UpstreamLists;
  readonly stderr: BoundedLog;
  readonly transportKind: string;
  readonly capabilities: ServerCapabilities | undefined;
  readonly inputsSet: ReadonlySet<string> | undefined;
}

/** What one person sees of a per-user server (their own connection, tokens and inputs; no secret). */
export interface PersonServerStatus {
  server: string;
  enabled: boolean;
  /** Their connection's state; null when none runs now. */
  connection: ConnectionState | null;
  auth?: AuthStatus;
  inputs?: Array<InputDeclaration & { set: boolean }>;
}

/** One person's connection to one per-user server, and what it carries. */
export interface PersonSlot {
  readonly person: string;
  readonly connection: UpstreamConnection;
  readonly oauth: OAuthEngine | undefined;
  /** Ids of the person's inputs that have a value, as last read. */
  readonly inputs: { set?: ReadonlySet<string> };
  /** The connection was started (it counts against the cap from then on). */
  started: boolean;
  lastUsed: number;
  /** Calls running on the connection now: a busy connection is never closed for idleness. */
  inFlight: number;
}

/** Makes a person's slot: the engine loaded from the store, the connection built but not started. */
export type SlotFactory = (server: PerUserServer, person: string) => Promise<PersonSlot>;

export interface PerUserServerOptions {
  config: ServerConfig;
  budget: PerUserBudget;
  build: SlotFactory;
  now: () => number;
  /** How long a first connect may take before a call gives up waiting (the connect timeout). */
  connectMs: () => number;
  /** The catalog's lists of this server changed. */
  onLists: (changed: ListKind[]) => void;
  /** Something the admin's counts or a person's status show changed. */
  onPeople: () => void;
  /** Keeps lists that changed, so they are shown again after a restart. */
  remember?: (lists: UpstreamLists) => void;
}

/** One per-user server: its people's slots, and the view the catalog and the status API read. */
export class PerUserServer implements UpstreamView {
  /** Stays empty: a person's child writes their own stderr, not the server's. */
  readonly stderr = new BoundedLog();
  #config: ServerConfig;
  readonly #options: PerUserServerOptions;
  readonly #slots = new Map<string, { ready: Promise<PersonSlot>; slot?: PersonSlot }>();
  /** People waiting for their own authorization (or inputs) to complete, by person. */
  readonly #waiters = new Map<string, Set<() => void>>();
  /** Calls waiting for a slot's first connect attempt to settle. */
  readonly #settleWaiters = new Map<PersonSlot, Set<() => void>>();
  #lists: UpstreamLists = EMPTY_LISTS;
  #capabilities: ServerCapabilities | undefined;
  #transportKind: string;
  #listedSince: number | undefined;
  #closed = false;

  constructor(options: PerUserServerOptions) {
    this.#options = options;
    this.#config = options.config;
    this.#transportKind = options.config.type;
    options.budget.add(this);
  }

  get name(): string {
    return this.#config.name;
  }
  get config(): ServerConfig {
    return this.#config;
  }
  get lists(): UpstreamLists {
    return this.#lists;
  }
  get capabilities(): ServerCapabilities | undefined {
    return this.#capabilities;
  }
  get transportKind(): string {
    return this.#transportKind;
  }
  /** Each person has their own inputs: none is the server's. */
  get inputsSet(): undefined {
    return undefined;
  }

  /**
   * `connected` once someone's connection has listed the server's tools (they then show to
   * everyone who may call it); before that, waiting for the first person.
   */
  get state(): ConnectionState {
    if (!this.#config.enabled) return { status: 'disabled' };
    if (this.#listedSince !== undefined) return { status: 'connected', since: this.#listedSince };
    return {
      status: 'auth_required',
      error: {
        code: 'UPSTREAM_AUTH_REQUIRED',
        message: `server "${this.name}" uses each person's own credentials; its tools show once someone has connected it`,
      },
    };
  }

  /** Swaps in a config that differs only in the tool filter. */
  updateConfig(config: ServerConfig): void {
    this.#config = config;
  }

  /** The slots that exist now (started or not). */
  *slots(): Iterable<PersonSlot> {
    for (const { slot } of this.#slots.values()) if (slot) yield slot;
  }

  /** The person's slot, made (engine loaded, nothing started) when there is none. */
  slot(person: string): Promise<PersonSlot> {
    if (this.#closed)
      return Promise.reject(new GatehouseError('SERVER_NOT_FOUND', `no server named "${this.name}"`));
    const existing = this.#slots.get(person);
    if (existing) return existing.ready;
    const holder: { ready: Promise<PersonSlot>; slot?: PersonSlot } = {
      ready: this.#options.build(this, person).then((slot) => {
        holder.slot = slot;
        slot.lastUsed = this.#options.now();
        return slot;
      }),
    };
    holder.ready.catch(() => {
      if (this.#slots.get(person) === holder) this.#slots.delete(person);
    });
    this.#slots.set(person, holder);
    return holder.ready;
  }

  /** The person's slot if one exists now, without making one. */
  existing(person: string): PersonSlot | undefined {
    return this.#slots.get(person)?.slot;
  }

  /**
   * Runs `fn` on the person's connection: started now if it is not (within the cap), and given
   * until its first connect attempt settles. The connection's own `request` then answers for its
   * state (connected, waiting for the person's authorization, failed).
   */
  async use<T>(
    person: string,
    fn: (connection: UpstreamConnection) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    const slot = await this.slot(person);
    slot.inFlight++;
    try {
      if (!slot.started) await this.start(slot);
      await this.#settled(slot, signal);
      return await fn(slot.connection);
    } finally {
      slot.inFlight--;
      slot.lastUsed = this.#options.now();
    }
  }

  /** Starts a slot's connection, making room under the cap first. */
  async start(slot: PersonSlot): Promise<void> {
    if (slot.started) return;
    await this.#options.budget.admit();
    if (slot.started || this.existing(slot.person) !== slot) return;
    slot.started = true;
    slot.connection.start();
    this.#options.onPeople();
  }

  /** What `person` has of this server: their connection (if one runs), OAuth status, which inputs are set. */
  async status(person: string): Promise<PersonServerStatus> {
    const slot = await this.slot(person);
    const config = this.#config;
    return {
      server: this.name,
      enabled: config.enabled,
      connection: slot.started ? slot.connection.state : null,
      ...(slot.oauth ? { auth: slot.oauth.status() } : {}),
      ...(config.inputs.length > 0
        ? {
            inputs: config.inputs.map((input) => ({
              ...input,
              set: slot.inputs.set?.has(input.id) ?? false,
            })),
          }
        : {}),
    };
  }

  /** The URL `person` opens at the authorization server (a new authorization, or the one waiting). */
  async authorize(person: string, options: { scopes?: string[] }): Promise<{ authorizationUrl: string }> {
    const slot = await this.slot(person);
    if (!slot.oauth)
      throw new GatehouseError('OAUTH_NOT_CONFIGURED', `server "${this.name}" does not use OAuth`);
    slot.lastUsed = this.#options.now();
    return slot.oauth.startAuthorization(options);
  }

  /** Revokes the person's tokens where the authorization server allows it, forgets them, ends their connection. */
  async disconnect(person: string): Promise<void> {
    const slot = await this.slot(person);
    await slot.oauth?.disconnect();
    await this.close(person);
  }

  /** The person's stored inputs are now `stored`: their connection (if running) uses them, waiting calls go on. */
  inputsChanged(person: string, stored: Readonly<Record<string, string>>): void {
    const slot = this.existing(person);
    if (slot) {
      slot.inputs.set = new Set(Object.keys(stored));
      if (slot.started) slot.connection.reconnect();
    }
    this.personReady(person);
  }

  /** Waits until the person's authorization (or their inputs) complete, or `signal` aborts. */
  waitForPerson(person: string, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiters = this.#waiters.get(person) ?? new Set<() => void>();
      this.#waiters.set(person, waiters);
      const done = () => {
        signal.removeEventListener('abort', aborted);
        waiters.delete(done);
        if (waiters.size === 0 && this.#waiters.get(person) === waiters) this.#waiters.delete(person);
        resolve();
      };
      const aborted = () => {
        waiters.delete(done);
        if (waiters.size === 0 && this.#waiters.get(person) === waiters) this.#waiters.delete(person);
        reject(signal.reason);
      };
      if (signal.aborted) return aborted();
      waiters.add(done);
      signal.addEventListener('abort', aborted, { once: true });
    });
  }

  /** The person authorized the server (a code exchange) or set their inputs: their waiting calls go on. */
  personReady(person: string): void {
    for (const waiter of [...(this.#waiters.get(person) ?? [])]) waiter();
  }

  /** A person's connection listed the server's tools, prompts or resources. */
  listed(slot: PersonSlot, lists: UpstreamLists, changed: ListKind[]): void {
    if (this.existing(slot.person) !== slot) return;
    this.#capabilities = slot.connection.capabilities;
    this.#transportKind = slot.connection.transportKind;
    // Each person's connection lists the same tools when it connects: only a real change reaches
    // the catalog (two hundred people connecting are not two hundred list_changed to every client).
    const differs = changed.filter((kind) => !sameList(this.#lists, lists, kind));
    this.#lists = lists;
    const first = this.#listedSince === undefined;
    this.#listedSince ??= this.#options.now();
    if (differs.length > 0 || first) {
      this.#options.onLists(first ? changed : differs);
      this.#options.remember?.(lists);
    }
  }

  /** Lists remembered from before a restart, shown until a person's connection lists afresh. */
  restore(lists: UpstreamLists): void {
    if (this.#listedSince !== undefined) return;
    this.#lists = lists;
    this.#listedSince = this.#options.now();
    this.#options.onLists(['tools', 'prompts', 'resources']);
  }

  /** Running connections that are connected now. */
  connectedCount(): number {
    let count = 0;
    for (const slot of this.slots())
      if (slot.started && slot.connection.state.status === 'connected') count++;
    return count;
  }

  /** Ends the person's connection and engine (their stored credentials stay). */
  async close(person: string): Promise<void> {
    const holder = this.#slots.get(person);
    if (!holder) return;
    this.#slots.delete(person);
    const slot = await holder.ready.catch(() => undefined);
    if (!slot) return;
    slot.oauth?.close();
    await slot.connection.stop();
    this.#options.onPeople();
  }

  /** Ends every person's connection; the server is gone from the settings or the gateway stops. */
  async closeAll(): Promise<void> {
    this.#closed = true;
    this.#options.budget.remove(this);
    await Promise.all([...this.#slots.keys()].map((person) => this.close(person)));
  }

  /** A person's connection changed state: calls waiting for its first attempt go on once it settled. */
  connectionState(slot: PersonSlot, state: ConnectionState): void {
    if (state.status === 'connecting') return;
    for (const waiter of [...(this.#settleWaiters.get(slot) ?? [])]) waiter();
    if (state.status === 'connected' || state.status === 'auth_required') this.#options.onPeople();
  }

  /** Resolves once the connection's state is not `connecting` (or the connect timeout passed). */
  #settled(slot: PersonSlot, signal: AbortSignal | undefined): Promise<void> {
    if (slot.connection.state.status !== 'connecting') return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiters = this.#settleWaiters.get(slot) ?? new Set<() => void>();
      this.#settleWaiters.set(slot, waiters);
      const finish = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', aborted);
        waiters.delete(settled);
        if (waiters.size === 0 && this.#settleWaiters.get(slot) === waiters) this.#settleWaiters.delete(slot);
      };
      const settled = () => {
        finish();
        resolve();
      };
      // The attempt has its own connect timeout (after its turn in the start-up limiter); this one
      // is only a backstop, after which the connection's state answers the call.
      const timer = setTimeout(settled, 2 * this.#options.connectMs());
      const aborted = () => {
        finish();
        reject(signal?.reason);
      };
      waiters.add(settled);
      signal?.addEventListener('abort', aborted, { once: true });
    });
  }
}

/** Whether two lists of one kind are the same (what the catalog shows of them). */
function sameList(a: UpstreamLists, b: UpstreamLists, kind: ListKind): boolean {
  const key = kind === 'resources' ? (['resources', 'resourceTemplates'] as const) : ([kind] as const);
  return key.every((k) => a[k] === b[k] || JSON.stringify(a[k]) === JSON.stringify(b[k]));
}
