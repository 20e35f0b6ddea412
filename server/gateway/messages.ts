/**
 * JSON-RPC envelopes on the gateway's inbound transport: a cheap structural check of what a client
 * sent, and serialization that can reuse list results serialized once per catalog change.
 *
 * The check is only the envelope (JSON-RPC 2.0 §4, §5): the SDK's Protocol validates each
 * request's params against its method's schema before a handler runs.
 */
import type { ServerResponse } from 'node:http';
import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { ERROR_TABLE, rpcCodeOf, type ErrorCode } from '../errors.js';
import { withPlainErrorText } from '../upstream/mcp-error-text.js';

export type ClassifiedMessage =
  | { kind: 'request'; id: RequestId; method: string; message: JSONRPCMessage }
  | { kind: 'notification'; method: string; message: JSONRPCMessage }
  | { kind: 'response'; id: RequestId; message: JSONRPCMessage }
  | { kind: 'invalid' };

export type ValidMessage = Exclude<ClassifiedMessage, { kind: 'invalid' }>;

/** What a single JSON value sent by a client is, as a JSON-RPC 2.0 message. */
export function classifyMessage(value: unknown): ClassifiedMessage {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { kind: 'invalid' };
  const m = value as Record<string, unknown>;
  if (m.jsonrpc !== '2.0') return { kind: 'invalid' };
  const message = value as JSONRPCMessage;
  const hasId = 'id' in m;
  const id = m.id;
  // MCP: request ids are strings or integers, never null.
  const validId = typeof id === 'string' || (typeof id === 'number' && Number.isInteger(id));
  if (hasId && !validId) return { kind: 'invalid' };
  if (m.params !== undefined && (typeof m.params !== 'object' || m.params === null))
    return { kind: 'invalid' };
  if (typeof m.method === 'string') {
    return hasId
      ? { kind: 'request', id: id as RequestId, method: m.method, message }
      : { kind: 'notification', method: m.method, message };
  }
  // JSON-RPC 2.0 §5: exactly one of `result` and `error`.
  if (!hasId || 'method' in m || ('result' in m && 'error' in m)) return { kind: 'invalid' };
  const isResult = 'result' in m && typeof m.result === 'object' && m.result !== null;
  const error = m.error as { code?: unknown; message?: unknown } | undefined;
  const isError =
    typeof error === 'object' &&
    error !== null &&
    Number.isInteger(error.code) &&
    typeof error.message === 'string';
  if (isResult === isError) return { kind: 'invalid' };
  return { kind: 'response', id: id as RequestId, message };
}

const RAW_JSON = Symbol('gatehouse.rawJson');

/**
 * Marks a handler's result with its JSON text, serialized beforehand. The inbound transport then
 * writes that text instead of serializing the object again; any other transport ignores the mark
 * (JSON.stringify skips symbol keys). The caller guarantees `json` is `JSON.stringify(result)`.
 */
export function withJson<T extends object>(result: T, json: string): T {
  Object.defineProperty(result, RAW_JSON, { value: json, enumerable: false });
  return result;
}

/**
 * The JSON text of an outgoing message, reusing a result's pre-serialized text. An error response
 * goes out with its text unprefixed (mcp-error-text.ts says why).
 */
export function messageJson(message: JSONRPCMessage): string {
  const result = (message as { result?: unknown }).result;
  const raw =
    typeof result === 'object' && result !== null ? (result as Record<symbol, unknown>)[RAW_JSON] : undefined;
  if (typeof raw !== 'string') return JSON.stringify(withPlainErrorText(message));
  const id = JSON.stringify((message as { id: RequestId }).id);
  return `{"jsonrpc":"2.0","id":${id},"result":${raw}}`;
}

/** A transport-level refusal of an HTTP request to the MCP endpoint. */
export interface Refusal {
  status: number;
  /** A JSON-RPC error with `id: null` (no request id is known at this level). */
  body: string;
}

/**
 * The one mapping of a transport-level refusal: HTTP status and JSON-RPC code from the error table,
 * Gatehouse's stable code in `data` (as in MCP error results), the table's message unless given.
 */
export function refusal(code: ErrorCode, message: string = ERROR_TABLE[code].message): Refusal {
  const error = { code: rpcCodeOf(code), message, data: { code } };
  return { status: ERROR_TABLE[code].status, body: JSON.stringify({ jsonrpc: '2.0', error, id: null }) };
}

/** Writes a refusal on a raw response (a hijacked reply, or the inbound transport's own). */
export function writeRefusal(
  res: ServerResponse,
  code: ErrorCode,
  message?: string,
  headers: Record<string, string> = {},
): void {
  const { status, body } = refusal(code, message);
  res.writeHead(status, { ...headers, 'content-type': 'application/json' }).end(body);
}
