/**
 * The engine's multi-step operations, each one OAuth step file after another with the results
 * persisted: find the server and client, prepare an authorization, complete a callback, refresh.
 * They read and change the engine's state only through `FlowContext`.
 */
import { GatehouseError, isGatehouseError, toGatehouseError } from '../errors.js';
import type { Logger } from '../log.js';
import type { OAuthSettings } from '../settings/types.js';
import { addPending, createAuthorization } from './authorize.js';
import { stateError, takePending, validateCallback, type PendingLookup } from './callback.js';
import type { BearerChallenge } from './challenge.js';
import { discover } from './discovery.js';
import { authorizationFacts, bindingFacts, type AuthFacts, type AuthStep } from './facts.js';
import type { OAuthHttp } from './http.js';
import type {
  EngineRecord,
  PendingAuthorization,
  RecordRepo,
  ServerBinding,
  StoredTokens,
} from './record.js';
import {
  chooseClient,
  cimdClient,
  dynamicClient,
  existingClient,
  noClientError,
  registerClient,
  staticClient,
  type ResolvedClient,
} from './registration.js';
import { selectScopes } from './scopes.js';
import type { AuthorizationReason, StageEvent } from './stage.js';
import { exchangeCode, refreshTokens, toStoredTokens } from './tokens.js';

export interface FlowContext {
  server: string;
  serverUrl: string;
  settings: OAuthSettings | undefined;
  allowedPrivateHosts: readonly string[];
  http: OAuthHttp;
  repo: RecordRepo;
  logger: Logger;
  now(): number;
  random(bytes: number): Uint8Array;
  redirectUri(): string;
  /** The last record the engine knows. */
  record(): EngineRecord;
  /** Takes a record just read or written, unless the engine already knows a newer one. */
  adopt(record: EngineRecord): void;
  /** Changes the stage; `facts` is what the step learned, for the event log (facts.ts). */
  apply(event: StageEvent, facts?: AuthFacts): void;
  /** The last challenge the upstream sent. */
  challenge(): BearerChallenge | undefined;
  /** Files a new authorization's state where every replica's callback finds it (pending-index.ts). */
  announce(pending: PendingAuthorization): Promise<void>;
}

/**
 * The authorization server binding: the stored one, or a fresh discovery (persisted). `quiet`
 * keeps the stage as it is (a refresh of imported tokens discovers in passing).
 */
export async function ensureBinding(
  ctx: FlowContext,
  rediscover: boolean,
  quiet = false,
): Promise<ServerBinding> {
  const known = ctx.record().server;
  if (known && !rediscover) return known;
  if (!quiet) ctx.apply({ type: 'discover' });
  const binding = await discover({
    serverUrl: ctx.serverUrl,
    settings: ctx.settings,
    challenge: ctx.challenge(),
    http: ctx.http,
    now: ctx.now(),
    allowedPrivateHosts: ctx.allowedPrivateHosts,
  });
  const { record } = await ctx.repo.update((rec) => ({
    next: { ...rec, server: binding },
    result: undefined,
  }));
  ctx.adopt(record);
  return binding;
}

/** The client for `binding`, registering one (and persisting it) when that is the way. */
export async function ensureClient(ctx: FlowContext, binding: ServerBinding): Promise<ResolvedClient> {
  const { metadata } = binding;
  const choice = chooseClient({
    settings: ctx.settings,
    metadata,
    stored: ctx.record().client,
    redirectUri: ctx.redirectUri(),
    now: ctx.now(),
  });
  switch (choice.kind) {
    case 'static':
      return staticClient(choice, metadata);
    case 'cimd':
      return cimdClient(choice.url, metadata);
    case 'reuse':
      return dynamicClient(choice.client);
    case 'register': {
      ctx.apply({ type: 'register' }, bindingFacts(binding));
      const registered = await registerClient({
        http: ctx.http,
        metadata,
        redirectUri: ctx.redirectUri(),
        settings: ctx.settings,
        now: ctx.now(),
      });
      const seen = ctx.record().client?.clientId;
      const { result: client, record } = await ctx.repo.update((rec) => {
        // Another replica sharing the store registered one meanwhile: all use that one, or the
        // authorization one of them starts would not match the client the other stored.
        const theirs = rec.client;
        if (theirs && theirs.clientId !== seen && theirs.issuer === registered.issuer) {
          if (theirs.redirectUri === registered.redirectUri) return { result: theirs };
        }
        return { next: { ...rec, client: registered }, result: registered };
      });
      ctx.adopt(record);
      ctx.logger.info({ issuer: metadata.issuer }, 'registered an OAuth client');
      return dynamicClient(client);
    }
    case 'none':
      throw noClientError(ctx.server, metadata.issuer);
    default: {
      const unreachable: never = choice;
      return unreachable;
    }
  }
}

