import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  CancelledNotificationSchema,
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  type ClientNotification,
  type ClientRequest,
  type Result,
} from '@modelcontextprotocol/sdk/types.js';

/** A request an upstream server sends us while serving a call: we relay it to the caller. */
export type UpstreamRequest = { method: 'sampling/createMessage' | 'elicitation/create'; params: unknown };
export type UpstreamRequestRelay = (
  server: string,
  request: UpstreamRequest,
  extra: RequestHandlerExtra<ClientRequest, ClientNotification>,
) => Promise<Result>;

/**
 * Sends the upstream's sampling and elicitation requests to the relay. Cancellations of them are
 * tracked here: the SDK (1.32) drops a cancellation whose requestId is 0 (a falsy check), and 0
 * is the id of an upstream's first request.
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
  client.setNotificationHandler(CancelledNotificationSchema, async (notification) => {
    const id = notification.params.requestId;
    if (id !== undefined) running.get(id)?.abort(notification.params.reason);
  });
}
