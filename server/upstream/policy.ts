import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SseError } from '@modelcontextprotocol/sdk/client/sse.js';
import { GatehouseError, isGatehouseError } from '../errors.js';
import type { Timeouts } from '../settings/types.js';

/**
 * What a failure of an upstream means for its connection. Pure: the caller owns the I/O and the
 * retry timer.
 */
export type FailureKind =
  | { kind: 'auth-required'; error: GatehouseError }
  | { kind: 'session-expired'; error: GatehouseError }
  | { kind: 'retry'; error: GatehouseError }
  | { kind: 'request-failed'; error: McpError };

/** Classifies an error thrown by the SDK client, a transport or the OAuth engine's fetch. */
export function classifyFailure(error: unknown): FailureKind {
  if (isGatehouseError(error)) {
    if (
      error.code === 'UPSTREAM_AUTH_REQUIRED' ||
      error.code === 'OAUTH_INSUFFICIENT_SCOPE' ||
      // A person has to type credentials in: no retry loop, the manager reconnects once they are set.
      error.code === 'UPSTREAM_CREDENTIALS_REQUIRED'
    ) {
      return { kind: 'auth-required', error };
    }
    return { kind: 'retry', error };
  }
  const status = httpStatusOf(error);
  if (status === 401) {
    return { kind: 'auth-required', error: wrap('UPSTREAM_AUTH_REQUIRED', 'the server answered 401', error) };
  }
  // MCP spec (Streamable HTTP, session management): a 404 for a request carrying a session ID
  // means the session ended and the client MUST start a new one with a fresh initialize.
  if (status === 404 && error instanceof StreamableHTTPError) {
    return { kind: 'session-expired', error: wrap('UPSTREAM_CLOSED', 'the upstream session expired', error) };
  }
  if (status !== undefined) {
    return {
      kind: 'retry',
      error: wrap('UPSTREAM_HTTP_ERROR', `HTTP ${status}: ${messageOf(error)}`, error),
    };
  }
  if (error instanceof McpError) {
    if (error.code === ErrorCode.RequestTimeout) {
      return { kind: 'retry', error: wrap('UPSTREAM_TIMEOUT', messageOf(error), error) };
    }
    if (error.code === ErrorCode.ConnectionClosed) {
      return { kind: 'retry', error: wrap('UPSTREAM_CLOSED', messageOf(error), error) };
    }
    // A JSON-RPC error the upstream answered on purpose: the connection is fine.
    return { kind: 'request-failed', error };
  }
  return { kind: 'retry', error: wrap('UPSTREAM_CONNECT_FAILED', messageOf(error), error) };
}

/**
 * MCP spec (transports, backwards compatibility): a client that POSTs an InitializeRequest and gets
 * a 4xx (other than 401, which is an auth challenge) should try the old HTTP+SSE transport.
 */
export function shouldFallBackToSse(error: unknown): boolean {
  const status = isGatehouseError(error, 'UPSTREAM_NOT_MCP')
    ? initializeAnswer(error)?.status
    : error instanceof StreamableHTTPError
      ? httpStatusOf(error)
      : undefined;
  return status !== undefined && status >= 400 && status < 500 && status !== 401;
}

/**
 * The error to show once both Streamable HTTP and then SSE failed (a bare `url`): what the first
 * attempt saw when it showed the URL is not an MCP endpoint, unless the SSE attempt needs
 * authorization (then it is an SSE endpoint after all); otherwise the SSE attempt's own error.
 */
export function errorAfterFallback(streamable: unknown, sse: unknown): unknown {
  if (isGatehouseError(streamable, 'UPSTREAM_NOT_MCP') && classifyFailure(sse).kind === 'retry') {
    return streamable;
  }
  return sse;
}

/** The first answer of a connection attempt, as far as it tells what the URL serves. */
export interface FirstAnswer {
  /** POST: Streamable HTTP's initialize request; GET: the legacy SSE stream. */
  method: 'POST' | 'GET';
  status: number;
  /** The media type without parameters, lowercased; undefined when the answer named none. */
  contentType: string | undefined;
}

/** Statuses about access or load, which say nothing about what the URL serves. */
const NO_VERDICT_STATUSES = new Set([401, 403, 407, 408, 429, 502, 503, 504]);

/**
 * Whether a first answer shows that the URL is not an MCP endpoint: an HTML page whatever its
 * status (a web site, a framework's 404 or 501 page), any 404, or a success in a content type
 * the transport does not speak (MCP transports: JSON or SSE for a POST, SSE for the GET stream).
 * Only for the first request: later, a 404 means an expired session.
 */
export function isNotMcpAnswer(answer: FirstAnswer): boolean {
  if (NO_VERDICT_STATUSES.has(answer.status)) return false;
  const type = answer.contentType;
  if (type === 'text/html' || type === 'application/xhtml+xml' || answer.status === 404) return true;
  if (answer.status < 200 || answer.status >= 300) return false;
  if (type === 'text/event-stream') return false;
  return answer.method === 'GET' || type !== 'application/json';
}

/**
 * `UPSTREAM_NOT_MCP`, naming what the URL answered (never its body: an HTML page is no message
 * for the dashboard), with the answer in `details` for the fallback decision.
 */
export function notMcpEndpoint(answer: FirstAnswer, cause?: unknown): GatehouseError {
  const type = answer.contentType ?? 'with no content type';
  return new GatehouseError(
    'UPSTREAM_NOT_MCP',
    `this URL does not look like an MCP endpoint (it answered ${answer.status} ${type}); check the path`,
    { cause, details: { ...answer } },
  );
}

/** What the initialize POST was answered, from an `UPSTREAM_NOT_MCP` error's details. */
function initializeAnswer(error: GatehouseError): FirstAnswer | undefined {
  const details = error.details as Partial<FirstAnswer> | undefined;
  return details?.method === 'POST' && typeof details.status === 'number'
    ? (details as FirstAnswer)
    : undefined;
}

function httpStatusOf(error: unknown): number | undefined {
  if (error instanceof StreamableHTTPError || error instanceof SseError) {
    const code = error.code;
    return typeof code === 'number' && code >= 100 && code < 600 ? code : undefined;
  }
  return undefined;
}

function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause;
  // fetch failures hide the useful part (ECONNREFUSED, ENOTFOUND) in `cause`.
  if (cause instanceof Error && cause.message && !error.message.includes(cause.message)) {
    return `${error.message}: ${cause.message}`;
  }
  return error.message;
}

function wrap(code: GatehouseError['code'], message: string, cause: unknown): GatehouseError {
  return new GatehouseError(code, message, { cause });
}

/**
 * Exponential backoff with "equal jitter": half the delay fixed, half random, capped.
 * attempt 0 is the first retry.
 */
export function backoffDelay(attempt: number, timeouts: Timeouts, random: () => number): number {
  const exp = Math.min(timeouts.maxBackoffMs, timeouts.initialBackoffMs * 2 ** Math.min(attempt, 30));
  return Math.round(exp / 2 + random() * (exp / 2));
}
