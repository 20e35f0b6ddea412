import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  CallToolRequestSchema,
  ResultSchema,
  type CallToolResult,
  GetPromptRequestSchema,
  GetPromptResultSchema,
  ListPromptsRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListResourcesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  ReadResourceResultSchema,
  type ServerNotification,
  type ServerRequest,
  UrlElicitationRequiredError,
} from '@modelcontextprotocol/sdk/types.js';
import { GatehouseError } from '../errors.js';
import type { Logger } from '../log.js';
import { covers, type Principal } from '../security/principal.js';
import type { UpstreamConnection } from '../upstream/connection.js';
import { LazyJsonSchemaValidator } from '../upstream/lazy-validator.js';
import type { ListKind } from '../upstream/lists.js';
import type { Catalog, Scope } from './catalog.js';
import { forwardOptions } from './forward-options.js';
import { toMcpError } from './mcp-errors.js';
import type { Caller, CallerRelay } from './relay.js';

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

export interface SessionDeps {
  catalog: Catalog;
  upstream: (server: string) => UpstreamConnection | undefined;
  /** Where a person authorizes a server (for error messages and URL elicitation). */
  authorizationHint: (server: string) => { url?: string; how: string };
  requestTimeoutMs: () => number;
  /** Lets the upstream ask this session's client (sampling, elicitation) during a call. */
  relay: CallerRelay;
  logger: Logger;
  serverInfo: { name: string; version: string };
  /** The groups a server is in now (for `mcp:group:<name>` scopes). */
  groupsOf: (server: string) => Iterable<string>;
}

/**
 * One inbound MCP session: an SDK low-level Server whose handlers answer lists from the catalog
 * and route calls to the owning upstream, passing progress and cancellation through.
 */
