/**
 * Benchmark upstreams: real SDK MCP servers (McpServer + StreamableHTTPServerTransport, stateful
 * sessions) on node:http, 127.0.0.1 port 0, each with an `echo` tool and filler tools. They run in
 * child processes (upstream-host.ts) so their CPU never shares the measuring event loop.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  createServer,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

/** `echo` plus `tools - 1` fillers with a realistic description and input schema. */
function buildServer(label: string, tools: number): McpServer {
  const server = new McpServer({ name: `bench-${label}`, version: '1.0.0' });
  server.registerTool(
    'echo',
    { description: 'Echoes text back', inputSchema: { text: z.string() } },
    ({ text }) => ({
      content: [{ type: 'text', text }],
    }),
  );
  for (let i = 1; i < tools; i++) {
    const name = `filler_${String(i).padStart(2, '0')}`;
    server.registerTool(
      name,
      {
        description: `Filler tool ${i} of ${label}: searches an imaginary index and returns matching records`,
        inputSchema: { query: z.string().describe('What to look for'), limit: z.number().int().optional() },
      },
      () => ({ content: [{ type: 'text', text: name }] }),
    );
  }
  return server;
}

/** One upstream on its own port: `/mcp`, one McpServer per client session. */
export async function listenUpstream(
  label: string,
  tools: number,
): Promise<{ url: string; http: HttpServer }> {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const body = req.method === 'POST' ? await readJson(req) : undefined;
    const id = req.headers['mcp-session-id'];
    if (typeof id === 'string') {
      const transport = sessions.get(id);
      if (!transport) return void res.writeHead(404).end();
      return transport.handleRequest(req, res, body);
    }
    const server = buildServer(label, tools);
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (sid) => void sessions.set(sid, transport),
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  };
  const http = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(error));
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`, http };
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? (JSON.parse(text) as unknown) : undefined;
}

export interface Upstreams {
  urls: string[];
  pids: number[];
  stop(): Promise<void>;
}

/** How many upstreams one child process serves. */
const PER_PROCESS = 50;

/** Starts `count` upstreams of `tools` tools each, in ⌈count / 50⌉ child processes. */
export async function startUpstreams(count: number, tools: number): Promise<Upstreams> {
  const sizes: number[] = [];
  for (let left = count; left > 0; left -= PER_PROCESS) sizes.push(Math.min(PER_PROCESS, left));
  const hosts = await Promise.all(sizes.map((size, i) => startHost(i * PER_PROCESS, size, tools)));
  return {
    urls: hosts.flatMap((h) => h.urls),
    pids: hosts.map((h) => h.pid),
    stop: async () => void (await Promise.all(hosts.map((h) => h.stop()))),
  };
}

async function startHost(first: number, count: number, tools: number): Promise<Upstreams & { pid: number }> {
  const entry = join(import.meta.dirname, 'upstream-host.ts');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', entry, String(first), String(count), String(tools)],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout! });
  const urls = await new Promise<string[]>((resolve, reject) => {
    lines.once('line', (line) => resolve((JSON.parse(line) as { urls: string[] }).urls));
    void exited.then(() => reject(new Error('an upstream host exited before it was ready')));
  });
  return {
    urls,
    pid: child.pid!,
    pids: [child.pid!],
    stop: async () => {
      child.stdin!.end(); // the host exits when its stdin closes (also if this process dies)
      await exited;
    },
  };
}
