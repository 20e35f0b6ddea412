/**
 * Outbound HTTP for the OAuth steps, and the one place library errors become GatehouseErrors.
 * Every request gets a signal that fires on timeout or when the engine closes (STYLE.md rule 7);
 * a request that gets no answer in time fails with `OAUTH_TIMEOUT`, naming the URL it waited for.
 * Every answer is read whole and checked for absurd nesting before a parser walks it.
 */
import * as oauth from 'oauth4webapi';

import { GatehouseError, type ErrorCode } from '../errors.js';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../json-depth.js';
import type { FetchLike } from '../security/ssrf.js';

/** Per outbound OAuth request (discovery, registration, token, revocation), unless configured. */
export const DEFAULT_OAUTH_TIMEOUT_MS = 10_000;

export interface OAuthHttp {
  /** The SSRF-guarded fetch (server/security/ssrf.ts). */
  fetch: FetchLike;
  /** Per outbound request, the answer's body included. */
  timeoutMs: number;
  /** Fires when the engine closes. */
  closed: AbortSignal;
}

/** A fresh signal for one outbound request. */
export function requestSignal(http: OAuthHttp): AbortSignal {
  return AbortSignal.any([AbortSignal.timeout(http.timeoutMs), http.closed]);
}

/**
 * The transport options every oauth4webapi call gets. Plain HTTP is allowed at the library level
 * because the SSRF guard enforces the real rule (loopback or `allowedPrivateHosts` only).
 */
export function libraryOptions(http: OAuthHttp) {
  return {
    signal: () => requestSignal(http),
    [oauth.customFetch]: (
      url: string,
      o: { method: string; headers: Record<string, string>; body?: BodyInit | null; signal?: AbortSignal },
    ) =>
      send(http, url, {
        method: o.method,
        headers: o.headers,
        body: o.body ?? null,
        signal: o.signal ?? requestSignal(http),
      }),
    // Deprecated only to make it stand out; the guard above is the policy.
    [oauth.allowInsecureRequests]: true,
  };
}

/** GET a JSON document (metadata) through the guard. */
export function getJson(http: OAuthHttp, url: string): Promise<Response> {
  return send(http, url, { headers: { accept: 'application/json' }, signal: requestSignal(http) });
}

/**
 * One request through the guard, its answer read whole within the same time limit. A body nested
 * deeper than MAX_JSON_DEPTH is refused: the library's parser, structuredClone and JSON.stringify
 * all recurse, and metadata is stored whole.
 * @throws GatehouseError `OAUTH_TIMEOUT` naming `url`; `OAUTH_PROTOCOL_ERROR` for absurd nesting;
 *   the guard's refusals; TypeError for network errors
 */
async function send(
  http: OAuthHttp,
  url: string,
  init: RequestInit & { signal: AbortSignal },
): Promise<Response> {
  try {
    const response = await http.fetch(url, init);
    const body = response.body && !NULL_BODY_STATUSES.has(response.status) ? await response.text() : null;
    if (body !== null && nestsDeeperThan(body, MAX_JSON_DEPTH)) {
      throw new GatehouseError(
        'OAUTH_PROTOCOL_ERROR',
        `The answer from ${url} nests deeper than ${MAX_JSON_DEPTH} levels; refusing to read it`,
        { details: { url } },
      );
    }
    return new Response(body, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  } catch (err) {
    if (isTimeout(err) && !http.closed.aborted) {
      throw new GatehouseError(
        'OAUTH_TIMEOUT',
        `No answer from ${url} within ${formatSeconds(http.timeoutMs)}`,
        { details: { url } },
      );
    }
    throw err;
  }
}

/** Fetch's null body statuses: a Response with one of these cannot be given a body. */
const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

function isTimeout(err: unknown): boolean {
  return err instanceof DOMException && err.name === 'TimeoutError';
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

/** Waits for `promise`, but gives up (rejecting with the signal's reason) when `signal` aborts. */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | null | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/** The OAuth `error` code of a token/registration error response (RFC 6749 §5.2), if any. */
export function oauthErrorCode(err: unknown): string | undefined {
  return err instanceof oauth.ResponseBodyError ? err.error : undefined;
}

/**
 * Maps whatever a step threw to a GatehouseError with `code`. Messages carry our words, HTTP
 * statuses and sanitised OAuth error codes only: never bodies, descriptions, tokens or secrets.
 */
export function toOAuthError(err: unknown, code: ErrorCode, step: string): GatehouseError {
  if (err instanceof GatehouseError) return err;
  // The library's errors can hold whole response bodies (a token response, say) in `cause`: keep
  // only a summary in the chain, so no logger ever serialises a token.
  const summary = libraryCause(err);
  const fail = (reason: string, details?: Record<string, unknown>) =>
    new GatehouseError(code, `${step} failed: ${reason}`, {
      cause: summary,
      ...(details ? { details } : {}),
    });
  if (err instanceof oauth.ResponseBodyError) {
    return fail(`the server answered ${err.status} ${safe(err.error)}`, { oauthError: safe(err.error) });
  }
  if (err instanceof oauth.AuthorizationResponseError) {
    return fail(`the authorization server returned ${safe(err.error)}`, { oauthError: safe(err.error) });
  }
  if (err instanceof oauth.WWWAuthenticateChallengeError) {
    return fail(`the server answered ${err.status} with an authentication challenge`);
  }
  if (err instanceof oauth.OperationProcessingError || err instanceof oauth.UnsupportedOperationError) {
    return fail(`invalid response (${safe(err.code ?? 'unknown')})`);
  }
  if (isTimeout(err)) {
    return new GatehouseError('OAUTH_TIMEOUT', `${step} failed: no answer in time`, { cause: summary });
  }
  if (err instanceof DOMException && err.name === 'AbortError') return fail('cancelled');
  if (err instanceof TypeError) return fail('network error');
  return fail('unexpected error');
}

/**
 * What of a library error may go into a `cause` chain: its class and stable code. oauth4webapi's
 * errors carry response bodies and callback parameters (tokens, codes) in their own `cause`.
 */
export function libraryCause(err: unknown): Error | undefined {
  if (!(err instanceof Error)) return undefined;
  const code = (err as { code?: unknown }).code;
  return new Error(`${err.name}: ${typeof code === 'string' ? safe(code) : 'no code'}`);
}

/** Keeps an attacker-supplied code readable and harmless: token characters only, bounded. */
function safe(value: string): string {
  return value.replace(/[^\w.:-]/g, '?').slice(0, 64);
}
