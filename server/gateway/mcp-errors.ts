import { randomUUID } from 'node:crypto';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { isGatehouseError, rpcCodeOf } from '../errors.js';
import { plainErrorText } from '../upstream/mcp-error-text.js';

/**
 * A JSON-RPC error as the SDK's Server sends it (`code`, `message`, `data`). Unlike McpError it
 * does not prefix the message, so an error relayed through the gateway reads as it did upstream.
 */
export class RpcError extends Error {
  readonly code: number;
  readonly data: unknown;
  constructor(code: number, message: string, data?: unknown) {
    super(message);
    this.code = code;
    this.data = data;
  }
}

export interface McpErrorContext {
  clientSupportsUrlElicitation?: boolean;
  authorization?: { url?: string; how: string };
}

/**
 * Turns any failure into the error an inbound MCP client sees. Gatehouse's stable code and the
 * server name travel in `data`; an upstream's own JSON-RPC error passes through unchanged.
 * A server that needs authorization is reported with how to authorize it, and clients that
 * support URL elicitation are asked to open the authorization URL (MCP 2025-11-25, -32042).
 */
export function toMcpError(error: unknown, context: McpErrorContext = {}): RpcError {
  if (error instanceof McpError) {
    return new RpcError(error.code, plainErrorText(error.code, error.message), error.data);
  }
  if (error instanceof RpcError) return error;
  if (!isGatehouseError(error)) {
    return new RpcError(ErrorCode.InternalError, error instanceof Error ? error.message : String(error));
  }
  const server = typeof error.details?.server === 'string' ? error.details.server : undefined;
  const data = { code: error.code, ...(server ? { server } : {}) };
  const needsAuth = error.code === 'UPSTREAM_AUTH_REQUIRED' || error.code === 'OAUTH_INSUFFICIENT_SCOPE';
  if (needsAuth && context.authorization) {
    const message = `${error.message}. ${context.authorization.how}`;
    const url = context.authorization.url;
    if (context.clientSupportsUrlElicitation && url) {
      const elicitations = [{ mode: 'url', elicitationId: randomUUID(), url, message }];
      return new RpcError(ErrorCode.UrlElicitationRequired, message, { ...data, elicitations });
    }
    return new RpcError(ErrorCode.InternalError, message, {
      ...data,
      ...(url ? { authorizationUrl: url } : {}),
    });
  }
  return new RpcError(rpcCodeOf(error.code), error.message, data);
}
