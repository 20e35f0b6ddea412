/**
 * One "MCP error <code>: " prefix, never two.
 *
 * The SDK's McpError puts "MCP error <code>: " in front of its message, and the SDK's Protocol
 * answers a request whose handler threw with that whole `error.message` as the JSON-RPC message.
 * The receiving side builds an McpError from it and prefixes again, so an error that crosses the
 * gateway (upstream → Gatehouse → client, or client → Gatehouse → upstream) would read
 * `MCP error -32600: MCP error -32600: …`. Every error Gatehouse sends carries the text without
 * the prefix; the receiver adds it once.
 */
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/** `message` without the leading "MCP error <code>: " prefixes McpError added for this `code`. */
export function plainErrorText(code: number, message: string): string {
  const prefix = `MCP error ${code}: `;
  let text = message;
  while (text.startsWith(prefix)) text = text.slice(prefix.length);
  return text;
}

/** An error response with its text unprefixed; any other message (the hot path) as it is. */
export function withPlainErrorText(message: JSONRPCMessage): JSONRPCMessage {
  if (!('error' in message)) return message;
  const error = message.error;
  const text = plainErrorText(error.code, error.message);
  return text === error.message ? message : { ...message, error: { ...error, message: text } };
}

/** Makes `transport` send error responses with their text unprefixed (see the module comment). */
export function sendingPlainErrors<T extends Transport>(transport: T): T {
  const send = transport.send.bind(transport);
  transport.send = (message, options) => send(withPlainErrorText(message), options);
  return transport;
}
