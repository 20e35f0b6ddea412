/**
 * The server side of MCP's Streamable HTTP transport on `node:http` request and response objects,
 * for the gateway's inbound sessions.
 *
 * Why not the SDK's `StreamableHTTPServerTransport`: it converts every Node request to a web
 * `Request` and back (through `@hono/node-server`) and writes responses through web streams, which
 * cost more CPU than the rest of a proxied tool call (bench/README.md, "latency"). This transport
 * writes to the socket directly and answers a POST the cheapest way the spec allows:
 *
 * - a POST whose requests are answered without anything else being sent for them gets one
 *   `application/json` body (spec: the server MAY answer with JSON or an SSE stream);
 * - the first notification or request sent for one of a POST's requests (progress, a relayed
 *   sampling or elicitation request) turns that POST's answer into an SSE stream; everything for it
 *   from then on, the responses included, goes there and the stream ends after the last response.
 *
 * There is no event store, so streams are not resumable (no event ids are sent; the spec makes
 * resumability optional).
 *
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#streamable-http
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  SUPPORTED_PROTOCOL_VERSIONS,
  type JSONRPCMessage,
  type MessageExtraInfo,
  type RequestId,
} from '@modelcontextprotocol/sdk/types.js';
import { randomUUID } from 'node:crypto';
import { isGatehouseError, type ErrorCode } from '../errors.js';
import { classifyMessage, messageJson, writeRefusal, type ValidMessage } from './messages.js';

export interface StreamableTransportOptions {
  /** A new session id, asked for once, when the initialize request arrives. */
  sessionId: () => string;
  /**
   * Called with the id and the initialize request's params before that request reaches the
   * server; a promise it returns is awaited first (the session's shared record is written then).
   */
  onSessionInitialized?: (id: string, params: unknown) => void | Promise<void>;
  /**
   * A session rebuilt on this replica (another opened it): the transport starts initialized with
   * this id, and its server is given the client's initialize params by `replayInitialize`.
   */
  restoredId?: string;
  /**
   * Called on the client's DELETE before the session closes; when it throws a GatehouseError
   * (the shared store unreachable), the DELETE is refused with its code and the session stays.
   */
  onDelete?: (id: string) => Promise<void>;
}

/** One POST that carried requests, waiting for their responses. */
interface PendingPost {
  res: ServerResponse;
  /** Request ids still without a response, and the responses already given (in request order). */
  waiting: Set<RequestId>;
  answers: Map<RequestId, string>;
  order: RequestId[];
  /** A batch is answered with an array (JSON-RPC 2.0 §6). */
  batch: boolean;
  /** True once the answer became an SSE stream. */
  streaming: boolean;
}

/** The SDK also caps batches; a bounded batch keeps one POST from queueing unbounded work. */
const MAX_BATCH = 100;

