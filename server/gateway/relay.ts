import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  CreateMessageResultSchema,
  ElicitResultSchema,
  ErrorCode,
  type ClientCapabilities,
  type ClientNotification,
  type ClientRequest,
  type Result,
  type ServerNotification,
  type ServerRequest,
} from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../log.js';
import type { UpstreamRequest, UpstreamRequestRelay } from '../upstream/connection.js';
import { forwardOptions } from './forward-options.js';
import { RpcError, toMcpError } from './mcp-errors.js';

type InboundExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;
type UpstreamExtra = RequestHandlerExtra<ClientRequest, ClientNotification>;

/** One inbound call in progress: how to ask its client, and how to reach its session later. */
export interface Caller {
  extra: InboundExtra;
  capabilities: () => ClientCapabilities | undefined;
  /** Sends a notification on the caller's session outside any request (after the call ended). */
  notify: (notification: ServerNotification) => Promise<void>;
}

/** Elicitations still waiting for their completion notification: a bound on memory, not on use. */
const MAX_PENDING_ELICITATIONS = 1000;
/** A person finishing a URL-mode elicitation (an authorization, a payment) may take a while. */
const ELICITATION_TTL_MS = 30 * 60 * 1000;

export interface CallerRelayOptions {
  timeoutMs: () => number;
  logger: Logger;
  now?: () => number;
}

/**
 * Relays requests an upstream sends while serving a call (sampling/createMessage,
 * elicitation/create) to the inbound client whose call it is serving, and the answers back.
 *
 * MCP over one shared upstream connection does not say which of our calls a server request belongs
 * to, so the rule is: the newest call still in progress to that upstream. With one caller at a time
 * (the common case) that is exact. Cancellation flows upstream → client (the upstream's cancel
 * aborts our request to the client) and progress flows client → upstream.
 *
 * MCP 2025-11-25, URL-mode elicitation: an upstream that asked a client to open a URL (an
 * `elicitation/create` with `mode: "url"`, or a -32042 error listing elicitations) later sends
 * `notifications/elicitation/complete`. It goes to the session that was asked, remembered by
 * upstream and elicitation id (an upstream cannot reach another upstream's elicitations), for a
 * bounded time and number.
 */
export class CallerRelay {
  readonly #callers = new Map<string, Caller[]>();
  /** `<server>\0<elicitationId>` → who was asked, in insertion (so expiry) order. */
  readonly #elicitations = new Map<string, { caller: Caller; expiresAt: number }>();
  readonly #timeoutMs: () => number;
  readonly #logger: Logger;
  readonly #now: () => number;

  constructor(options: CallerRelayOptions) {
    this.#timeoutMs = options.timeoutMs;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
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

  /** Remembers that `caller` was asked the URL-mode elicitation `elicitationId` of `server`. */
  awaitCompletion(server: string, elicitationId: string, caller: Caller): void {
    const now = this.#now();
    for (const [key, entry] of this.#elicitations) {
      if (entry.expiresAt > now && this.#elicitations.size < MAX_PENDING_ELICITATIONS) break;
      this.#elicitations.delete(key);
    }
    const key = elicitationKey(server, elicitationId);
    this.#elicitations.delete(key); // re-inserted last: the newest expires last
    this.#elicitations.set(key, { caller, expiresAt: now + ELICITATION_TTL_MS });
  }

  /** Passes an upstream's `notifications/elicitation/complete` to the session that was asked. */
  elicitationComplete(server: string, elicitationId: string): void {
    const key = elicitationKey(server, elicitationId);
    const entry = this.#elicitations.get(key);
    this.#elicitations.delete(key);
    if (!entry || entry.expiresAt <= this.#now()) {
      this.#logger.debug(
        { server, elicitationId },
        'elicitation completion for an unknown elicitation dropped',
      );
      return;
    }
    const notification: ServerNotification = {
      method: 'notifications/elicitation/complete',
      params: { elicitationId },
    };
    // While the call runs, on its own stream; after it ended, on the session's standalone stream.
    const { caller } = entry;
    const running = this.#callers.get(server)?.includes(caller) ?? false;
    const sent = running ? caller.extra.sendNotification(notification) : caller.notify(notification);
    sent.catch((error: unknown) =>
      this.#logger.debug({ server, err: String(error) }, 'elicitation completion not delivered'),
    );
  }

  /** The handler the upstream connections call for requests their servers send. */
  readonly relay: UpstreamRequestRelay = Object.assign(
    async (server: string, request: UpstreamRequest, extra: UpstreamExtra): Promise<Result> => {
      const caller = this.#callers.get(server)?.at(-1);
      if (!caller) {
        throw new RpcError(ErrorCode.InvalidRequest, `no client call to "${server}" is in progress to ask`);
      }
      const capabilities = caller.capabilities() ?? {};
      const supported =
        request.method === 'sampling/createMessage'
          ? capabilities.sampling !== undefined
          : capabilities.elicitation !== undefined && supportsMode(capabilities.elicitation, request.params);
      if (!supported) {
        throw new RpcError(
          ErrorCode.InvalidRequest,
          `the connected client does not support ${request.method}`,
        );
      }
      const { _meta, ...params } = request.params as { _meta?: { progressToken?: string | number } };
      const elicitationId = urlElicitationId(request);
      if (elicitationId !== undefined) this.awaitCompletion(server, elicitationId, caller);
      const schema =
        request.method === 'sampling/createMessage' ? CreateMessageResultSchema : ElicitResultSchema;
      try {
        return await caller.extra.sendRequest(
          { method: request.method, params } as ServerRequest,
          schema,
          forwardOptions(extra, this.#timeoutMs(), _meta?.progressToken),
        );
      } catch (error) {
        // The client's own JSON-RPC error goes upstream as it was, with one "MCP error" prefix.
        throw toMcpError(error);
      }
    },
    { elicitationComplete: (server: string, id: string) => this.elicitationComplete(server, id) },
  );
}

function elicitationKey(server: string, elicitationId: string): string {
  return `${server}\u0000${elicitationId}`;
}

/** The id of a URL-mode elicitation request (MCP 2025-11-25), whose completion will be announced. */
function urlElicitationId(request: UpstreamRequest): string | undefined {
  if (request.method !== 'elicitation/create') return undefined;
  const params = request.params as { mode?: unknown; elicitationId?: unknown };
  return params.mode === 'url' && typeof params.elicitationId === 'string' ? params.elicitationId : undefined;
}

/** MCP 2025-11-25: an empty elicitation capability means form mode only. */
function supportsMode(elicitation: Record<string, unknown>, params: unknown): boolean {
  const mode = (params as { mode?: string }).mode ?? 'form';
  if (Object.keys(elicitation).length === 0) return mode === 'form';
  return mode in elicitation;
}
