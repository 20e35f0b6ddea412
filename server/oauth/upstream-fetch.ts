/**
 * The fetch the SDK's client transports use for one upstream (`engine.fetch`). It replays a request
 * after a refresh, adds the Bearer token only on the upstream's own origin, and hands every auth
 * outcome to the engine (`UpstreamAuth`). What to do about a response is decided by
 * `classifyResponse`; what happens next (refresh, re-authorization) is the engine's.
 */
import type { FetchLike } from '../security/ssrf.js';
import { classifyResponse, readBearerChallenge, type BearerChallenge } from './challenge.js';
import type { StoredTokens } from './record.js';

export type UpstreamFetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/**
 * What the engine does for the fetch wrapper. Every `Promise<never>` method throws a GatehouseError.
 * `request` names the request (`requestKey`), so authorizations can be counted per request; on the
 * paths every request takes it is a memoized thunk, because naming a request means parsing its body
 * and is needed only when an authorization is under way.
 */
export interface UpstreamAuth {
  serverUrl: string;
  /** The plain fetch for the upstream's own traffic (the person configured that URL). */
  fetch: FetchLike;
  /** The token to send now, refreshed first when stale; undefined when there is none. */
  token(signal: AbortSignal | undefined, request: () => string): Promise<StoredTokens | undefined>;
  /** A 401 for a sent token: a fresh token to retry with once, or a throw. */
  rejected(
    tokens: StoredTokens,
    challenge: BearerChallenge,
    signal: AbortSignal | undefined,
    request: string,
  ): Promise<StoredTokens>;
  /** The retry with a fresh token got a 401 too: re-authorize and throw `UPSTREAM_AUTH_REQUIRED`. */
  rejectedAgain(
    tokens: StoredTokens | undefined,
    challenge: BearerChallenge,
    request: string,
  ): Promise<never>;
  /** A 401 without a token: prepare an authorization and throw `UPSTREAM_AUTH_REQUIRED`. */
  authRequired(challenge: BearerChallenge, request: string): Promise<never>;
  /** A 403 `insufficient_scope`: prepare a step-up and throw `OAUTH_INSUFFICIENT_SCOPE`. */
  insufficientScope(
    tokens: StoredTokens | undefined,
    challenge: BearerChallenge,
    request: string,
  ): Promise<never>;
  /** A response that needed nothing more. */
  succeeded(tokens: StoredTokens | undefined, request: () => string): void;
}

/** A request that can be sent more than once: the body is buffered before the first send. */
interface Replayable {
  url: URL;
  init: RequestInit;
  signal: AbortSignal | undefined;
}

export function createUpstreamFetch(auth: UpstreamAuth): UpstreamFetch {
  const origin = new URL(auth.serverUrl).origin;
  return async (input, init) => {
    const request = await replayable(input, init);
    // A token is only ever sent to its own upstream's origin (MCP spec, "Token Handling").
    if (request.url.origin !== origin) return auth.fetch(request.url, request.init);

    let name: string | undefined;
    const key = () => (name ??= requestKey(request));
    let tokens = await auth.token(request.signal, key);
    for (let retried = false; ; retried = true) {
      const response = await send(auth.fetch, request, tokens);
      const verdict = await classify(response, tokens);
      if (verdict.kind === 'ok') {
        auth.succeeded(tokens, key);
        return response;
      }
      await discard(response);
      switch (verdict.kind) {
        case 'auth-required':
          return auth.authRequired(verdict.challenge, key());
        case 'token-rejected':
          // classify() says token-rejected and insufficient-scope only when a token was sent.
          if (!tokens || retried) return auth.rejectedAgain(tokens, verdict.challenge, key());
          tokens = await auth.rejected(tokens, verdict.challenge, request.signal, key());
          continue;
        case 'insufficient-scope':
          return auth.insufficientScope(tokens, verdict.challenge, key());
        default: {
          const unreachable: never = verdict;
          return unreachable;
        }
      }
    }
  };
}

/**
 * Which request this is, to count the authorizations it needed (step-up.ts): its JSON-RPC method
 * with the tool or prompt name or resource URI (a batch joins them), else HTTP method and path (an
 * SSE stream's GET). Bodies are the SDK transports' JSON text; anything else falls back too.
 */
export function requestKey(request: { url: URL; init: RequestInit }): string {
  const fallback = `${(request.init.method ?? 'GET').toUpperCase()} ${request.url.pathname}`;
  const body = request.init.body;
  let text: string | undefined;
  if (typeof body === 'string') text = body;
  else if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) text = new TextDecoder().decode(body);
  if (text === undefined) return fallback;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return fallback;
  }
  const names = (Array.isArray(parsed) ? parsed : [parsed]).flatMap((message: unknown) => {
    const m = (message ?? {}) as { method?: unknown; params?: { name?: unknown; uri?: unknown } };
    if (typeof m.method !== 'string') return [];
    const target = m.params?.name ?? m.params?.uri;
    return [typeof target === 'string' ? `${m.method} ${target}` : m.method];
  });
  return names.length > 0 ? names.join(',') : fallback;
}

async function classify(response: Response, tokens: StoredTokens | undefined) {
  const challenge =
    response.status === 401 || response.status === 403 ? await readBearerChallenge(response) : undefined;
  return classifyResponse(response.status, challenge, tokens !== undefined);
}

function send(fetchFn: FetchLike, request: Replayable, tokens: StoredTokens | undefined): Promise<Response> {
  // The SDK transports give every request the same long-lived signal; undici keeps one abort
  // listener on it per request until that request is garbage-collected, and each new request
  // walks them all. A per-request signal that follows the caller's keeps that list short.
  const signal = request.signal ? AbortSignal.any([request.signal]) : undefined;
  if (!tokens) return fetchFn(request.url, { ...request.init, signal });
  const headers = new Headers(request.init.headers);
  // RFC 6750 §2.1; MCP spec: in every request, never in the query string.
  headers.set('authorization', `Bearer ${tokens.accessToken}`);
  // A followed redirect could carry the token to another origin: hand redirects to the caller
  // (the SDK's default redirect policy follows same-origin ones through this fetch again).
  const redirect = request.init.redirect === 'error' ? 'error' : 'manual';
  return fetchFn(request.url, { ...request.init, headers, redirect, signal });
}

/** Copies what a Request or init carries, buffering a stream body so it can be sent again. */
async function replayable(input: string | URL | Request, init: RequestInit | undefined): Promise<Replayable> {
  if (input instanceof Request) {
    const body = input.body ? await input.arrayBuffer() : null;
    const merged: RequestInit = {
      method: input.method,
      headers: new Headers(input.headers),
      body,
      redirect: input.redirect,
      signal: input.signal,
      ...init,
    };
    return { url: new URL(input.url), init: merged, signal: merged.signal ?? undefined };
  }
  const body =
    init?.body instanceof ReadableStream ? await new Response(init.body).arrayBuffer() : init?.body;
  const { duplex: _duplex, ...rest } = (init ?? {}) as RequestInit & { duplex?: string };
  const copy: RequestInit = { ...rest, ...(body !== undefined ? { body } : {}) };
  return { url: new URL(String(input)), init: copy, signal: copy.signal ?? undefined };
}

async function discard(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => undefined);
}
