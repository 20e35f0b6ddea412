import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { checkHostAndOrigin } from '../security/inbound.js';
import { rpcError } from './messages.js';
import type { Gateway } from './gateway.js';

interface ScopeParams {
  name?: string;
}

/**
 * The aggregated MCP endpoint: Streamable HTTP at /mcp and /mcp/:name (a group or one server),
 * legacy HTTP+SSE at /sse (+ /sse/:name) with POSTs to /messages.
 */
export async function gatewayRoutes(
  app: FastifyInstance,
  opts: { gateway: Gateway; allowedHosts: () => Set<string> },
): Promise<void> {
  const { gateway } = opts;

  app.addHook('onRequest', async (req, reply) => {
    const verdict = checkHostAndOrigin(req.headers, opts.allowedHosts());
    if (!verdict.ok) {
      req.log.warn({ reason: verdict.reason }, 'MCP request refused');
      return reply.code(403).send(rpcError(-32000, `Forbidden: ${verdict.reason}`));
    }
  });

  // A malformed body is a JSON-RPC parse error, not Fastify's generic 400.
  app.setErrorHandler((error: { statusCode?: number; code?: string; message: string }, _req, reply) => {
    if (error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
      return reply.code(400).send(rpcError(-32700, `Parse error: ${error.message}`));
    }
    if (error.statusCode === 415 || error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return reply.code(415).send(rpcError(-32000, 'Unsupported Media Type: use application/json'));
    }
    app.log.error({ err: error.message }, 'MCP route failed');
    return reply.code(error.statusCode ?? 500).send(rpcError(-32603, 'Internal error'));
  });

  const scopeOf = (req: FastifyRequest<{ Params: ScopeParams }>) => req.params.name ?? '';

  const streamable = async (req: FastifyRequest<{ Params: ScopeParams }>, reply: FastifyReply) => {
    const scopeName = scopeOf(req);
    const scope = gateway.scope(scopeName);
    if (!scope) return reply.code(404).send(rpcError(-32000, `No server or group named "${scopeName}"`));

    const header = req.headers['mcp-session-id'];
    const sessionId = Array.isArray(header) ? header[0] : header;
    if (sessionId !== undefined) {
      const session = gateway.session(sessionId, scopeName);
      // MCP spec (Streamable HTTP): a request with an unknown or terminated session ID gets 404.
      if (!session) return reply.code(404).send(rpcError(-32001, 'Session not found'));
      reply.hijack();
      await session.handle(req.raw, reply.raw, req.body);
      return;
    }
    if (req.method === 'POST' && isInitializeRequest(req.body)) {
      const transport = await gateway.openStreamable(scopeName, scope);
      reply.hijack();
      await transport.handleRequest(req.raw, reply.raw, req.body);
      return;
    }
    return reply.code(400).send(rpcError(-32000, 'Bad Request: no valid session ID provided'));
  };

  for (const path of ['/mcp', '/mcp/:name']) {
    app.post(path, streamable);
    app.get(path, streamable);
    app.delete(path, streamable);
  }

  const sse = async (req: FastifyRequest<{ Params: ScopeParams }>, reply: FastifyReply) => {
    const scopeName = scopeOf(req);
    const scope = gateway.scope(scopeName);
    if (!scope) return reply.code(404).send({ error: `No server or group named "${scopeName}"` });
    reply.hijack();
    await gateway.openSse(scopeName, scope, '/messages', reply.raw);
  };
  app.get('/sse', sse);
  app.get('/sse/:name', sse);

  app.post('/messages', async (req: FastifyRequest<{ Querystring: { sessionId?: string } }>, reply) => {
    const id = req.query.sessionId;
    if (!id) return reply.code(400).send(rpcError(-32000, 'Missing sessionId'));
    reply.hijack();
    const handled = await gateway.handleSsePost(id, req.raw, reply.raw, req.body);
    if (!handled) {
      reply.raw.writeHead(404, { 'content-type': 'application/json' });
      reply.raw.end(JSON.stringify(rpcError(-32001, 'Session not found')));
    }
  });
}
