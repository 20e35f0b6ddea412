/**
 * The client-side OAuth engine of one HTTP upstream (DESIGN.md, "The OAuth engine"). It owns the
 * upstream's auth stage, wraps the upstream's HTTP traffic (`fetch`), and runs the steps in
 * `flow.ts`. One instance per upstream; state lives here, never in module scope.
 */
import { getRandomValues } from 'node:crypto';

import { GatehouseError, isGatehouseError, toGatehouseError, type ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import { createHttpFetch, type HttpFetch } from '../http-fetch.js';
import { createGuardedFetch, pinnedLookup } from '../security/ssrf.js';
import { GATEWAY_OWNER, type CredentialStore } from '../settings/credentials.js';
import type { OAuthSettings } from '../settings/types.js';
import { Authorizations } from './authorizations.js';
import type { BearerChallenge } from './challenge.js';
import { completeCallback, forgetTokens, needsPerson, refreshUnderLock, type FlowContext } from './flow.js';
import { DEFAULT_OAUTH_TIMEOUT_MS, raceAbort, type OAuthHttp } from './http.js';
import { PendingStateIndex } from './pending-index.js';
import { emptyRecord, RecordRepo, type EngineRecord, type StoredTokens } from './record.js';
import { importPlaintextTokens, registerAtStartUp, revokeAndForget } from './lifecycle.js';
import type { AuthFacts } from './facts.js';
import {
  describe,
  entryFacts,
  EventLog,
  transition,
  type AuthorizationReason,
  type AuthStage,
  type StageEvent,
} from './stage.js';
import { buildStatus, type AuthStatus } from './status.js';
import { isStale } from './tokens.js';
import type { FetchLike } from '../security/ssrf.js';
import { createUpstreamFetch, type UpstreamFetch } from './upstream-fetch.js';

export type { AuthEvent, AuthStage, StageEvent } from './stage.js';
export type { AuthStatus } from './status.js';
export { STEP_UP_LIMIT } from './step-up.js';

export interface OAuthEngineOptions {
  /** Upstream name. */
  server: string;
  /** The MCP endpoint URL (Streamable HTTP endpoint or SSE URL). */
  serverUrl: string;
  settings: OAuthSettings | undefined;
  /** baseUrl/oauth/callback, computed by the caller (the port is known only after listen) unless settings.redirectUri. */
  redirectUri: () => string;
  store: CredentialStore;
  /** Default GATEWAY_OWNER. */
  owner?: string;
  /** For the SSRF guard. */
  allowedPrivateHosts: string[];
  fetch?: typeof fetch;
  /** The plain fetch for the upstream's own MCP traffic (default: `fetch`). */
  upstreamFetch?: FetchLike;
  now?: () => number;
  random?: (bytes: number) => Uint8Array;
  logger: Logger;
  /** Called after every stage change, with the event that caused it. */
  onStageChange?: (stage: AuthStage, event: StageEvent) => void;
  /** Per outbound OAuth request, its answer included; default 10 s. */
  timeoutMs?: number;
  /** Where this engine files the `state`s of its pending authorizations (shared by the manager). */
  pendingStates?: PendingStateIndex;
  /** The name its states are filed under in `pendingStates` (default: `server`; a person's engine adds the owner). */
  pendingKey?: string;
  /**
   * The SSRF-guarded HTTP client (pinned lookups) to use, owned by the caller: the engines of one
   * per-user server's people share one. Default: the engine makes and closes its own.
   */
  guardedHttp?: HttpFetch;
}

export class OAuthEngine {
  /** Give this to the SDK's client transports: `new StreamableHTTPClientTransport(url, { fetch: engine.fetch })`. */
  readonly fetch: UpstreamFetch;
  readonly #opts: OAuthEngineOptions;
  readonly #ctx: FlowContext;
  readonly #log = new EventLog(50);
  readonly #closed = new AbortController();
  #stage: AuthStage = { kind: 'unauthenticated' };
  #record: EngineRecord = emptyRecord();
  readonly #authorizations: Authorizations;
  #challenge: BearerChallenge | undefined;
  #refreshing: Promise<StoredTokens> | undefined;
  /** Refreshes that failed in a row for a passing reason, and the last such failure. */
  #refreshFailures = 0;
  #lastRefreshError: { at: number; code: ErrorCode; message: string } | undefined;
  readonly #guardedHttp: HttpFetch | undefined;
  readonly #pendingStates: PendingStateIndex;

  constructor(opts: OAuthEngineOptions) {
    this.#opts = opts;
    this.#pendingStates = opts.pendingStates ?? new PendingStateIndex();
    const baseFetch = opts.fetch ?? globalThis.fetch;
    const logger = opts.logger.child({ server: opts.server });
    const guard = { upstreamUrl: opts.serverUrl, allowedPrivateHosts: opts.allowedPrivateHosts };
    // Requests made because of what an upstream or its authorization server sent connect only to
    // addresses the SSRF guard checked (pinnedLookup), unless a fetch was injected.
    this.#guardedHttp =
      opts.fetch || opts.guardedHttp ? undefined : createHttpFetch({ lookup: pinnedLookup(guard) });
    const guarded = opts.fetch ? undefined : (opts.guardedHttp ?? this.#guardedHttp);
    const http: OAuthHttp = {
      fetch: createGuardedFetch({ ...guard, fetch: guarded?.fetch ?? baseFetch }),
      timeoutMs: opts.timeoutMs ?? DEFAULT_OAUTH_TIMEOUT_MS,
      closed: this.#closed.signal,
    };
    this.#ctx = {
      server: opts.server,
      serverUrl: opts.serverUrl,
      settings: opts.settings,
      allowedPrivateHosts: opts.allowedPrivateHosts,
      http,
      repo: new RecordRepo(opts.store, { server: opts.server, owner: opts.owner ?? GATEWAY_OWNER }, logger),
      logger,
      now: opts.now ?? Date.now,
      random: opts.random ?? ((n) => getRandomValues(new Uint8Array(n))),
      redirectUri: () => opts.settings?.redirectUri ?? opts.redirectUri(),
      record: () => this.#record,
      adopt: (record) => this.#adopt(record),
      apply: (event, facts) => this.#apply(event, facts),
      challenge: () => this.#challenge,
      announce: (pending) => this.#pendingStates.announce(opts.pendingKey ?? opts.server, pending),
    };
    this.#authorizations = new Authorizations(this.#ctx, () => this.#stage);
    this.fetch = createUpstreamFetch({
      serverUrl: opts.serverUrl,
      fetch: opts.upstreamFetch ?? ((input, init) => baseFetch(input, init)),
      token: (signal, request) => this.#tokenToSend(signal, request),
      rejected: (tokens, challenge, signal, request) => this.#onRejected(tokens, challenge, signal, request),
      rejectedAgain: (tokens, challenge, request) => this.#onRejectedAgain(tokens, challenge, request),
      authRequired: (challenge, request) => this.#onAuthRequired(challenge, request),
      insufficientScope: (tokens, challenge, request) =>
        this.#authorizations.insufficientScope(tokens, challenge.scope, request),
      succeeded: (_tokens, request) => this.#authorizations.succeeded(request),
    });
  }

  get stage(): AuthStage {
    return this.#stage;
  }

  /** True while the last refresh failed for a passing reason (network, timeout, 5xx): tokens kept. */
  get refreshFailing(): boolean {
    return this.#refreshFailures > 0;
  }

  /** Secret-free view for the dashboard and the admin API. */
  status(): AuthStatus {
    return buildStatus({
      stage: this.#stage,
      log: this.#log.list(),
      record: this.#record,
      settings: this.#opts.settings,
      refresh: { failures: this.#refreshFailures, lastError: this.#lastRefreshError },
    });
  }

  /**
   * Loads persisted credentials and imports plaintext settings tokens (persisted through the store,
   * which encrypts). With `dynamicRegistration.enabled` and an `issuer`, discovers and registers now,
   * before any 401 (MCPHub's behaviour); a failure there shows in the stage, it does not throw.
   */
  async init(): Promise<void> {
    try {
      this.#adopt(await this.#ctx.repo.read());
    } catch (err) {
      if (!isGatehouseError(err, 'SECRETS_DECRYPT_FAILED')) throw err;
      // Only this upstream is affected; a person's Connect (or Disconnect) replaces the record.
      this.#apply({ type: 'fail', code: err.code, message: err.message });
      return;
    }
    const imported = await importPlaintextTokens(this.#ctx);
    if (imported)
      this.#ctx.logger.info({}, 'imported plaintext tokens from the settings into the credential store');
    await registerAtStartUp(this.#ctx);
    const tokens = this.#record.tokens;
    if (tokens)
      this.#apply(
        { type: 'authorized', expiresAt: tokens.expiresAt, via: imported ? 'import' : 'restore' },
        { scopesGranted: [...tokens.scopes] },
      );
  }

  /**
   * The URL a person opens to authorize: the one already waiting for them (a pending step-up keeps
   * its scopes), else a new authorization, with discovery and registration as needed. After
   * `OAUTH_STEP_UP_LIMIT` this is how a person starts over. `scopes` asks for exactly those.
   */
  async startAuthorization(opts: { scopes?: string[] } = {}): Promise<{ authorizationUrl: string }> {
    await this.#replaceUnreadable();
    return { authorizationUrl: await this.#authorizations.start(opts.scopes) };
  }

  /**
   * The redirect back from the authorization server: `state` (single use, 10 minutes), RFC 9207
   * `iss`, code exchange, tokens persisted.
   * @throws GatehouseError `OAUTH_STATE_INVALID` (nothing changes), `OAUTH_ISS_MISMATCH`,
   *   `OAUTH_CALLBACK_ERROR`, `OAUTH_TOKEN_EXCHANGE_FAILED`
   */
  async handleCallback(params: URLSearchParams): Promise<void> {
    await completeCallback(this.#ctx, params);
    // Counted before any request can use the new token: the reconnect that `authorized` starts
    // needs network I/O, this continuation does not.
    this.#authorizations.completed();
  }

  /**
   * Another replica wrote this engine's record (a shared store's change feed): take it when it is
   * newer. New tokens it holds while this engine has none in use (a person's authorization whose
   * callback landed there) make this engine authorized as if the callback had landed here; a refresh
   * there only replaces the token this engine sends, so it does not refresh that expiry again.
   */
  async reload(): Promise<void> {
    let record: EngineRecord;
    try {
      record = await this.#ctx.repo.read();
    } catch (err) {
      const { code } = toGatehouseError(err);
      this.#ctx.logger.warn({ code }, 'reading the record another replica wrote failed');
      return;
    }
    if (record.generation <= this.#record.generation) return;
    const before = this.#record.tokens?.generation;
    this.#adopt(record);
    const tokens = usable(record.tokens);
    const stage = this.#stage.kind;
    if (!tokens || tokens.generation === before) return;
    if (stage === 'authorized' || stage === 'refreshing' || stage === 'exchanging') return;
    // The exchange happened elsewhere; here the stage goes the same way (exchanging → authorized).
    if (stage !== 'unauthenticated' && stage !== 'failed') this.#apply({ type: 'exchange' });
    this.#apply(
      {
        type: 'authorized',
        expiresAt: tokens.expiresAt,
        via: tokens.lastRefreshAt === null ? 'exchange' : 'refresh',
      },
      { scopesGranted: [...tokens.scopes] },
    );
    this.#authorizations.completed();
  }

  /** RFC 7009 revocation when the server offers it, then forget the tokens (the client stays registered). */
  async disconnect(): Promise<void> {
    this.#authorizations.clear();
    await this.#replaceUnreadable();
    await revokeAndForget(this.#ctx);
  }

  /** Aborts the engine's own outbound requests and stops stage notifications. Nothing else runs on timers. */
  close(): void {
    this.#closed.abort(new GatehouseError('UPSTREAM_CLOSED', `${this.#opts.server} was closed`));
    this.#guardedHttp?.close();
    this.#pendingStates.forget(this.#opts.pendingKey ?? this.#opts.server);
  }

  // --- the fetch wrapper's hooks -------------------------------------------------------------

  async #tokenToSend(
    signal: AbortSignal | undefined,
    request: () => string,
  ): Promise<StoredTokens | undefined> {
    const tokens = this.#record.tokens;
    const now = this.#ctx.now();
    if (!tokens?.refreshToken || !isStale(tokens, now)) return usable(tokens);
    try {
      return await raceAbort(this.#refresh(tokens.generation), signal);
    } catch (err) {
      if (signal?.aborted) throw err;
      if (needsPerson(err)) return this.#reauthorize('expired', tokens.generation, request(), err);
      // A passing failure (network, timeout, 5xx): an access token that is still valid goes out,
      // one that has expired would only earn a 401, so the caller gets the failure to retry on.
      if (tokens.expiresAt !== null && tokens.expiresAt <= now) throw err;
      this.#ctx.logger.warn({ code: isGatehouseError(err) ? err.code : 'INTERNAL' }, 'early refresh failed');
      return usable(this.#record.tokens);
    }
  }

  async #onRejected(
    tokens: StoredTokens,
    challenge: BearerChallenge,
    signal: AbortSignal | undefined,
    request: string,
  ): Promise<StoredTokens> {
    this.#challenge = { ...this.#challenge, ...challenge };
    const current = this.#record.tokens;
    if (current && current.generation > tokens.generation) return current; // someone got a newer one
    if (!tokens.refreshToken) return this.#reauthorize('expired', tokens.generation, request);
    try {
      return await raceAbort(this.#refresh(tokens.generation), signal);
    } catch (err) {
      if (!signal?.aborted && needsPerson(err))
        return this.#reauthorize('revoked', tokens.generation, request, err);
      throw err;
    }
  }

  #onRejectedAgain(
    tokens: StoredTokens | undefined,
    challenge: BearerChallenge,
    request: string,
  ): Promise<never> {
    this.#challenge = { ...this.#challenge, ...challenge };
    return this.#reauthorize('revoked', tokens?.generation ?? this.#record.generation, request);
  }

  #onAuthRequired(challenge: BearerChallenge, request: string): Promise<never> {
    this.#challenge = challenge;
    return this.#authorizations.required('required', request);
  }

  // --- internals -------------------------------------------------------------------------------

  /** Single-flight refresh: concurrent callers share one run; a newer token already known wins. */
  #refresh(seenGeneration: number): Promise<StoredTokens> {
    const current = this.#record.tokens;
    if (current && current.generation > seenGeneration) return Promise.resolve(current);
    this.#refreshing ??= refreshUnderLock(this.#ctx, seenGeneration)
      .then(
        (tokens) => {
          this.#refreshFailures = 0;
          return tokens;
        },
        (err: unknown) => {
          if (!needsPerson(err)) {
            const { code, message } = toGatehouseError(err, 'OAUTH_REFRESH_FAILED');
            this.#refreshFailures++;
            this.#lastRefreshError = { at: this.#ctx.now(), code, message };
          }
          throw err;
        },
      )
      .finally(() => {
        this.#refreshing = undefined;
      });
    return this.#refreshing;
  }

  /** The token of `generation` is useless: forget it, prepare an authorization, throw UPSTREAM_AUTH_REQUIRED. */
  async #reauthorize(
    reason: AuthorizationReason,
    generation: number,
    request: string,
    cause?: unknown,
  ): Promise<never> {
    await forgetTokens(this.#ctx, generation, { client: isGatehouseError(cause, 'OAUTH_CLIENT_REJECTED') });
    return this.#authorizations.required(reason, request, cause);
  }

  /** A person asked to start over: a stored record that no longer decrypts is replaced, not read. */
  async #replaceUnreadable(): Promise<void> {
    if (await this.#ctx.repo.discardUnreadable()) {
      this.#ctx.logger.warn({}, 'the stored credential could not be decrypted and was discarded');
      this.#record = emptyRecord();
    }
  }

  #adopt(record: EngineRecord): void {
    if (record.generation < this.#record.generation) return;
    this.#record = record;
    this.#pendingStates.set(
      this.#opts.pendingKey ?? this.#opts.server,
      record.pending.map((p) => p.state),
    );
  }

  /** The one place the stage changes; `learned` goes into the log entry as its facts. */
  #apply(event: StageEvent, learned?: AuthFacts): void {
    const next = transition(this.#stage, event);
    if (!next) {
      this.#ctx.logger.debug({ from: this.#stage.kind, event: event.type }, 'auth stage event ignored');
      return;
    }
    this.#stage = next;
    const facts = entryFacts(event, learned);
    this.#log.append({
      at: this.#ctx.now(),
      stage: next.kind,
      detail: describe(event),
      ...(facts ? { facts } : {}),
    });
    this.#ctx.logger.info({ stage: next.kind }, describe(event));
    if (!this.#closed.signal.aborted) this.#opts.onStageChange?.(next, event);
  }
}

/** Imported settings may hold only a refresh token; an empty access token is never sent. */
function usable(tokens: StoredTokens | undefined): StoredTokens | undefined {
  return tokens && tokens.accessToken !== '' ? tokens : undefined;
}
