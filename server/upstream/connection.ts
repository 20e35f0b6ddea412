import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { ServerCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { GatehouseError } from '../errors.js';
import type { ServerConfig } from '../settings/types.js';
import { BoundedLog } from './bounded-log.js';
import { LazyJsonSchemaValidator } from './lazy-validator.js';
import {
  connectionRefused,
  isConnectionLost,
  unavailable,
  withServer,
  withStderr,
} from './connection-errors.js';
import type { ConnectionDeps } from './connection-deps.js';
import { acceptRelayedRequests } from './relayed-requests.js';
import {
  backoffDelay,
  classifyFailure,
  errorAfterFallback,
  shouldFallBackToSse,
  type FailureKind,
} from './policy.js';
import {
  EMPTY_LISTS,
  fetchLists,
  listProblems,
  mergeLists,
  watchListChanges,
  type UpstreamLists,
} from './lists.js';
import type { ConnectionState } from './state.js';
import { createTransport, type TransportKind } from './transports.js';

export type { ConnectionState } from './state.js';

export type { ConnectionAuth, ConnectionDeps, ConnectionInputs } from './connection-deps.js';
export type { UpstreamRequest, UpstreamRequestRelay } from './relayed-requests.js';

/** A connection that stays up at least this long resets the backoff. */
const STABLE_AFTER_MS = 10_000;
/**
 * Services start in parallel (a stdio entry may start the very server an HTTP entry points at): a
 * refused connection this soon after start is retried quickly and quietly, staying `connecting`.
 */
const DEFAULT_STARTUP_GRACE_MS = 5_000;
const STARTUP_RETRY_MS = 250;
/** A call retries an upstream whose refresh failed at most this often (or each first backoff step). */
const EARLY_RETRY_EVERY_MS = 1_000;
/** How often a connected upstream is pinged, so a dead HTTP upstream shows before anyone calls it. */
const DEFAULT_PING_INTERVAL_MS = 30_000;

/**
 * The lifecycle of one upstream: connect, keep the tool/prompt/resource lists current, reconnect
 * with capped exponential backoff, stop. Never throws out of its own timers: every failure becomes
 * a state the dashboard can show.
 */
export class UpstreamConnection {
  readonly stderr = new BoundedLog();
  #config: ServerConfig;
  /** The config the transports are built from: `#config` with typed-in values, as last resolved. */
  #transportConfig: ServerConfig;
  readonly #deps: ConnectionDeps;
  readonly #now: () => number;
  readonly #random: () => number;
  #state: ConnectionState = { status: 'connecting', attempt: 0 };
  #lists: UpstreamLists = EMPTY_LISTS;
  #client: Client | undefined;
  #generation = 0;
  #attempt = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #pingTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  #resolvedKind: TransportKind | undefined;
  #reinit: Promise<void> | undefined;
  /** When start() ran, for the start-up grace. */
  #startedAt = 0;
  /** When the last connect attempt began; a call may retry early, but not more often than this. */
  #lastAttemptAt = 0;
  #earlyRetry: Promise<void> | undefined;
  /** Where in the stdio child's stderr the current connection's attempt began. */
  #stderrMark = 0;

  constructor(config: ServerConfig, deps: ConnectionDeps) {
    this.#config = config;
    this.#transportConfig = config;
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.#random = deps.random ?? Math.random;
  }

  get name(): string {
    return this.#config.name;
  }
  get config(): ServerConfig {
    return this.#config;
  }
  get state(): ConnectionState {
    return this.#state;
  }
  get lists(): UpstreamLists {
    return this.#lists;
  }
  /** The transport in use: the configured one, or what `auto` settled on. */
  get transportKind(): TransportKind | 'auto' {
    return this.#config.type === 'auto' ? (this.#resolvedKind ?? 'auto') : this.#config.type;
  }
  get capabilities(): ServerCapabilities | undefined {
    return this.#client?.getServerCapabilities();
  }
  /** Which of the declared inputs have a value, as last read; undefined when unknown or none declared. */
  get inputsSet(): ReadonlySet<string> | undefined {
    return this.#deps.inputs?.set();
  }

  /** Swaps in a config that differs only in what needs no reconnect (the tool filter). */
  updateConfig(config: ServerConfig): void {
    this.#config = config;
  }

  /** Starts connecting in the background; returns at once. */
  start(): void {
    if (!this.#config.enabled) {
      this.#setState({ status: 'disabled' });
      return;
    }
    this.#attempt = 0;
    this.#startedAt = this.#now();
    this.#scheduleConnect(0);
  }

  /** Drops the current connection (if any) and connects again now, with the backoff reset. */
  reconnect(): void {
    if (this.#stopped || !this.#config.enabled) return;
    this.#attempt = 0;
    void this.#dropClient();
    this.#scheduleConnect(0);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    clearInterval(this.#pingTimer);
    this.#generation++;
    await this.#dropClient();
  }

  /**
   * Runs one request against the live client. Fails at once, naming the server and its state,
   * when the upstream is not connected. An expired Streamable HTTP session is re-initialized and
   * the request sent once more.
   */
  async request<T>(fn: (client: Client) => Promise<T>): Promise<T> {
    const client =
      this.#state.status === 'connected' && this.#client ? this.#client : await this.#clientAfterFailure();
    try {
      return await fn(client);
    } catch (error) {
      const failure = classifyFailure(error);
      if (failure.kind === 'session-expired') {
        await this.#reinitialize(client);
        return fn(this.#liveClient());
      }
      if (failure.kind === 'request-failed') throw failure.error;
      if (failure.kind === 'auth-required') {
        this.#setState({ status: 'auth_required', error: withServer(failure.error, this.name).toJSON() });
        void this.#dropClient();
      } else if (isConnectionLost(failure.error) && this.#client === client) {
        // The upstream went away under us: show it and start the reconnect loop now.
        this.#client = undefined;
        client.onclose = undefined;
        void client.close().catch(() => undefined);
        this.#onFailure(failure.error);
      }
      throw withServer(failure.error, this.name);
    }
  }

  #liveClient(): Client {
    const state = this.#state;
    if (state.status === 'connected' && this.#client) return this.#client;
    throw unavailable(this.name, state);
  }

  /**
   * A call to an upstream that is down because its token could not be refreshed (the authorization
   * server was unreachable; the tokens are kept) tries again now instead of failing until the
   * backoff timer fires: the outage may be over. Calls arriving meanwhile wait for that one
   * attempt; such attempts start at most once a second. Other states fail at once.
   */
  async #clientAfterFailure(): Promise<Client> {
    const state = this.#state;
    const refreshFailed =
      state.status === 'error' &&
      (state.error.code === 'OAUTH_REFRESH_FAILED' || this.#deps.auth?.refreshFailing() === true);
    if (
      refreshFailed &&
      !this.#earlyRetry &&
      this.#now() - this.#lastAttemptAt >=
        Math.min(this.#deps.timeouts.initialBackoffMs, EARLY_RETRY_EVERY_MS)
    ) {
      clearTimeout(this.#retryTimer);
      const generation = ++this.#generation;
      this.#setState({ status: 'connecting', attempt: this.#attempt });
      this.#earlyRetry = this.#connect(generation).finally(() => {
        this.#earlyRetry = undefined;
      });
    }
    if (this.#earlyRetry) await this.#earlyRetry;
    return this.#liveClient();
  }

  #scheduleConnect(delayMs: number): void {
    clearTimeout(this.#retryTimer);
    const generation = ++this.#generation;
    if (delayMs === 0) {
      this.#setState({ status: 'connecting', attempt: this.#attempt });
      void this.#connect(generation);
      return;
    }
    this.#retryTimer = setTimeout(() => {
      if (generation !== this.#generation) return;
      this.#setState({ status: 'connecting', attempt: this.#attempt });
      void this.#connect(generation);
    }, delayMs);
    this.#retryTimer.unref();
  }

  async #connect(generation: number): Promise<void> {
    this.#lastAttemptAt = this.#now();
    const stderrMark = this.stderr.mark();
    this.#stderrMark = stderrMark;
    try {
      const config = await this.#configForConnect();
      await this.#deps.limit(async () => {
        if (generation !== this.#generation) return;
        const client = await this.#openClient(generation, config);
        if (generation !== this.#generation) {
          await client.close().catch(() => undefined);
          return;
        }
        this.#client = client;
        const since = this.#now();
        this.#setState({ status: 'connected', since });
        this.#startPing(client, generation);
        this.#deps.logger.info({}, 'upstream connected');
      });
    } catch (error) {
      if (generation !== this.#generation) return;
      this.#onFailure(error, stderrMark);
    }
  }

  /**
   * The config of this connect attempt: a server with `inputs` gets its typed-in values now (once
   * per attempt, never per request); others use theirs as it is.
   */
  async #configForConnect(): Promise<ServerConfig> {
    const inputs = this.#deps.inputs;
    if (!inputs) return this.#config;
    this.#transportConfig = await inputs.resolve();
    return this.#transportConfig;
  }

  async #openClient(generation: number, config: ServerConfig): Promise<Client> {
    // A stored secret of this entry did not decrypt (settings/form-secrets.ts): say so, connect nothing.
    const problem = this.#config.problem;
    if (problem) throw new GatehouseError(problem.code, problem.message);
    const kinds: TransportKind[] =
      config.type === 'stdio'
        ? ['stdio']
        : config.type === 'auto'
          ? this.#resolvedKind
            ? [this.#resolvedKind]
            : ['streamable-http', 'sse']
          : [config.type];
    let lastError: unknown;
    for (const kind of kinds) {
      try {
        const client = await this.#openWith(kind, generation, config);
        if (this.#config.type === 'auto') this.#resolvedKind = kind;
        return client;
      } catch (error) {
        lastError = lastError === undefined ? error : errorAfterFallback(lastError, error);
        if (!shouldFallBackToSse(error)) break;
      }
    }
    throw lastError;
  }

  async #openWith(kind: TransportKind, generation: number, config: ServerConfig): Promise<Client> {
    const transport: Transport = createTransport(kind, config, {
      stderr: this.stderr,
      fetch: this.#deps.auth?.fetch ?? this.#deps.fetch,
    });
    const relay = this.#deps.relay;
    // We can relay sampling and elicitation to our own clients; whether the client of a given call
    // supports them is checked when a request arrives.
    const client = new Client(this.#deps.clientInfo, {
      capabilities: relay ? { sampling: {}, elicitation: { form: {}, url: {} } } : {},
      jsonSchemaValidator: new LazyJsonSchemaValidator(),
    });
    if (relay) acceptRelayedRequests(client, this.#deps.relayKey ?? this.name, relay);
    client.onclose = () => this.#onClosed(generation, client);
    client.onerror = (error) => this.#deps.logger.debug({ err: error.message }, 'upstream error');
    try {
      await client.connect(transport, { timeout: this.#deps.timeouts.connectMs });
      this.#watchLists(client, generation);
      this.#lists = await fetchLists(client, this.#deps.timeouts.connectMs);
      this.#reportProblems();
      this.#deps.onLists(this.#lists, ['tools', 'prompts', 'resources']);
      return client;
    } catch (error) {
      client.onclose = undefined;
      await client.close().catch(() => undefined);
      throw error;
    }
  }

  /** Entries left out of the lists are logged (and shown by the status API). */
  #reportProblems(): void {
    const problems = listProblems(this.#lists);
    if (problems.length > 0) {
      this.#deps.logger.warn({ problems }, 'upstream listed entries that are not valid MCP');
    }
  }

  #watchLists(client: Client, generation: number): void {
    watchListChanges(client, this.#deps.timeouts.requestMs, {
      current: () => generation === this.#generation,
      fresh: (kind, fresh) => {
        this.#lists = mergeLists(this.#lists, fresh);
        this.#reportProblems();
        this.#deps.onLists(this.#lists, [kind]);
      },
      failed: (kind, error) =>
        this.#deps.logger.warn({ list: kind, err: String(error) }, 'list refresh failed'),
    });
  }

  #startPing(client: Client, generation: number): void {
    clearInterval(this.#pingTimer);
    this.#pingTimer = setInterval(() => {
      if (generation !== this.#generation || this.#client !== client) return clearInterval(this.#pingTimer);
      client.ping({ timeout: this.#deps.timeouts.requestMs }).catch((error: unknown) => {
        if (generation !== this.#generation || this.#client !== client) return;
        const failure = classifyFailure(error);
        if (failure.kind === 'request-failed') return; // answered, just not with pong: alive
        this.#client = undefined;
        client.onclose = undefined;
        void client.close().catch(() => undefined);
        this.#onFailure(error);
      });
    }, this.#deps.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS);
    this.#pingTimer.unref();
  }

  #onClosed(generation: number, client: Client): void {
    if (generation !== this.#generation || this.#client !== client || this.#stopped) return;
    this.#client = undefined;
    const state = this.#state;
    if (state.status === 'connected' && this.#now() - state.since >= STABLE_AFTER_MS) this.#attempt = 0;
    this.#onFailure(
      new GatehouseError('UPSTREAM_CLOSED', 'the connection to the upstream closed'),
      this.#stderrMark,
    );
  }

  /** `stderrMark`: where in the stdio child's stderr the failed attempt began. */
  #onFailure(error: unknown, stderrMark?: number): void {
    if (this.#stopped) return;
    const classified = classifyFailure(error);
    const needed = classified.kind === 'retry' ? this.#deps.auth?.authorizationNeeded() : undefined;
    const failure: FailureKind = needed ? { kind: 'auth-required', error: needed } : classified;
    if (failure.kind === 'auth-required') {
      // No tight loop: the OAuth engine reconnects this upstream once a person has authorized it.
      this.#setState({ status: 'auth_required', error: withServer(failure.error, this.name).toJSON() });
      return;
    }
    const failed =
      failure.kind === 'request-failed'
        ? new GatehouseError('UPSTREAM_PROTOCOL_ERROR', failure.error.message, { cause: failure.error })
        : failure.error;
    const gatehouseError =
      this.#config.type === 'stdio' && stderrMark !== undefined
        ? withStderr(failed, this.stderr.since(stderrMark))
        : failed;
    const grace = this.#deps.startupGraceMs ?? DEFAULT_STARTUP_GRACE_MS;
    if (this.#now() - this.#startedAt < grace && connectionRefused(gatehouseError)) {
      this.#deps.logger.debug({ retryInMs: STARTUP_RETRY_MS }, 'upstream refused the connection at start-up');
      this.#scheduleConnect(STARTUP_RETRY_MS);
      return;
    }
    const delay = backoffDelay(this.#attempt, this.#deps.timeouts, this.#random);
    this.#attempt++;
    this.#setState({ status: 'error', error: gatehouseError.toJSON(), nextRetryAt: this.#now() + delay });
    this.#deps.logger.warn(
      { code: gatehouseError.code, err: gatehouseError.message, retryInMs: delay },
      'upstream unavailable',
    );
    this.#scheduleConnect(delay);
  }

  /** Re-initializes after the upstream forgot our session; concurrent callers share one attempt. */
  async #reinitialize(stale: Client): Promise<void> {
    if (this.#client !== stale) return; // someone already replaced it
    this.#reinit ??= (async () => {
      const generation = ++this.#generation;
      this.#client = undefined;
      stale.onclose = undefined;
      await stale.close().catch(() => undefined);
      this.#setState({ status: 'connecting', attempt: 0 });
      try {
        const client = await this.#openClient(generation, this.#transportConfig);
        this.#client = client;
        this.#setState({ status: 'connected', since: this.#now() });
        this.#startPing(client, generation);
        this.#deps.logger.info({}, 'upstream session re-initialized');
      } catch (error) {
        this.#onFailure(error);
        const failure = classifyFailure(error);
        throw failure.kind === 'request-failed' ? failure.error : withServer(failure.error, this.name);
      }
    })().finally(() => {
      this.#reinit = undefined;
    });
    await this.#reinit;
  }

  async #dropClient(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    if (!client) return;
    client.onclose = undefined;
    await client.close().catch((error: unknown) => {
      this.#deps.logger.debug({ err: String(error) }, 'closing upstream client failed');
    });
  }

  #setState(state: ConnectionState): void {
    this.#state = state;
    this.#deps.onState(state);
  }
}
