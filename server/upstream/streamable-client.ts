/**
 * The client side of MCP's Streamable HTTP transport, for upstream servers.
 *
 * Why not the SDK's StreamableHTTPClientTransport: it reads every response through a web-stream
 * pipeline (`TextDecoderStream` → `EventSourceParserStream` → reader) built per POST, which costs
 * more CPU than the rest of a tool call. This one reads the body with `for await`, one
 * `TextDecoder` and eventsource-parser's plain `createParser`. The protocol behaviour follows the
 * SDK's (sessions, the standalone GET stream, resumption with Last-Event-ID, same-origin redirects,
 * `StreamableHTTPError` with the HTTP status) because `policy.ts` classifies failures by it.
 *
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#streamable-http
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { mediaTypeEssence } from '@modelcontextprotocol/sdk/shared/mediaType.js';
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  JSONRPCMessageSchema,
  type JSONRPCMessage,
  type RequestId,
} from '@modelcontextprotocol/sdk/types.js';
import { GatehouseError } from '../errors.js';
import { isRedirect, redirectHop, type FetchLike } from '../http-fetch.js';
import { OrderedDelivery } from './ordered-delivery.js';
import { isNotMcpAnswer, notMcpEndpoint, type FirstAnswer } from './policy.js';

/** The SDK transport's options that Gatehouse uses; OAuth is the injected fetch's business. */
export interface StreamableClientOptions {
  /** Every request goes through it (the OAuth engine's fetch in production). Default: `fetch`. */
  fetch?: FetchLike;
  /** Its headers are sent on every request; its signal, if any, ends the transport's requests too. */
  requestInit?: RequestInit;
}

/** Reopening a dropped SSE stream, as the SDK's default `reconnectionOptions`. */
const REOPEN = { initialDelayMs: 1000, growFactor: 1.5, maxDelayMs: 30_000, maxAttempts: 2 } as const;
/** The SDK's limit on same-origin redirects followed for one request. */
const MAX_REDIRECTS = 5;
/** How much of an error response's body goes into the error message. */
const ERROR_BODY_CHARS = 200;

/** One SSE stream's resumption state; a reopened stream continues the same one. */
interface SseStream {
  /** The standalone GET stream, reopened whenever it ends. A POST's stream only while it owes responses. */
  standalone: boolean;
  lastEventId: string | undefined;
  /** Requests whose responses this stream still owes. */
  owed: Set<RequestId>;
  /** After `send()` with a resumption token, the replayed response answers this (new) request id. */
  replayAs: RequestId | undefined;
  onresumptiontoken: ((token: string) => void) | undefined;
}

