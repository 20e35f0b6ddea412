import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { FetchLike } from '../http-fetch.js';
import type { ServerConfig } from '../settings/types.js';
import type { BoundedLog } from './bounded-log.js';
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
 * and Streamable HTTP (streamable-client.ts says why).
 */
export function createTransport(kind: TransportKind, config: ServerConfig, deps: TransportDeps): Transport {
  if (kind === 'stdio') {
    if (config.type !== 'stdio') throw new Error(`server "${config.name}" has no command`);
    return new StdioTransport({
      command: config.command,
      args: config.args,
      env: childEnvironment(config.env, process.env),
      cwd: config.cwd,
      stderr: deps.stderr,
    });
  }
  if (config.type === 'stdio') throw new Error(`server "${config.name}" has no url`);
  const url = new URL(config.url);
  const requestInit: RequestInit = { headers: config.headers };
  if (kind === 'sse') {
    return new SSEClientTransport(url, { requestInit, fetch: deps.fetch });
  }
  return new StreamableClientTransport(url, { requestInit, fetch: deps.fetch });
}