export class StreamableServerTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;
  sessionId?: string;

  readonly #options: StreamableTransportOptions;
  /** Open POSTs by the ids of the requests they carry. */
  readonly #byRequest = new Map<RequestId, PendingPost>();
  /** The GET stream for messages not related to a request (list_changed, pings). */
  #standalone: ServerResponse | undefined;
  #closed = false;
  /** The replayed initialize request of a rebuilt session, until the server has answered it. */
  #replay: { id: string; answered: (message: JSONRPCMessage | undefined) => void } | undefined;

  constructor(options: StreamableTransportOptions) {
    this.#options = options;
    this.sessionId = options.restoredId;
  }

  async start(): Promise<void> {}

  /** Handles one HTTP request of this session; `body` is the parsed JSON of a POST. */
  async handleRequest(req: IncomingMessage, res: ServerResponse, body?: unknown): Promise<void> {
    switch (req.method) {
      case 'POST':
        return this.#post(req, res, body);
      case 'GET':
        return this.#get(req, res);
      case 'DELETE':
        return this.#delete(req, res);
      default:
        writeRefusal(res, 'MCP_METHOD_NOT_ALLOWED', undefined, { allow: 'GET, POST, DELETE' });
    }
  }

  #post(req: IncomingMessage, res: ServerResponse, body: unknown): void | Promise<void> {
    // Spec: the client MUST list both content types in Accept.
    const accept = req.headers.accept ?? '';
    if (!accept.includes('application/json') || !accept.includes('text/event-stream')) {
      return writeRefusal(
        res,
        'MCP_NOT_ACCEPTABLE',
        'Not Acceptable: Client must accept both application/json and text/event-stream',
      );
    }
    if (this.#closed) return writeRefusal(res, 'SESSION_NOT_FOUND');
    const raw = Array.isArray(body) ? (body as unknown[]) : [body];
    if (raw.length === 0 || raw.length > MAX_BATCH) {
      return writeRefusal(
        res,
        'MCP_INVALID_REQUEST',
        `Invalid Request: a batch holds 1 to ${MAX_BATCH} messages`,
      );
    }
    const classified = raw.map(classifyMessage);
    const messages = classified.filter((m): m is ValidMessage => m.kind !== 'invalid');
    if (messages.length !== classified.length) {
      return writeRefusal(res, 'MCP_PARSE_ERROR', 'Parse error: Invalid JSON-RPC message');
    }
    const initializing = messages.some((m) => m.kind === 'request' && m.method === 'initialize');
    if (initializing) {
      if (this.sessionId !== undefined)
        return writeRefusal(res, 'MCP_INVALID_REQUEST', 'Invalid Request: Server already initialized');
      if (messages.length > 1) {
        return writeRefusal(
          res,
          'MCP_INVALID_REQUEST',
          'Invalid Request: Only one initialization request is allowed',
        );
      }
      this.sessionId = this.#options.sessionId();
      const shared = this.#options.onSessionInitialized?.(
        this.sessionId,
        (messages[0]!.message as { params?: unknown }).params,
      );
      if (shared) {
        return shared.then(() =>
          this.#closed ? writeRefusal(res, 'SESSION_NOT_FOUND') : this.#accept(req, res, body, messages),
        );
      }
    } else {
      const refused = this.#checkSession(req);
      if (refused) return writeRefusal(res, refused.code, refused.message);
    }
    this.#accept(req, res, body, messages);
  }

  /** Hands a valid POST's messages to the server; its requests' answers go to `res`. */
  #accept(req: IncomingMessage, res: ServerResponse, body: unknown, messages: ValidMessage[]): void {
    const extra: MessageExtraInfo = { requestInfo: { headers: req.headers } };
    const requests = messages.flatMap((m) => (m.kind === 'request' ? [m.id] : []));
    if (requests.length === 0) {
      // Only notifications and responses: 202 and no body (spec).
      res.writeHead(202, this.#headers()).end();
      for (const m of messages) this.onmessage?.(m.message, extra);
      return;
    }
    const pending: PendingPost = {
      res,
      waiting: new Set(requests),
      answers: new Map(),
      order: requests,
      batch: Array.isArray(body),
      streaming: false,
    };
    for (const id of requests) this.#byRequest.set(id, pending);
    // The client went away: its responses have nowhere to go. (Spec: a disconnect is not a
    // cancellation; the requests run to their end and their answers are dropped.)
    res.once('close', () => {
      for (const id of pending.waiting) if (this.#byRequest.get(id) === pending) this.#byRequest.delete(id);
      pending.waiting.clear();
    });
    for (const m of messages) this.onmessage?.(m.message, extra);
  }

  #get(req: IncomingMessage, res: ServerResponse): void {
    if (!(req.headers.accept ?? '').includes('text/event-stream')) {
      return writeRefusal(res, 'MCP_NOT_ACCEPTABLE', 'Not Acceptable: Client must accept text/event-stream');
    }
    const refused = this.#closed ? notFound : this.#checkSession(req);
    if (refused) return writeRefusal(res, refused.code, refused.message);
    if (this.#standalone) return writeRefusal(res, 'MCP_STREAM_CONFLICT');
    this.#standalone = res;
    res.once('close', () => {
      if (this.#standalone === res) this.#standalone = undefined;
    });
    openEventStream(res, this.#headers());
  }

  async #delete(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const refused = this.#closed ? notFound : this.#checkSession(req);
    if (refused) return writeRefusal(res, refused.code, refused.message);
    if (this.#options.onDelete && this.sessionId !== undefined) {
      try {
        await this.#options.onDelete(this.sessionId);
      } catch (error) {
        if (!isGatehouseError(error)) throw error;
        return writeRefusal(res, error.code, error.message);
      }
    }
    const headers = this.#headers();
    await this.close();
    res.writeHead(200, headers).end();
  }

  /**
   * Gives the server of a rebuilt session what the client said when it initialized on another
   * replica, through the server's own initialize handling (the SDK has no public setter for the
   * client's capabilities and version; this is the path a real initialize takes), then the
   * `initialized` notification. The server's answer is not sent anywhere.
   * @throws Error when the server refuses the params
   */
  async replayInitialize(params: unknown): Promise<void> {
    // A string id no client request can share: the client's ids are its own, and this one is new.
    const id = `gatehouse-replay-${randomUUID()}`;
    const answer = await new Promise<JSONRPCMessage | undefined>((answered) => {
      this.#replay = { id, answered };
      this.onmessage?.({ jsonrpc: '2.0', id, method: 'initialize', params } as JSONRPCMessage);
    });
    if (answer === undefined || !('result' in answer)) {
      throw new Error('the stored initialize params were refused by the session server');
    }
    this.onmessage?.({ jsonrpc: '2.0', method: 'notifications/initialized' });
  }

  /** Spec: requests after initialization carry the session id and, if any, a supported protocol version. */
  #checkSession(req: IncomingMessage): Refusal | undefined {
    if (this.sessionId === undefined)
      return { code: 'MCP_BAD_REQUEST', message: 'Bad Request: Server not initialized' };
    const id = req.headers['mcp-session-id'];
    if (id === undefined) {
      return { code: 'MCP_BAD_REQUEST', message: 'Bad Request: Mcp-Session-Id header is required' };
    }
    if (id !== this.sessionId) return notFound;
    const version = req.headers['mcp-protocol-version'];
    if (typeof version === 'string' && !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) {
      const supported = SUPPORTED_PROTOCOL_VERSIONS.join(', ');
      return {
        code: 'MCP_BAD_REQUEST',
        message: `Bad Request: Unsupported protocol version: ${version} (supported versions: ${supported})`,
      };
    }
    return undefined;
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if (this.#closed) return;
    const isResponse = 'id' in message && !('method' in message);
    if (this.#replay !== undefined && isResponse && (message as { id: RequestId }).id === this.#replay.id) {
      this.#replay.answered(message);
      this.#replay = undefined;
      return;
    }
    const related = isResponse ? (message as { id: RequestId }).id : options?.relatedRequestId;
    const pending = related === undefined ? undefined : this.#byRequest.get(related);
    if (!pending) {
      // Unrelated to any request: the standalone stream, if the client opened one. Something for
      // a request whose POST is gone is dropped: the GET stream is for messages that are unrelated
      // to a running request (spec, "Listening for Messages from the Server").
      if (related === undefined && this.#standalone) writeEvent(this.#standalone, messageJson(message));
      return;
    }
    const json = messageJson(message);
    if (!isResponse) {
      if (!pending.streaming) this.#startStreaming(pending);
      writeEvent(pending.res, json);
      return;
    }
    const id = related as RequestId;
    this.#byRequest.delete(id);
    pending.waiting.delete(id);
    if (pending.streaming) {
      writeEvent(pending.res, json);
      if (pending.waiting.size === 0) pending.res.end();
      return;
    }
    pending.answers.set(id, json);
    if (pending.waiting.size > 0) return;
    const parts = pending.order.flatMap((rid) => {
      const answer = pending.answers.get(rid);
      return answer === undefined ? [] : [answer];
    });
    const text = pending.batch ? `[${parts.join(',')}]` : parts[0]!;
    if (pending.res.writableEnded || pending.res.destroyed) return;
    pending.res.writeHead(200, { ...this.#headers(), 'content-type': 'application/json' });
    pending.res.end(text);
  }

  /** Turns a POST's answer into an SSE stream, flushing the responses already given in a batch. */
  #startStreaming(pending: PendingPost): void {
    pending.streaming = true;
    openEventStream(pending.res, this.#headers());
    for (const answer of pending.answers.values()) writeEvent(pending.res, answer);
    pending.answers.clear();
  }

  #headers(): Record<string, string> {
    return this.sessionId === undefined ? {} : { 'mcp-session-id': this.sessionId };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const open = new Set(this.#byRequest.values());
    this.#byRequest.clear();
    for (const pending of open) endQuietly(pending.res);
    if (this.#standalone) endQuietly(this.#standalone);
    this.#standalone = undefined;
    this.#replay?.answered(undefined);
    this.#replay = undefined;
    this.onclose?.();
  }
}

/** Why a request is refused; status and JSON-RPC code come from the error table. */
interface Refusal {
  code: ErrorCode;
  message?: string;
}

const notFound: Refusal = { code: 'SESSION_NOT_FOUND' };

function openEventStream(res: ServerResponse, headers: Record<string, string>): void {
  res.writeHead(200, {
    ...headers,
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
  res.flushHeaders();
}

/** One SSE `message` event; JSON text has no raw newlines, so one `data:` line holds it. */
function writeEvent(res: ServerResponse, json: string): void {
  if (res.writableEnded || res.destroyed) return;
  res.write(`event: message\ndata: ${json}\n\n`);
}

function endQuietly(res: ServerResponse): void {
  if (res.writableEnded || res.destroyed) return;
  if (!res.headersSent) writeRefusal(res, 'SESSION_NOT_FOUND', 'Session closed');
  else res.end();
}