/** An MCP client transport over Streamable HTTP (see the module comment for why it exists). */
export class StreamableClientTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  /** Notifications before what follows them in one read (see ordered-delivery.ts). */
  readonly #delivery = new OrderedDelivery((message) => {
    try {
      this.onmessage?.(message);
    } catch (error) {
      this.#report(error);
    }
  });

  readonly #url: URL;
  readonly #fetch: FetchLike;
  /** `requestInit` without headers and signal, which are set per request. */
  readonly #init: RequestInit;
  /** The configured headers, names lowercased so ours replace theirs instead of joining them. */
  readonly #userHeaders: Record<string, string> = {};
  readonly #userSignal: AbortSignal | undefined;
  /** Aborted by close(): every request and stream follows it. */
  readonly #abort = new AbortController();
  readonly #timers = new Set<NodeJS.Timeout>();
  #sessionId: string | undefined;
  #protocolVersion: string | undefined;
  /** The server's SSE `retry:` field, which replaces the backoff once seen. */
  #retryMs: number | undefined;
  #started = false;
  #closed = false;

  constructor(url: URL, opts: StreamableClientOptions = {}) {
    this.#url = url;
    this.#fetch = opts.fetch ?? ((input, init) => fetch(input, init));
    const { headers, signal, ...init } = opts.requestInit ?? {};
    this.#init = init;
    this.#userSignal = signal ?? undefined;
    new Headers(headers).forEach((value, name) => (this.#userHeaders[name] = value));
  }

  get sessionId(): string | undefined {
    return this.#sessionId;
  }
  get protocolVersion(): string | undefined {
    return this.#protocolVersion;
  }
  /** The SDK Client calls it after initialize; the version goes out on every later request. */
  setProtocolVersion(version: string): void {
    this.#protocolVersion = version;
  }

  /** Nothing to connect yet: the first POST (initialize) opens the conversation. */
  async start(): Promise<void> {
    if (this.#started) throw new GatehouseError('INTERNAL', 'StreamableClientTransport already started');
    this.#started = true;
  }

  /** Aborts every request, stream and pending reopen; calls `onclose` once. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#abort.abort();
    this.onclose?.();
  }

  /**
   * POSTs one message. Resolves once the response headers are in: a JSON body has been delivered by
   * then, an SSE body is delivered as it arrives. Errors (the fetch's own included) are thrown
   * unchanged and also reported to `onerror`.
   */
  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if (this.#closed) throw new GatehouseError('UPSTREAM_CLOSED', 'the transport to the upstream is closed');
    try {
      const isRequest = 'method' in message && 'id' in message;
      // Resuming only makes sense for a request; anything else (a cancellation of the resumed
      // request, say) still has to reach the server.
      if (options?.resumptionToken !== undefined && isRequest) {
        const stream = sseStream(false, options);
        stream.lastEventId = options.resumptionToken;
        stream.owed.add(message.id);
        stream.replayAs = message.id;
        return await this.#openGet(stream);
      }
      const headers = this.#headers('application/json, text/event-stream');
      headers['content-type'] = 'application/json';
      const response = await this.#exchange('POST', headers, JSON.stringify(message));
      // The first answer tells whether this URL serves MCP at all; an HTML page is no MCP error.
      // (A look at the method, not the SDK's isInitializeRequest: that runs a schema on every call.)
      const first = isRequest && message.method === 'initialize' ? firstAnswer(response) : undefined;
      if (first && isNotMcpAnswer(first)) {
        await response.body?.cancel();
        throw notMcpEndpoint(first);
      }
      if (!response.ok) throw await httpError(response, this.#url, 'POST');
      if (response.status === 202 || !isRequest) {
        await response.body?.cancel();
        // Spec, "Listening for Messages from the Server": the client MAY open a GET stream for
        // server-initiated messages; the session exists once `initialized` is accepted.
        if (response.status === 202 && isInitialized(message)) this.#openStandalone();
        return;
      }
      const type = mediaTypeEssence(response.headers.get('content-type'));
      if (type === 'application/json') return this.#deliverJson(await response.text());
      if (type === 'text/event-stream') {
        const stream = sseStream(false, options);
        stream.owed.add(message.id);
        void this.#pump(response, stream);
        return;
      }
      await response.body?.cancel();
      throw protocolError(`the server answered with content type ${type ?? '(none)'}, not JSON or SSE`);
    } catch (error) {
      this.#report(error);
      throw error;
    }
  }

  /**
   * Spec, "Session Management": a client that no longer needs its session SHOULD DELETE it; the
   * server MAY answer 405 (it does not allow that), which is fine.
   */
  async terminateSession(): Promise<void> {
    if (this.#sessionId === undefined) return;
    try {
      const response = await this.#exchange('DELETE', this.#headers());
      await response.body?.cancel();
      if (!response.ok && response.status !== 405) throw await httpError(response, this.#url, 'DELETE');
      this.#sessionId = undefined;
    } catch (error) {
      this.#report(error);
      throw error;
    }
  }

  #openStandalone(): void {
    this.#openGet(sseStream(true, undefined)).catch((error: unknown) => this.#report(error));
  }

  /** Opens (or reopens) a GET stream; resolves once it is reading. */
  async #openGet(stream: SseStream): Promise<void> {
    const headers = this.#headers('text/event-stream');
    // Spec, "Resumability and Redelivery": resume after the last event this stream delivered.
    if (stream.lastEventId !== undefined) headers['last-event-id'] = stream.lastEventId;
    const response = await this.#exchange('GET', headers);
    // Spec, "Listening for Messages from the Server": 405 means the server offers no GET stream.
    // That is fine for the standalone stream; a resumption it leaves unanswered is an error.
    if (response.status === 405 && stream.standalone) {
      await response.body?.cancel();
      return;
    }
    if (!response.ok) throw await httpError(response, this.#url, 'GET');
    void this.#pump(response, stream);
  }

  /** Reads an SSE body to its end, then decides whether to reopen. Never rejects. */
  async #pump(response: Response, stream: SseStream): Promise<void> {
    const decoder = new TextDecoder();
    const parser = createParser({
      onEvent: (event) => this.#onEvent(event, stream),
      onRetry: (ms) => (this.#retryMs = ms),
    });
    let failure: unknown;
    try {
      // The DOM lib types Response.body without async iteration; Node's ReadableStream has it.
      const body = response.body as AsyncIterable<Uint8Array> | null;
      if (body) for await (const chunk of body) parser.feed(decoder.decode(chunk, { stream: true }));
      parser.feed(decoder.decode());
    } catch (error) {
      failure = error;
    }
    if (this.#closed) return;
    if (failure !== undefined) {
      this.#report(new GatehouseError('UPSTREAM_CLOSED', 'the SSE stream disconnected', { cause: failure }));
    }
    // Spec 2025-11-25, "Sending Messages to the Server" (SEP-1699): once it has sent an event id,
    // a server MAY close a POST's stream before answering; the client resumes it with GET and
    // Last-Event-ID after the `retry:` delay. Without an event id there is nothing to resume from.
    const resumable = stream.standalone || (stream.owed.size > 0 && stream.lastEventId !== undefined);
    if (resumable) this.#scheduleReopen(stream, 0);
    else if (stream.owed.size > 0 && failure === undefined) {
      const owed = [...stream.owed].join(', ');
      this.#report(
        new GatehouseError('UPSTREAM_CLOSED', `the SSE stream ended before answering request ${owed}`),
      );
    }
  }

  #onEvent(event: EventSourceMessage, stream: SseStream): void {
    if (event.id !== undefined && event.id !== '') {
      stream.lastEventId = event.id;
      stream.onresumptiontoken?.(event.id);
    }
    // An event without data primes resumption (it carries only an id) or keeps the stream alive.
    if (!event.data || (event.event !== undefined && event.event !== 'message')) return;
    let message: JSONRPCMessage;
    try {
      message = JSONRPCMessageSchema.parse(parseJson(event.data));
    } catch (error) {
      // One bad event does not end the stream: later ones may still answer.
      this.#report(error);
      return;
    }
    if (('result' in message || 'error' in message) && message.id !== undefined) {
      const id = stream.replayAs ?? message.id;
      stream.owed.delete(id);
      if (id !== message.id) message = { ...message, id };
    }
    this.#dispatch(message);
  }

  /** A JSON body: one message or a batch. Invalid ones go to `onerror`; if none is valid, throws. */
  #deliverJson(text: string): void {
    const data = parseJson(text);
    const items: unknown[] = Array.isArray(data) ? data : [data];
    const messages = items.map((item) => JSONRPCMessageSchema.safeParse(item));
    if (!messages.some((m) => m.success)) {
      throw protocolError('the server answered with no valid JSON-RPC message', {
        cause: messages.find((m) => !m.success)?.error,
      });
    }
    for (const parsed of messages) {
      if (parsed.success) this.#dispatch(parsed.data);
      else this.#report(parsed.error);
    }
  }

  #dispatch(message: JSONRPCMessage): void {
    this.#delivery.push(message);
  }

  /** The SDK's backoff, or the server's `retry:`; gives up after `maxAttempts` failures in a row. */
  #scheduleReopen(stream: SseStream, attempt: number): void {
    if (attempt >= REOPEN.maxAttempts) {
      this.#report(
        new GatehouseError('UPSTREAM_CLOSED', `the SSE stream was not reopened after ${attempt} attempts`),
      );
      return;
    }
    const backoff = REOPEN.initialDelayMs * REOPEN.growFactor ** attempt;
    const delay = this.#retryMs ?? Math.min(backoff, REOPEN.maxDelayMs);
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.#openGet(stream).catch((error: unknown) => {
        if (this.#closed) return;
        this.#report(error);
        this.#scheduleReopen(stream, attempt + 1);
      });
    }, delay);
    // A pending reopen alone should not keep the process alive.
    timer.unref();
    this.#timers.add(timer);
  }

  #headers(accept?: string): Record<string, string> {
    const headers: Record<string, string> = {};
    // Spec, "Session Management" and "Protocol Version Header": both on every request once known.
    if (this.#sessionId !== undefined) headers['mcp-session-id'] = this.#sessionId;
    if (this.#protocolVersion !== undefined) headers['mcp-protocol-version'] = this.#protocolVersion;
    Object.assign(headers, this.#userHeaders);
    if (accept !== undefined) headers.accept = accept;
    return headers;
  }

  /**
   * One request, following redirects only within the endpoint's origin (as the SDK's default
   * policy): the OAuth engine's fetch leaves redirects to us so a token never leaves its origin.
   */
  async #exchange(method: string, headers: Record<string, string>, body?: string): Promise<Response> {
    let url = this.#url;
    for (let hops = 0; ; hops++) {
      // A fresh signal per request: undici keeps one listener per request on the signal it gets,
      // so one long-lived signal for every request would collect them.
      const signals = this.#userSignal ? [this.#abort.signal, this.#userSignal] : [this.#abort.signal];
      const signal = AbortSignal.any(signals);
      const response = await this.#fetch(url, {
        ...this.#init,
        method,
        headers,
        body,
        redirect: 'manual',
        signal,
      });
      // Spec, "Session Management": the server assigns the session id in a response header.
      const sessionId = response.headers.get('mcp-session-id');
      if (sessionId !== null) this.#sessionId = sessionId;
      const target = hops < MAX_REDIRECTS ? followWithinOrigin(response, url, method) : undefined;
      if (target === undefined) return response;
      await response.body?.cancel();
      url = target;
    }
  }

  /** Errors after close() are the abort itself: nobody is listening for them. */
  #report(error: unknown): void {
    if (this.#closed) return;
    this.onerror?.(error instanceof Error ? error : new GatehouseError('INTERNAL', String(error)));
  }
}

