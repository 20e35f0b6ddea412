import { SSEClientTransport, SseError } from '@modelcontextprotocol/sdk/client/sse.js';
import { mediaTypeEssence } from '@modelcontextprotocol/sdk/shared/mediaType.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { GatehouseError } from '../errors.js';
import type { FetchLike } from '../http-fetch.js';
import type { ServerConfig } from '../settings/types.js';
import type { BoundedLog } from './bounded-log.js';
import { sendingPlainErrors } from './mcp-error-text.js';
import { isNotMcpAnswer, notMcpEndpoint, type FirstAnswer } from './policy.js';
import { StdioTransport } from './stdio-transport.js';
import { StreamableClientTransport } from './streamable-client.js';

export type { FetchLike };
export type TransportKind = 'stdio' | 'sse' | 'streamable-http';

export interface TransportDeps {
  stderr: BoundedLog;
  /** The OAuth engine's fetch for HTTP upstreams; plain fetch otherwise. */
  fetch: FetchLike | undefined;
}

/** Variables a stdio child gets besides the ones its entry names. */
const INHERITED_ENV = ['PATH', 'HOME'] as const;

/**
 * The environment of a stdio upstream: PATH and HOME from the gateway, then exactly what the
 * entry names. Nothing else of the gateway's environment (its secrets, its admin token) leaks.
 */
export function childEnvironment(
  entryEnv: Record<string, string>,
  gatewayEnv: NodeJS.ProcessEnv,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of INHERITED_ENV) {
    const value = gatewayEnv[key];
    if (value !== undefined) env[key] = value;
  }
  return { ...env, ...entryEnv };
}

/**
 * Builds the client transport for one connection attempt: the SDK's for legacy SSE, ours for stdio
 * and Streamable HTTP (streamable-client.ts says why). Each sends its error responses with one
 * "MCP error" prefix at most (mcp-error-text.ts).
 * @throws GatehouseError `SETTINGS_INVALID` when the entry does not fit the transport
 */
export function createTransport(kind: TransportKind, config: ServerConfig, deps: TransportDeps): Transport {
  return sendingPlainErrors(buildTransport(kind, config, deps));
}

function buildTransport(kind: TransportKind, config: ServerConfig, deps: TransportDeps): Transport {
  const details = { server: config.name };
  if (kind === 'stdio') {
    if (config.type !== 'stdio') {
      throw new GatehouseError('SETTINGS_INVALID', `server "${config.name}" has no command`, { details });
    }
    return new StdioTransport({
      command: config.command,
      args: config.args,
      env: childEnvironment(config.env, process.env),
      cwd: config.cwd,
      stderr: deps.stderr,
    });
  }
  if (config.type === 'stdio') {
    throw new GatehouseError('SETTINGS_INVALID', `server "${config.name}" has no url`, { details });
  }
  let url: URL;
  try {
    url = new URL(config.url);
  } catch (cause) {
    throw new GatehouseError('SETTINGS_INVALID', `server "${config.name}" has no valid url`, {
      cause,
      details,
    });
  }
  const requestInit: RequestInit = { headers: config.headers };
  if (kind === 'sse') return new SseClientTransport(url, { requestInit, fetch: deps.fetch });
  return new StreamableClientTransport(url, { requestInit, fetch: deps.fetch });
}

/**
 * The SDK's legacy SSE client transport, whose failed start says what the URL answered when that
 * shows it is no MCP endpoint (an HTML page, say), instead of `SSE error: Invalid content type`.
 */
class SseClientTransport extends SSEClientTransport {
  readonly #seen: { answer?: FirstAnswer };

  constructor(url: URL, opts: { requestInit: RequestInit; fetch: FetchLike | undefined }) {
    const seen: { answer?: FirstAnswer } = {};
    const base: FetchLike = opts.fetch ?? ((input, init) => fetch(input, init));
    // The event stream's GETs only (the POSTs of messages do not go through it).
    const eventSourceFetch: FetchLike = async (input, init) => {
      const response = await base(input, init);
      const contentType = mediaTypeEssence(response.headers.get('content-type'))?.toLowerCase();
      seen.answer = { method: 'GET', status: response.status, contentType };
      return response;
    };
    super(url, { ...opts, eventSourceInit: { fetch: eventSourceFetch } });
    this.#seen = seen;
  }

  override async start(): Promise<void> {
    try {
      await super.start();
    } catch (error) {
      const answer = this.#seen.answer;
      if (error instanceof SseError && answer !== undefined && isNotMcpAnswer(answer)) {
        throw notMcpEndpoint(answer, error);
      }
      throw error;
    }
  }
}
