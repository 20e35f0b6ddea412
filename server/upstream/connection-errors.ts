import { GatehouseError } from '../errors.js';
import type { ConnectionState } from './connection.js';

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
      return new GatehouseError(
        state.error.code,
        `server "${server}" needs authorization: ${state.error.message}`,
        {
          details: { server },
        },
      );
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

/** Failures that mean the connection is gone, not that one request failed. */
export function isConnectionLost(error: GatehouseError): boolean {
  return error.code === 'UPSTREAM_CONNECT_FAILED' || error.code === 'UPSTREAM_CLOSED';
}
