import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  CancelledNotificationSchema,
  CreateMessageRequestSchema,
  ElicitationCompleteNotificationSchema,
  ElicitRequestSchema,
  type ClientNotification,
  type ClientRequest,
  type Result,
} from '@modelcontextprotocol/sdk/types.js';

/** A request an upstream server sends us while serving a call: we relay it to the caller. */
export type UpstreamRequest = { method: 'sampling/createMessage' | 'elicitation/create'; params: unknown };
export interface UpstreamRequestRelay {
  (
    server: string,
    request: UpstreamRequest,
    extra: RequestHandlerExtra<ClientRequest, ClientNotification>,
  ): Promise<Result>;
  /**
   * MCP 2025-11-25: the upstream says the URL-mode elicitation `elicitationId` it asked for (by
   * request, or in a -32042 error) is complete; the client that was asked may now retry.
   */
  elicitationComplete?: (server: string, elicitationId: string) => void;
}

/**
 * Sends the upstream's sampling and elicitation requests, and its elicitation-complete
 * notifications, to the relay. Cancellations of requests are tracked here: the SDK (1.32) drops a
 * cancellation whose requestId is 0 (a falsy check), and 0 is the id of an upstream's first request.
 */
export function acceptRelayedRequests(client: Client, server: string, relay: UpstreamRequestRelay): void {
  const running = new Map<string | number, AbortController>();
  const handle = async (
    request: UpstreamRequest,
    extra: RequestHandlerExtra<ClientRequest, ClientNotification>,
  ): Promise<Result> => {
    const cancelled = new AbortController();
    running.set(extra.requestId, cancelled);
    try {
      return await relay(server, request, {
        ...extra,
        signal: AbortSignal.any([extra.signal, cancelled.signal]),
      });
    } finally {
      running.delete(extra.requestId);
    }
  };
  client.setRequestHandler(CreateMessageRequestSchema, (request, extra) =>
    handle({ method: request.method, params: request.params }, extra),
  );
  client.setRequestHandler(ElicitRequestSchema, (request, extra) =>
    handle({ method: request.method, params: request.params }, extra),
  );
  const complete = relay.elicitationComplete;
  if (complete) {
    client.setNotificationHandler(ElicitationCompleteNotificationSchema, async (notification) =>
      complete(server, notification.params.elicitationId),
    );
  }
  client.setNotificationHandler(CancelledNotificationSchema, async (notification) => {
    const id = notification.params.requestId;
    if (id !== undefined) running.get(id)?.abort(notification.params.reason);
  });
}