/**
 * Discovery (when asked or unknown) → client → a new pending authorization → `awaiting_user`.
 * `scopes` overrides the scope selection (step-up, an explicit request). Failures move the stage to
 * `failed` with their code and are rethrown.
 */
export async function prepareAuthorization(
  ctx: FlowContext,
  options: { reason: AuthorizationReason; rediscover: boolean; scopes?: readonly string[] | undefined },
): Promise<{ url: string; expiresAt: number }> {
  let step: AuthStep = 'discovery';
  let learned: AuthFacts | undefined;
  try {
    const binding = await ensureBinding(ctx, options.rediscover);
    step = 'registration';
    learned = bindingFacts(binding);
    const client = await ensureClient(ctx, binding);
    step = 'authorization';
    learned = { ...learned, registration: client.method };
    const scopes = selectScopes({
      configured: options.scopes ?? ctx.settings?.scopes,
      challenged: ctx.challenge()?.scope,
      resourceSupported: binding.resourceScopes,
      serverSupported: binding.metadata.scopes_supported,
    });
    const { url, pending } = await createAuthorization({
      metadata: binding.metadata,
      client,
      redirectUri: ctx.redirectUri(),
      scopes,
      resource: binding.resource,
      allowedPrivateHosts: ctx.allowedPrivateHosts,
      now: ctx.now(),
      random: (n) => ctx.random(n),
    });
    const { record } = await ctx.repo.update((rec) => ({
      next: { ...rec, pending: addPending(rec.pending, pending, ctx.now()) },
      result: undefined,
    }));
    ctx.adopt(record);
    await ctx.announce(pending);
    ctx.apply(
      { type: 'await_user', authorizationUrl: url, expiresAt: pending.expiresAt, reason: options.reason },
      authorizationFacts(binding, client, scopes),
    );
    return { url, expiresAt: pending.expiresAt };
  } catch (err) {
    throw failWith(ctx, err, 'OAUTH_DISCOVERY_FAILED', step, learned);
  }
}

/**
 * Consumes the pending authorization named by `state` (single use, expiry), validates the response
 * (RFC 9207 `iss`), exchanges the code and persists the tokens. An unknown or expired state changes
 * nothing but the pending list.
 */
export async function completeCallback(ctx: FlowContext, params: URLSearchParams): Promise<StoredTokens> {
  const { result: lookup, record: afterTake } = await ctx.repo.update<PendingLookup>((rec) => {
    const found = takePending(rec.pending, params.get('state'), ctx.now());
    return found.kind === 'unknown'
      ? { result: found }
      : { next: { ...rec, pending: found.rest }, result: found };
  });
  ctx.adopt(afterTake);
  if (lookup.kind !== 'found') throw stateError(ctx.server, lookup.kind);
  const { pending } = lookup;
  ctx.apply({ type: 'exchange' });
  let step: AuthStep = 'token_exchange';
  try {
    const metadata = afterTake.server?.metadata;
    const client = metadata
      ? existingClient({
          clientId: pending.clientId,
          settings: ctx.settings,
          metadata,
          stored: afterTake.client,
        })
      : undefined;
    if (!metadata || metadata.issuer !== pending.issuer || !client) {
      throw new GatehouseError(
        'OAUTH_TOKEN_EXCHANGE_FAILED',
        `${ctx.server}: the authorization server or client changed since this authorization started; start it again`,
      );
    }
    // An error the authorization server sent back, or a response from another issuer, is the
    // authorization's failure; everything after it is the token exchange's.
    step = 'authorization';
    const validated = validateCallback(metadata, client, params, pending);
    step = 'token_exchange';
    const response = await exchangeCode({ http: ctx.http, metadata, client, params: validated, pending });
    const { result, record } = await ctx.repo.update((rec) => {
      const tokens = toStoredTokens(response, {
        now: ctx.now(),
        requestedScopes: pending.scopes,
        issuer: metadata.issuer,
        resource: pending.resource,
        generation: rec.generation + 1,
        refreshed: false,
      });
      return { next: { ...rec, tokens }, result: tokens };
    });
    ctx.adopt(record);
    ctx.apply(
      { type: 'authorized', expiresAt: result.expiresAt, via: 'exchange' },
      { scopesGranted: [...result.scopes] },
    );
    return result;
  } catch (err) {
    throw failWith(ctx, err, 'OAUTH_TOKEN_EXCHANGE_FAILED', step);
  }
}