export function createSessionServer(
  scopeName: string,
  pathScope: Scope,
  principal: () => Principal,
  deps: SessionDeps,
): { server: Server; dispose: () => void } {
  const server = new Server(deps.serverInfo, {
    capabilities: {
      tools: { listChanged: true },
      prompts: { listChanged: true },
      resources: { listChanged: true },
    },
    jsonSchemaValidator: new LazyJsonSchemaValidator(),
  });
  const { catalog } = deps;
  // What this session reaches: the path's servers that the caller's scopes cover, as of the
  // current request (a refreshed token's scopes apply at once). `mcp:all` skips the second test.
  const scope: Scope = (server) => {
    if (!pathScope(server)) return false;
    const { grants } = principal();
    return grants.all || covers(grants, server, deps.groupsOf);
  };
  // List results are cached per path and per set of scopes: equal grants share one entry.
  const cacheKey = () => `${scopeName}\u0001${principal().grants.key}`;

  // Pagination (cursor) is not used: every list is answered whole.
  server.setRequestHandler(ListToolsRequestSchema, async () =>
    catalog.listResult('tools', cacheKey(), scope),
  );
  server.setRequestHandler(ListPromptsRequestSchema, async () =>
    catalog.listResult('prompts', cacheKey(), scope),
  );
  server.setRequestHandler(ListResourcesRequestSchema, async () =>
    catalog.listResult('resources', cacheKey(), scope),
  );
  server.setRequestHandler(ListResourceTemplatesRequestSchema, async () =>
    catalog.listResult('resourceTemplates', cacheKey(), scope),
  );

  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const exposed = request.params.name;
    const routed = catalog.resolveTool(exposed);
    // One answer for every unknown name (`plain`, `nosuchserver__x`, `demo__nosuchtool`); only a
    // name whose server is not connected is answered with that server's state instead.
    if (!routed || !scope(routed.server)) {
      throw toMcpError(new GatehouseError('TOOL_NOT_FOUND', `no tool named "${exposed}"`));
    }
    if (routed.name !== undefined && routed.disabled) {
      throw toMcpError(
        new GatehouseError('TOOL_DISABLED', `tool "${exposed}" is disabled in the settings`, {
          details: { server: routed.server },
        }),
      );
    }
    const upstreamName = routed.name ?? exposed.slice(routed.server.length + catalog.separator.length);
    // The SDK Server validates a tools/call result against CallToolResultSchema before it goes
    // out; checking the envelope here is enough (one full validation per call, not two).
    return forward(routed.server, extra, (client, options) =>
      client.request(
        { method: 'tools/call', params: { ...request.params, name: upstreamName } },
        ResultSchema,
        options,
      ),
    ) as Promise<CallToolResult>;
  });

  server.setRequestHandler(GetPromptRequestSchema, async (request, extra) => {
    const exposed = request.params.name;
    const routed = catalog.resolvePrompt(exposed);
    if (!routed || !scope(routed.server)) {
      throw toMcpError(new GatehouseError('PROMPT_NOT_FOUND', `no prompt named "${exposed}"`));
    }
    const upstreamName = routed.name ?? exposed.slice(routed.server.length + catalog.separator.length);
    return forward(routed.server, extra, (client, options) =>
      client.request(
        { method: 'prompts/get', params: { ...request.params, name: upstreamName } },
        GetPromptResultSchema,
        options,
      ),
    );
  });

  server.setRequestHandler(ReadResourceRequestSchema, async (request, extra) => {
    const owner = catalog.resolveResource(request.params.uri, scope);
    if (owner === undefined) {
      throw toMcpError(new GatehouseError('RESOURCE_NOT_FOUND', `no server offers "${request.params.uri}"`));
    }
    return forward(owner, extra, (client, options) =>
      client.request({ method: 'resources/read', params: request.params }, ReadResourceResultSchema, options),
    );
  });

  /** Sends one request upstream with the caller's cancellation, progress and a timeout. */
  async function forward<T>(
    serverName: string,
    extra: Extra,
    send: (
      client: Parameters<Parameters<UpstreamConnection['request']>[0]>[0],
      options: ReturnType<typeof forwardOptions>,
    ) => Promise<T>,
  ): Promise<T> {
    const upstream = deps.upstream(serverName);
    if (!upstream)
      throw toMcpError(new GatehouseError('SERVER_NOT_FOUND', `no server named "${serverName}"`));
    const options = forwardOptions(extra, deps.requestTimeoutMs());
    const caller: Caller = {
      extra,
      capabilities: () => server.getClientCapabilities(),
      notify: (notification) => server.notification(notification),
    };
    const leave = deps.relay.enter(serverName, caller);
    try {
      return await upstream.request((client) => send(client, options));
    } catch (error) {
      // MCP 2025-11-25: the upstream asks the client to open URLs (-32042) and later announces each
      // one's completion, after which the client may retry the call.
      if (error instanceof UrlElicitationRequiredError) {
        for (const { elicitationId } of error.elicitations) {
          deps.relay.awaitCompletion(serverName, elicitationId, caller);
        }
      }
      throw toMcpError(error, {
        clientSupportsUrlElicitation: supportsUrlElicitation(server),
        authorization: deps.authorizationHint(serverName),
      });
    } finally {
      leave();
    }
  }

  const unsubscribe = catalog.onChange((servers, kinds) => {
    if (![...servers].some(scope)) return;
    notify(server, kinds, deps.logger);
  });
  return { server, dispose: unsubscribe };
}

function supportsUrlElicitation(server: Server): boolean {
  const elicitation = server.getClientCapabilities()?.elicitation as Record<string, unknown> | undefined;
  return elicitation !== undefined && 'url' in elicitation;
}

function notify(server: Server, kinds: Set<ListKind>, logger: Logger): void {
  if (!server.transport) return;
  const sends: Promise<void>[] = [];
  if (kinds.has('tools')) sends.push(server.sendToolListChanged());
  if (kinds.has('prompts')) sends.push(server.sendPromptListChanged());
  if (kinds.has('resources')) sends.push(server.sendResourceListChanged());
  Promise.all(sends).catch((error: unknown) =>
    logger.debug({ err: String(error) }, 'list_changed not delivered'),
  );
}