function sseStream(standalone: boolean, options: TransportSendOptions | undefined): SseStream {
  return {
    standalone,
    lastEventId: undefined,
    owed: new Set(),
    replayAs: undefined,
    onresumptiontoken: options?.onresumptiontoken,
  };
}

function isInitialized(message: JSONRPCMessage): boolean {
  return 'method' in message && !('id' in message) && message.method === 'notifications/initialized';
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw protocolError(`the server sent invalid JSON: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * One answer that breaks the protocol fails its request, not the connection: `policy.ts` retries
 * nothing for it and `connection.ts` keeps the session (other calls in flight are fine).
 */
function protocolError(message: string, options?: { cause?: unknown }): GatehouseError {
  return new GatehouseError('UPSTREAM_PROTOCOL_ERROR', message, options);
}

function firstAnswer(response: Response): FirstAnswer {
  const contentType = mediaTypeEssence(response.headers.get('content-type'))?.toLowerCase();
  return { method: 'POST', status: response.status, contentType };
}

/**
 * The error for a non-OK response; `policy.ts` classifies it by `code`, the HTTP status. The body
 * goes into the message only when it is text meant for a program (JSON or plain text), shortened.
 */
async function httpError(response: Response, url: URL, method: string): Promise<StreamableHTTPError> {
  if (isRedirect(response.status)) {
    await response.body?.cancel();
    const target = redirectHop(response, url, method)?.url;
    const where = target ? `${target.origin}${target.pathname}` : 'elsewhere';
    return new StreamableHTTPError(response.status, `${method}: redirect to ${where} not followed`);
  }
  const type = mediaTypeEssence(response.headers.get('content-type'))?.toLowerCase();
  const readable = type === undefined || type === 'application/json' || type === 'text/plain';
  const text = readable ? await response.text().catch(() => '') : '';
  if (!readable) await response.body?.cancel();
  // Markup is no message for the dashboard, whatever the content type claims.
  const detail = (/^\s*</.test(text) ? '' : text.slice(0, ERROR_BODY_CHARS)) || response.statusText;
  return new StreamableHTTPError(response.status, `${method} answered ${response.status}: ${detail}`);
}

/**
 * Where to follow a redirect to, if anywhere: the same origin (or its https form on default ports),
 * no new credentials in the URL, and the method kept (as the SDK: only 307 and 308 for anything but
 * GET, so a POST keeps its body).
 */
function followWithinOrigin(response: Response, from: URL, method: string): URL | undefined {
  if (method !== 'GET' && response.status !== 307 && response.status !== 308) return undefined;
  const hop = redirectHop(response, from, method);
  if (hop === undefined) return undefined;
  const to = hop.url;
  if ((to.username || to.password) && (to.username !== from.username || to.password !== from.password)) {
    return undefined;
  }
  const sameOrigin = to.protocol === from.protocol && to.host === from.host;
  const upgraded =
    from.protocol === 'http:' &&
    to.protocol === 'https:' &&
    to.hostname === from.hostname &&
    !from.port &&
    !to.port;
  return sameOrigin || upgraded ? to : undefined;
}