/**
 * One refresh under the per-upstream lock (DESIGN.md step 8). When the store already holds tokens
 * newer than `seenGeneration` (another caller, replica or a callback wrote them), those are returned
 * and the server is not asked: a stale result never overwrites a newer token, and a rotated refresh
 * token is never used twice.
 */
export async function refreshUnderLock(ctx: FlowContext, seenGeneration: number): Promise<StoredTokens> {
  ctx.apply({ type: 'refresh' });
  try {
    const binding = await ensureBinding(ctx, false, true);
    const { result, record } = await ctx.repo.update(async (rec) => {
      const stored = rec.tokens;
      if (stored && stored.generation > seenGeneration) return { result: stored };
      const metadata = rec.server?.metadata ?? binding.metadata;
      const client = existingClient({ settings: ctx.settings, metadata, stored: rec.client });
      if (!stored?.refreshToken || !client) {
        throw new GatehouseError(
          'OAUTH_INVALID_GRANT',
          'There is no refresh token or client to refresh with',
        );
      }
      const resource = stored.resource ?? rec.server?.resource ?? binding.resource;
      const response = await refreshTokens({
        http: ctx.http,
        metadata,
        client,
        refreshToken: stored.refreshToken,
        resource,
      });
      const tokens = toStoredTokens(response, {
        now: ctx.now(),
        requestedScopes: stored.scopes,
        previous: stored,
        issuer: metadata.issuer,
        resource,
        generation: rec.generation + 1,
        refreshed: true,
      });
      return { next: { ...rec, tokens }, result: tokens };
    });
    ctx.adopt(record);
    ctx.apply(
      { type: 'authorized', expiresAt: result.expiresAt, via: 'refresh' },
      { scopesGranted: [...result.scopes] },
    );
    return result;
  } catch (err) {
    const error = toGatehouseError(err, 'OAUTH_REFRESH_FAILED');
    // invalid_grant and a refused client are not failures to show: the caller moves on to a new
    // authorization. Anything else keeps the tokens (the stage goes back to authorized) and is
    // reported as OAUTH_REFRESH_FAILED, which the connection retries with its backoff.
    if (needsPerson(error)) throw error;
    const failure =
      error.code === 'OAUTH_REFRESH_FAILED'
        ? error
        : new GatehouseError('OAUTH_REFRESH_FAILED', `Refreshing the access token failed: ${error.message}`, {
            cause: error,
            details: { reason: error.code },
          });
    ctx.apply({
      type: 'refresh_failed',
      expiresAt: ctx.record().tokens?.expiresAt ?? null,
      code: failure.code,
      message: failure.message,
    });
    throw failure;
  }
}

/** A refresh refusal only a person can answer (RFC 6749 §5.2 `invalid_grant`, `invalid_client`). */
export function needsPerson(err: unknown): boolean {
  return isGatehouseError(err, 'OAUTH_INVALID_GRANT') || isGatehouseError(err, 'OAUTH_CLIENT_REJECTED');
}

/**
 * Forgets tokens of generation `upTo` or older (never newer ones written meanwhile). With
 * `client`, a dynamically registered client goes too (the token endpoint refused it), so the next
 * authorization registers a new one.
 */
export async function forgetTokens(
  ctx: FlowContext,
  upTo: number,
  options: { client?: boolean } = {},
): Promise<void> {
  const { record } = await ctx.repo.update((rec) => {
    if (!rec.tokens || rec.tokens.generation > upTo) return { result: undefined };
    const { tokens: _dropped, ...rest } = rec;
    if (options.client) delete rest.client;
    return { next: rest, result: undefined };
  });
  ctx.adopt(record);
}

/** Moves the stage to `failed` with the error's code and the step it belongs to; returns the error. */
function failWith(
  ctx: FlowContext,
  err: unknown,
  fallback: 'OAUTH_DISCOVERY_FAILED' | 'OAUTH_TOKEN_EXCHANGE_FAILED',
  step: AuthStep,
  learned?: AuthFacts,
) {
  const error = toGatehouseError(err, fallback);
  ctx.apply({ type: 'fail', code: error.code, message: error.message, step }, learned);
  return error;
}
