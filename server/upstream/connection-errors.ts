import { GatehouseError } from '../errors.js';
import type { ConnectionState } from './state.js';

/** Why a request cannot go to an upstream now, naming the server and its state. */
export function unavailable(server: string, state: ConnectionState): GatehouseError {
  switch (state.status) {
    case 'disabled':
      return new GatehouseError('UPSTREAM_DISABLED', `server "${server}" is disabled`, {
        details: { server },
      });
    case 'connecting':
      return new GatehouseError('UPSTREAM_CONNECTING', `server "${server}" is still connecting`, {
        details: { server },
      });
    case 'auth_required':
      // The state's message already names the server and says it needs authorization.
      return new GatehouseError(state.error.code, state.error.message, { details: { server } });
    case 'error':
      return new GatehouseError(
        state.error.code,
        `server "${server}" is unavailable: ${state.error.message}`,
        {
          details: { server, nextRetryAt: state.nextRetryAt },
        },
      );
    case 'connected':
      return new GatehouseError('UPSTREAM_CLOSED', `server "${server}" has no live connection`, {
        details: { server },
      });
  }
}

/** The same error, with the server's name in its message and details. */
export function withServer(error: GatehouseError, server: string): GatehouseError {
  if (error.details?.server === server) return error;
  return new GatehouseError(error.code, `server "${server}": ${error.message}`, {
    cause: error.cause ?? error,
    details: { ...error.details, server },
  });
}

/**
 * Failures that leave the connection unusable, not just one request failed: the upstream is gone,
 * or its access token expired and could not be refreshed for now (the tokens are kept and the
 * reconnect, with its backoff, refreshes again).
 */
export function isConnectionLost(error: GatehouseError): boolean {
  return (
    error.code === 'UPSTREAM_CONNECT_FAILED' ||
    error.code === 'UPSTREAM_CLOSED' ||
    error.code === 'OAUTH_REFRESH_FAILED'
  );
}

/**
 * Whether the failure is a refused TCP connection (nothing listens there yet). Reads the errno
 * `code` along the cause chain (fetch hides it in `cause`), never the message.
 */
export function connectionRefused(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if ((e as NodeJS.ErrnoException).code === 'ECONNREFUSED') return true;
  }
  return false;
}

/** How many of a stdio child's last stderr lines an error that ended it carries. */
const STDERR_LINES_IN_ERROR = 5;

/**
 * A stdio child that ended says why on stderr (a wrong path, a missing module): the last of `lines`
 * (what it wrote since the attempt began) go into a closed or spawn error, as the detail view
 * already shows them. Other errors, and an empty stderr, come back as they are.
 */
export function withStderr(error: GatehouseError, lines: readonly string[]): GatehouseError {
  if (error.code !== 'UPSTREAM_CLOSED' && error.code !== 'UPSTREAM_SPAWN_FAILED') return error;
  const last = lines
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .slice(-STDERR_LINES_IN_ERROR);
  if (last.length === 0) return error;
  return new GatehouseError(error.code, `${error.message}; its last stderr lines: ${last.join(' | ')}`, {
    cause: error,
    details: { ...error.details, stderr: last },
  });
}
