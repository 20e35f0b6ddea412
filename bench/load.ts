/**
 * Client side of the benchmarks: SDK clients over Streamable HTTP, and a closed loop in which each
 * session makes one call after another. Every loop is bounded by a call count and a duration.
 */
import { performance } from 'node:perf_hooks';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

/** `fetch`: how the session's requests go out (default: global fetch to `url`). */
export async function openSession(url: string, fetch?: typeof globalThis.fetch): Promise<Client> {
  const client = new Client({ name: 'gatehouse-bench', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), fetch ? { fetch } : undefined));
  return client;
}

/** Opens `count` sessions, `parallel` at a time. */
export async function openSessions(url: string, count: number, parallel = 16): Promise<Client[]> {
  const clients: Client[] = [];
  for (let i = 0; i < count; i += parallel) {
    const batch = Math.min(parallel, count - i);
    clients.push(...(await Promise.all(Array.from({ length: batch }, () => openSession(url)))));
  }
  return clients;
}

export async function closeSessions(clients: readonly Client[]): Promise<void> {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
}

export interface LoopResult {
  /** Latency of each successful call in ms. */
  latencies: number[];
  calls: number;
  failed: number;
  /** A few distinct error messages, for the report. */
  errors: string[];
  elapsedMs: number;
}

export interface LoopOptions {
  durationMs: number;
  /** Upper bound on calls across all sessions. */
  maxCalls: number;
}

/** One call: resolves when answered; a rejection or `isError` result counts as a failure. */
export type Call = (client: Client, session: number) => Promise<unknown>;

/** Every session calls back to back until the time or the call budget is used up. */
export async function closedLoop(
  clients: readonly Client[],
  call: Call,
  options: LoopOptions,
): Promise<LoopResult> {
  const result: LoopResult = { latencies: [], calls: 0, failed: 0, errors: [], elapsedMs: 0 };
  const started = performance.now();
  const deadline = started + options.durationMs;
  let budget = options.maxCalls;
  await Promise.all(
    clients.map(async (client, session) => {
      while (budget > 0 && performance.now() < deadline) {
        budget--;
        const t0 = performance.now();
        try {
          const answer = await call(client, session);
          const latency = performance.now() - t0;
          if ((answer as { isError?: boolean } | undefined)?.isError) throw new Error(JSON.stringify(answer));
          result.latencies.push(latency);
        } catch (error) {
          result.failed++;
          const message = error instanceof Error ? error.message : String(error);
          if (result.errors.length < 5 && !result.errors.includes(message)) result.errors.push(message);
        }
        result.calls++;
      }
    }),
  );
  result.elapsedMs = performance.now() - started;
  return result;
}

/** `echo` with a short text, as `tool` (the exposed name differs through the gateway). */
export function echoCall(tool: string): Call {
  return (client, session) => client.callTool({ name: tool, arguments: { text: `hello from ${session}` } });
}

/**
 * The same session over plain fetch: one JSON-RPC request, the whole response body read but not
 * parsed or validated. Separates the gateway's time from the SDK client's validation of large lists.
 */
export function rawCall(url: string, client: Client, method: string, onBody?: (text: string) => void): Call {
  const sessionId = (client.transport as StreamableHTTPClientTransport | undefined)?.sessionId;
  if (!sessionId) throw new Error('the session has no id');
  let id = 1_000_000;
  return async () => {
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': sessionId,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: id++, method, params: {} }),
    });
    const text = await response.text();
    if (!response.ok || !text.includes('"result"'))
      throw new Error(`${response.status}: ${text.slice(0, 200)}`);
    onBody?.(text);
    return undefined;
  };
}
