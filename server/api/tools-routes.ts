/**
 * "Try it": `POST /api/servers/:name/tools/:tool/call` calls one tool of one server the way a call
 * on /mcp reaches it (connection.request, the request timeout that restarts with each progress
 * report, progress under a token of our own, the caller's cancellation passed on) and streams the
 * answer as Server-Sent Events: `progress` (zero or more), then one `result` (the CallToolResult,
 * `isError` included) or one `error` (`{ code, message }`). What is wrong before anything is sent
 * (no such server or tool, a disabled tool, a bad body) is an ordinary JSON error instead.
 * Registered behind the admin guard; arguments and results are never logged (they may hold secrets).
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/utilities/progress
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  CallToolResultSchema,
  McpError,
  type CallToolResult,
  type Progress,
} from '@modelcontextprotocol/sdk/types.js';
import type { FastifyInstance } from 'fastify';

import { GatehouseError, isGatehouseError, type ErrorCode } from '../errors.js';
import { forwardOptions } from '../gateway/forward-options.js';
import type { UpstreamConnection } from '../upstream/connection.js';
import type { UpstreamView } from '../upstream/per-user.js';
import type { UpstreamManager } from '../upstream/manager.js';
import { plainErrorText } from '../upstream/mcp-error-text.js';
import { ADMIN_SESSION } from '../security/admin-session.js';

export interface ToolsRoutesOptions {
  manager: UpstreamManager;
  /** systemConfig.timeouts.requestMs as now live: the same timeout as a call on /mcp. */
  requestTimeoutMs: () => number;
}

/** One progress report of a running call, as the `progress` event carries it. */
export interface ToolProgress {
  progress: number;
  total?: number;
  message?: string;
}

/** Our own progress token: one call per request, so any fixed value is unique on it. */
const PROGRESS_TOKEN = 'try-it';

/**
 * The connection that may run `tool` of server `name` now.
 * @throws GatehouseError SERVER_NOT_FOUND; TOOL_DISABLED (as on /mcp); TOOL_NOT_FOUND when the
 *   server is connected and does not list the tool (while it is down its tools are unknown, and the
 *   call reports the server's state instead)
 */
export function toolTarget(manager: UpstreamManager, name: string, tool: string): UpstreamView {
  const connection = manager.get(name);
  if (!connection) throw new GatehouseError('SERVER_NOT_FOUND', `no server named "${name}"`);
  if (connection.config.tools[tool]?.enabled === false) {
    throw new GatehouseError('TOOL_DISABLED', `tool "${tool}" of "${name}" is disabled in the settings`, {
      details: { server: name },
    });
  }
  if (connection.state.status === 'connected' && !connection.lists.tools.some((t) => t.name === tool)) {
    throw new GatehouseError('TOOL_NOT_FOUND', `server "${name}" has no tool named "${tool}"`, {
      details: { server: name },
    });
  }
  return connection;
}

/**
 * Calls `tool` on `connection` as a call on /mcp does (gateway/forward-options.ts), reporting
 * progress to `onProgress`. Resolves with the upstream's CallToolResult, `isError` ones included.
 */
export function callTool(
  connection: UpstreamConnection,
  call: { tool: string; arguments: Record<string, unknown> | undefined },
  options: { signal: AbortSignal; timeoutMs: number; onProgress: (progress: ToolProgress) => void },
): Promise<CallToolResult> {
  const asker = {
    signal: options.signal,
    sendNotification: async ({ params }: { params: Progress & { progressToken: string | number } }) => {
      options.onProgress({
        progress: params.progress,
        ...(params.total !== undefined ? { total: params.total } : {}),
        ...(params.message !== undefined ? { message: params.message } : {}),
      });
    },
  };
  const forward = forwardOptions(asker, options.timeoutMs, PROGRESS_TOKEN);
  return connection.request((client: Client) =>
    client.request(
      {
        method: 'tools/call',
        params: { name: call.tool, ...(call.arguments ? { arguments: call.arguments } : {}) },
      },
      CallToolResultSchema,
      forward,
    ),
  );
}

/** What the `error` event says about a failed call: a stable code, and the upstream's own words. */
export function callFailure(error: unknown): { code: ErrorCode; message: string; rpcCode?: number } {
  if (isGatehouseError(error)) return { code: error.code, message: error.message };
  // The upstream answered the request with a JSON-RPC error of its own (bad arguments, say).
  if (error instanceof McpError) {
    return {
      code: 'UPSTREAM_REQUEST_FAILED',
      message: plainErrorText(error.code, error.message),
      rpcCode: error.code,
    };
  }
  // The answer was not a CallToolResult.
  return {
    code: 'UPSTREAM_PROTOCOL_ERROR',
    message: `the server's answer is not a tool result: ${error instanceof Error ? error.message : String(error)}`,
  };
}

const BODY_SCHEMA = {
  type: 'object',
  properties: { arguments: { type: 'object' } },
  additionalProperties: false,
} as const;

/** The "Try it" route. */
export async function toolsRoutes(app: FastifyInstance, opts: ToolsRoutesOptions): Promise<void> {
  const running = new Set<AbortController>();

  app.post<{
    Params: { name: string; tool: string };
    Body: { arguments?: Record<string, unknown> } | undefined;
  }>('/api/servers/:name/tools/:tool/call', { schema: { body: BODY_SCHEMA } }, async (req, reply) => {
    const { name, tool } = req.params;
    toolTarget(opts.manager, name, tool);
    const cancel = new AbortController();
    running.add(cancel);

    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'x-accel-buffering': 'no',
    });
    // The page learns at once that the call started (and can cancel it), not at its first event.
    raw.flushHeaders();
    const send = (event: string, data: unknown) => {
      if (!raw.writableEnded) raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    // The page closed the stream (Cancel, navigation): the upstream hears notifications/cancelled.
    raw.on('close', () => {
      // The reason is what the upstream reads in notifications/cancelled.
      if (!raw.writableFinished) cancel.abort('the caller went away');
    });

    try {
      // The dashboard is the administrator: on a per-user server the call goes out as them.
      const result = await opts.manager.use(
        name,
        ADMIN_SESSION.subject,
        (connection) =>
          callTool(
            connection,
            { tool, arguments: req.body?.arguments },
            {
              signal: cancel.signal,
              timeoutMs: opts.requestTimeoutMs(),
              onProgress: (progress) => send('progress', progress),
            },
          ),
        cancel.signal,
      );
      send('result', result);
    } catch (error) {
      send('error', callFailure(error));
    } finally {
      running.delete(cancel);
      raw.end();
    }
  });

  // Shutdown does not wait for a slow tool: the calls are cancelled and their streams end.
  app.addHook('preClose', async () => {
    for (const cancel of running) cancel.abort('the gateway is shutting down');
  });
}
