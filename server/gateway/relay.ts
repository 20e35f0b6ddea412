import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  CreateMessageResultSchema,
  ElicitResultSchema,
  ErrorCode,
  McpError,
  type ClientCapabilities,
  type ClientNotification,
  type ClientRequest,
  type Result,
  type ServerNotification,
  type ServerRequest,
} from '@modelcontextprotocol/sdk/types.js';
import type { UpstreamRequest } from '../upstream/connection.js';
import { forwardOptions } from './forward-options.js';

type InboundExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;
type UpstreamExtra = RequestHandlerExtra<ClientRequest, ClientNotification>;

interface Caller {
  extra: InboundExtra;
  capabilities: () => ClientCapabilities | undefined;
}

/**
 * Relays requests an upstream sends while serving a call (sampling/createMessage,
 * elicitation/create) to the inbound client whose call it is serving, and the answers back.
 *
 * MCP over one shared upstream connection does not say which of our calls a server request belongs
 * to, so the rule is: the newest call still in progress to that upstream. With one caller at a time
 * (the common case) that is exact. Cancellation flows upstream → client (the upstream's cancel
 * aborts our request to the client) and progress flows client → upstream.
 */
export class CallerRelay {
  readonly #callers = new Map<string, Caller[]>();
  readonly #timeoutMs: () => number;

  constructor(options: { timeoutMs: () => number }) {
    this.#timeoutMs = options.timeoutMs;
  }

  /** Marks an inbound call to `server` as in progress until the returned function is called. */
  enter(server: string, caller: Caller): () => void {
    const list = this.#callers.get(server) ?? [];
    list.push(caller);
    this.#callers.set(server, list);
    return () => {
      const i = list.indexOf(caller);
      if (i !== -1) list.splice(i, 1);
      if (list.length === 0 && this.#callers.get(server) === list) this.#callers.delete(server);
    };
  }

  /** The handler the upstream connections call for requests their servers send. */
  readonly relay = async (
    server: string,
    request: UpstreamRequest,
    extra: UpstreamExtra,
  ): Promise<Result> => {
    const caller = this.#callers.get(server)?.at(-1);
    if (!caller) {
      throw new McpError(ErrorCode.InvalidRequest, `no client call to "${server}" is in progress to ask`);
    }
    const capabilities = caller.capabilities() ?? {};
    const supported =
      request.method === 'sampling/createMessage'
        ? capabilities.sampling !== undefined
        : capabilities.elicitation !== undefined && supportsMode(capabilities.elicitation, request.params);
    if (!supported) {
      throw new McpError(ErrorCode.InvalidRequest, `the connected client does not support ${request.method}`);
    }
    const { _meta, ...params } = request.params as { _meta?: { progressToken?: string | number } };
    const schema =
      request.method === 'sampling/createMessage' ? CreateMessageResultSchema : ElicitResultSchema;
    return caller.extra.sendRequest(
      { method: request.method, params } as ServerRequest,
      schema,
      forwardOptions(extra, this.#timeoutMs(), _meta?.progressToken),
    );
  };
}

/** MCP 2025-11-25: an empty elicitation capability means form mode only. */
function supportsMode(elicitation: Record<string, unknown>, params: unknown): boolean {
  const mode = (params as { mode?: string }).mode ?? 'form';
  if (Object.keys(elicitation).length === 0) return mode === 'form';
  return mode in elicitation;
}
