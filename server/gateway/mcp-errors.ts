import { randomUUID } from 'node:crypto';
import { ErrorCode, McpError, UrlElicitationRequiredError } from '@modelcontextprotocol/sdk/types.js';
import { isGatehouseError, type ErrorCode as GatehouseCode } from '../errors.js';

const JSON_RPC_CODE: Partial<Record<GatehouseCode, number>> = {
  TOOL_NOT_FOUND: ErrorCode.InvalidParams,
  PROMPT_NOT_FOUND: ErrorCode.InvalidParams,
  RESOURCE_NOT_FOUND: ErrorCode.InvalidParams,
  TOOL_DISABLED: ErrorCode.InvalidParams,
  SERVER_NOT_FOUND: ErrorCode.InvalidParams,
  UPSTREAM_TIMEOUT: ErrorCode.RequestTimeout,
};

export interface McpErrorContext {
  clientSupportsUrlElicitation?: boolean;
  authorization?: { url?: string; how: string };
}

/**
 * Turns any failure into the MCP error an inbound client sees. Gatehouse's stable code and the
 * server name travel in `data`; an upstream's own JSON-RPC error passes through unchanged.
 * A server that needs authorization is reported with how to authorize it, and clients that
 * support URL elicitation are asked to open the authorization URL (MCP 2025-11-25, -32042).
 */
export function toMcpError(error: unknown, context: McpErrorContext = {}): McpError {
  if (error instanceof McpError) return error;
  if (!isGatehouseError(error)) {
    return new McpError(ErrorCode.InternalError, error instanceof Error ? error.message : String(error));
  }
  const server = typeof error.details?.server === 'string' ? error.details.server : undefined;
  const data = { code: error.code, ...(server ? { server } : {}) };
  const needsAuth = error.code === 'UPSTREAM_AUTH_REQUIRED' || error.code === 'OAUTH_INSUFFICIENT_SCOPE';
  if (needsAuth && context.authorization) {
    const message = `${error.message}. ${context.authorization.how}`;
    if (context.clientSupportsUrlElicitation && context.authorization.url) {
      return new UrlElicitationRequiredError(
        [{ mode: 'url', elicitationId: randomUUID(), url: context.authorization.url, message }],
        message,
      );
    }
    return new McpError(ErrorCode.InternalError, message, data);
  }
  return new McpError(JSON_RPC_CODE[error.code] ?? ErrorCode.InternalError, error.message, data);
}
