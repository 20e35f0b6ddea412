/**
 * Outbound HTTP for the OAuth steps, and the one place library errors become GatehouseErrors.
 * Every request gets a signal that fires on timeout or when the engine closes (STYLE.md rule 7).
 */
import * as oauth from 'oauth4webapi';

import { GatehouseError, type ErrorCode } from '../errors.js';
import type { FetchLike } from '../security/ssrf.js';

export interface OAuthHttp {
  /** The SSRF-guarded fetch (server/security/ssrf.ts). */
  fetch: FetchLike;
  /** Per outbound request. */
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
      http.fetch(url, {
        method: o.method,
        headers: o.headers,
        body: o.body ?? null,
        signal: o.signal ?? null,
      }),
    // Deprecated only to make it stand out; the guard above is the policy.
    [oauth.allowInsecureRequests]: true,
  };
}

/** GET a JSON document (metadata) through the guard. */
export function getJson(http: OAuthHttp, url: string): Promise<Response> {
  return http.fetch(url, { headers: { accept: 'application/json' }, signal: requestSignal(http) });
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
  if (err instanceof DOMException && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
    return fail(err.name === 'TimeoutError' ? 'no answer in time' : 'cancelled');
  }
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
