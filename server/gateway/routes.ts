import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { GatehouseError, isGatehouseError, type ErrorCode } from '../errors.js';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../json-depth.js';
import { checkHostAndOrigin } from '../security/inbound.js';
import type { AuthVerdict, InboundAuthenticator } from '../security/inbound-auth.js';
import { scopeFor, type Principal } from '../security/principal.js';
import { refusal, writeRefusal } from './messages.js';
import type { Gateway } from './gateway.js';

interface ScopeParams {
  name?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Who sent an MCP request (set by the MCP routes' auth hook). */
    principal: Principal | null;
  }
}

/**
 * The aggregated MCP endpoint: Streamable HTTP at /mcp and /mcp/:name (a group or one server),
 * legacy HTTP+SSE at /sse (+ /sse/:name) with POSTs to /messages.
 */
export async function gatewayRoutes(
  app: FastifyInstance,
  opts: {
    gateway: Gateway;
    allowedHosts: () => Set<string>;
    auth: InboundAuthenticator;
    /** The base URL a request was sent to (resource URLs and metadata URLs in challenges). */
    baseUrl: (req: FastifyRequest) => string;
  },
): Promise<void> {
  const { gateway } = opts;
  app.decorateRequest('principal', null);

  /** The protected resource a request is for: `/mcp`, `/mcp/<name>`, `/sse`, `/sse/<name>`. */
  const resourcePath = (req: FastifyRequest): string => {
    const name = (req.params as ScopeParams | undefined)?.name;
    const base = req.url.startsWith('/mcp') ? '/mcp' : '/sse';
    return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
  };
  const scopeOfPath = (req: FastifyRequest): string => {
    const name = (req.params as ScopeParams | undefined)?.name ?? '';
    return scopeFor(name, gateway.isGroup(name));
  };
  /** RFC 6750 §3 / RFC 9728 §5.1: where to learn how to get a token, and which scope it needs. */
  const challenge = (req: FastifyRequest, error?: 'invalid_token' | 'insufficient_scope'): string => {
    const metadata = `${opts.baseUrl(req)}/.well-known/oauth-protected-resource${resourcePath(req)}`;
    const parts = [`resource_metadata="${metadata}"`, `scope="${scopeOfPath(req)}"`];
    if (error) parts.unshift(`error="${error}"`);
    return `Bearer ${parts.join(', ')}`;
  };

  app.addHook('onRequest', async (req, reply) => {
    // Shutting down: the calls in flight finish, nothing new starts (the load balancer, told by
    // /readyz, sends it elsewhere; this connection is not kept).
    if (gateway.draining) {
      reply.header('retry-after', '1').header('connection', 'close');
      return refuse(reply, 'SHUTTING_DOWN');
    }
    const verdict = checkHostAndOrigin(req.headers, opts.allowedHosts());
    if (!verdict.ok) {
      req.log.warn({ reason: verdict.reason }, 'MCP request refused');
      return refuse(reply, 'ORIGIN_REJECTED', `Forbidden: ${verdict.reason}`);
    }
    const auth = await opts.auth.authenticate(req.headers.authorization, req.ip);
    if (!auth.ok) return unauthorized(req, reply, auth);
    req.principal = auth.principal;
  });

  const unauthorized = (
    req: FastifyRequest,
    reply: FastifyReply,
    verdict: Exclude<AuthVerdict, { ok: true }>,
  ) => {
    if (verdict.reason === 'rate_limited') {
      reply.header('retry-after', String(verdict.retryAfterSeconds));
      return refuse(reply, 'RATE_LIMITED', 'Too many failed authentications; try again later');
    }
    reply.header(
      'www-authenticate',
      challenge(req, verdict.reason === 'invalid' ? 'invalid_token' : undefined),
    );
    return refuse(
      reply,
      'INBOUND_UNAUTHORIZED',
      verdict.reason === 'invalid'
        ? 'Unauthorized: the access token or API key is not valid (unknown, expired or revoked)'
        : 'Unauthorized: send an access token or API key (Authorization: Bearer …)',
    );
  };

  /** 403 insufficient_scope when the caller's scopes reach none of the path's servers. */
  const outOfScope = (
    req: FastifyRequest,
    reply: FastifyReply,
    scopeName: string,
  ): FastifyReply | undefined => {
    if (gateway.reaches(scopeName, req.principal!)) return undefined;
    reply.header('www-authenticate', challenge(req, 'insufficient_scope'));
    return refuse(
      reply,
      'INBOUND_INSUFFICIENT_SCOPE',
      `Forbidden: the credential's scopes do not cover this endpoint (it needs ${scopeOfPath(req)})`,
    );
  };

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
    const principal = req.principal!;
    const refused = outOfScope(req, reply, scopeName);
    if (refused) return refused;

    const header = req.headers['mcp-session-id'];
    const sessionId = Array.isArray(header) ? header[0] : header;
    if (sessionId !== undefined) {
      const held = gateway.session(sessionId, scopeName, principal);
      // Issue 15: a session another replica opened is rebuilt here from the shared store (only a
      // miss asks the store; STORE_UNAVAILABLE goes to the error handler as a 503).
      const session = held === 'not_found' ? await gateway.rebuild(sessionId, scopeName, principal) : held;
      // MCP spec (Streamable HTTP): a request with an unknown or terminated session ID gets 404.
      if (session === 'not_found') return refuse(reply, 'SESSION_NOT_FOUND');
      if (session === 'mismatch') return refuse(reply, 'INBOUND_SESSION_MISMATCH');
      reply.hijack();
      await session.handle(req.raw, reply.raw, req.body);
      return;
    }
    if (req.method === 'POST' && isInitializeRequest(req.body)) {
      const transport = await gateway.openStreamable(scopeName, scope, principal);
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
    const refused = outOfScope(req, reply, scopeName);
    if (refused) return refused;
    reply.hijack();
    await gateway.openSse(scopeName, scope, '/messages', reply.raw, req.principal!);
  };
  app.get('/sse', sse);
  app.get('/sse/:name', sse);

  app.post('/messages', async (req: FastifyRequest<{ Querystring: { sessionId?: string } }>, reply) => {
    const id = req.query.sessionId;
    if (!id) return refuse(reply, 'MCP_BAD_REQUEST', 'Bad Request: Missing sessionId');
    reply.hijack();
    const handled = await gateway.handleSsePost(id, req.raw, reply.raw, req.body, req.principal!);
    if (handled === 'not_found') writeRefusal(reply.raw, 'SESSION_NOT_FOUND');
    else if (handled === 'mismatch') writeRefusal(reply.raw, 'INBOUND_SESSION_MISMATCH');
  });
}

/** Answers with a transport-level refusal: status, JSON-RPC code and message from the error table. */
function refuse(reply: FastifyReply, code: ErrorCode, message?: string): FastifyReply {
  const { status, body } = refusal(code, message);
  return reply.code(status).type('application/json').send(body);
}
