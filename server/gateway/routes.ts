import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { GatehouseError, isGatehouseError, type ErrorCode } from '../errors.js';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../json-depth.js';
import { checkHostAndOrigin } from '../security/inbound.js';
import { refusal, writeRefusal } from './messages.js';
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
      return refuse(reply, 'ORIGIN_REJECTED', `Forbidden: ${verdict.reason}`);
    }
  });

  // The body's text is in hand here, once per request: a message nested deeper than any real one
  // is refused before anything recursive walks it (the SDK's schemas, JSON.stringify on its way
  // upstream, where a few thousand levels overflow the stack). The session is not touched.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  // MCP messages are JSON; any other body (text/plain included) is 415.
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = body as string;
    if (nestsDeeperThan(text, MAX_JSON_DEPTH)) return done(new GatehouseError('MCP_MESSAGE_TOO_DEEP'));
    // Fastify's own parser answers through `done` (its type also allows a promise-returning one).
    void parseJson(req, text, done);
  });

  // Every refusal is a JSON-RPC error from the error table, not Fastify's generic 400.
  app.setErrorHandler((error: { statusCode?: number; code?: string; message: string }, _req, reply) => {
    if (isGatehouseError(error)) return refuse(reply, error.code, error.message);
    if (error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
      return refuse(reply, 'MCP_PARSE_ERROR', `Parse error: ${error.message}`);
    }
    if (error.statusCode === 415 || error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return refuse(reply, 'MCP_UNSUPPORTED_MEDIA_TYPE');
    }
    if (error.statusCode === 413) return refuse(reply, 'MCP_BODY_TOO_LARGE');
    // What else a client can cause is a body the JSON parser refused (prototype poisoning, say).
    if (error.statusCode === 400) return refuse(reply, 'MCP_PARSE_ERROR', `Parse error: ${error.message}`);
    app.log.error({ err: error.message }, 'MCP route failed');
    return refuse(reply, 'INTERNAL');
  });

  const scopeOf = (req: FastifyRequest<{ Params: ScopeParams }>) => req.params.name ?? '';

  const streamable = async (req: FastifyRequest<{ Params: ScopeParams }>, reply: FastifyReply) => {
    const scopeName = scopeOf(req);
    const scope = gateway.scope(scopeName);
    if (!scope) return refuse(reply, 'SERVER_NOT_FOUND', `No server or group named "${scopeName}"`);

    const header = req.headers['mcp-session-id'];
    const sessionId = Array.isArray(header) ? header[0] : header;
    if (sessionId !== undefined) {
      const session = gateway.session(sessionId, scopeName);
      // MCP spec (Streamable HTTP): a request with an unknown or terminated session ID gets 404.
      if (!session) return refuse(reply, 'SESSION_NOT_FOUND');
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
    return refuse(reply, 'MCP_BAD_REQUEST', 'Bad Request: no valid session ID provided');
  };

  for (const path of ['/mcp', '/mcp/:name']) {
    app.post(path, streamable);
    app.get(path, streamable);
    app.delete(path, streamable);
  }

  const sse = async (req: FastifyRequest<{ Params: ScopeParams }>, reply: FastifyReply) => {
    const scopeName = scopeOf(req);
    const scope = gateway.scope(scopeName);
    if (!scope) return refuse(reply, 'SERVER_NOT_FOUND', `No server or group named "${scopeName}"`);
    reply.hijack();
    await gateway.openSse(scopeName, scope, '/messages', reply.raw);
  };
  app.get('/sse', sse);
  app.get('/sse/:name', sse);

  app.post('/messages', async (req: FastifyRequest<{ Querystring: { sessionId?: string } }>, reply) => {
    const id = req.query.sessionId;
    if (!id) return refuse(reply, 'MCP_BAD_REQUEST', 'Bad Request: Missing sessionId');
    reply.hijack();
    const handled = await gateway.handleSsePost(id, req.raw, reply.raw, req.body);
    if (!handled) writeRefusal(reply.raw, 'SESSION_NOT_FOUND');
  });
}

/** Answers with a transport-level refusal: status, JSON-RPC code and message from the error table. */
function refuse(reply: FastifyReply, code: ErrorCode, message?: string): FastifyReply {
  const { status, body } = refusal(code, message);
  return reply.code(status).type('application/json').send(body);
}
