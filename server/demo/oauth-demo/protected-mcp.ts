/**
 * The protected MCP endpoint (`/mcp`, Streamable HTTP with sessions) and its protected resource
 * metadata (RFC 9728, at the path-inserted well-known URL). Every request needs a valid bearer
 * token; a session belongs to the account (`sub`) that opened it.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { bearerChallenge, bearerVerifier } from './bearer.js';
import { buildProtectedServer } from './resource-tools.js';

export interface ProtectedMcpOptions {
  origin: string;
  issuer: string;
  jwksUri: string;
  scopes: string[];
}

export interface ProtectedMcp {
  /** The MCP endpoint, which is also its resource identifier (the tokens' `aud`). */
  resource: string;
  metadataUrl: string;
  /** Answers the request when it is one of ours; returns false otherwise. */
  handle(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<boolean>;
  close(): Promise<void>;
}

interface Session {
  transport: StreamableHTTPServerTransport;
  subject: string;
}

/** Sessions beyond this close the oldest: a client that never says goodbye cannot pile them up. */
const MAX_SESSIONS = 50;
const MAX_BODY_BYTES = 1_000_000;

export function createProtectedMcp(options: ProtectedMcpOptions): ProtectedMcp {
  const resource = `${options.origin}/mcp`;
  const metadataPath = '/.well-known/oauth-protected-resource/mcp';
  const metadataUrl = `${options.origin}${metadataPath}`;
  const verify = bearerVerifier({ ...options, resource, requiredScopes: options.scopes });
  const allowedHosts = new Set([new URL(options.origin).host, `localhost:${new URL(options.origin).port}`]);
  const sessions = new Map<string, Session>();

  const handleMcp = async (req: IncomingMessage, res: ServerResponse) => {
    // DNS rebinding: a local server answers only to its own host names.
    if (!allowedHosts.has(req.headers.host ?? '')) return sendJson(res, 403, { error: 'forbidden_host' });
    const checked = await verify(req.headers.authorization);
    if (checked.kind !== 'ok') {
      const { status, header } = bearerChallenge(checked, metadataUrl, options.scopes);
      res.setHeader('www-authenticate', header);
      return sendJson(res, status, { error: checked.kind === 'missing' ? 'unauthorized' : checked.kind });
    }
    const body = req.method === 'POST' ? await readJson(req) : undefined;
    if (body instanceof Error) return sendJson(res, 400, rpcError(-32700, body.message));
    const request = Object.assign(req, { auth: checked.auth });

    const sessionId = req.headers['mcp-session-id'];
    if (typeof sessionId === 'string') {
      const session = sessions.get(sessionId);
      // Another account's session id is as unknown as an expired one.
      if (!session || session.subject !== checked.subject)
        return sendJson(res, 404, rpcError(-32001, 'Session not found'));
      return session.transport.handleRequest(request, res, body);
    }
    if (req.method !== 'POST' || !isInitializeRequest(body))
      return sendJson(res, 400, rpcError(-32000, 'Bad Request: No valid session ID provided'));

    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: randomUUID,
      onsessioninitialized: (id) => {
        sessions.set(id, { transport, subject: checked.subject });
        const oldest = sessions.keys().next().value;
        if (sessions.size > MAX_SESSIONS && oldest !== undefined)
          void sessions.get(oldest)?.transport.close();
      },
    });
    // Set before connect(), which chains it with the server's own close handling.
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    await buildProtectedServer().connect(transport);
    await transport.handleRequest(request, res, body);
  };

  return {
    resource,
    metadataUrl,
    async handle(req, res, pathname) {
      if (pathname === metadataPath) {
        sendJson(res, 200, {
          resource,
          authorization_servers: [options.issuer],
          scopes_supported: options.scopes,
          bearer_methods_supported: ['header'],
          resource_name: 'Gatehouse OAuth demo',
        });
        return true;
      }
      if (pathname !== '/mcp') return false;
      await handleMcp(req, res);
      return true;
    },
    async close() {
      await Promise.all([...sessions.values()].map((s) => s.transport.close()));
      sessions.clear();
    },
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function rpcError(code: number, message: string) {
  return { jsonrpc: '2.0', error: { code, message }, id: null };
}

/** The parsed JSON body, or an Error saying why there is none. */
async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return new Error('Request body too large');
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    return new Error('Parse error: the body is not JSON');
  }
}
