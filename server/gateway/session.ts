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
  ErrorCode,
} from '@modelcontextprotocol/sdk/types.js';
import { randomUUID } from 'node:crypto';
import { GatehouseError, isGatehouseError } from '../errors.js';
import type { Logger } from '../log.js';
import { covers, ownerOf, type Principal } from '../security/principal.js';
import type { UpstreamConnection } from '../upstream/connection.js';
import { LazyJsonSchemaValidator } from '../upstream/lazy-validator.js';
import type { ListKind } from '../upstream/lists.js';
import type { Catalog, Scope } from './catalog.js';
import { forwardOptions } from './forward-options.js';
import { RpcError, toMcpError } from './mcp-errors.js';
import type { Caller, CallerRelay } from './relay.js';

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** How long a call waits for a person to finish authorizing (the authorization's `state` lives as long). */
const PERSON_WAIT_MS = 10 * 60 * 1000;

/** Per-user servers (issue 14): whose they are, where a person authorizes, and waiting for them. */
export interface PerUserDeps {
  is(server: string): boolean;
  /** Where `person` authorizes `server` (the connect link) or sets its inputs (the dashboard). */
  link(server: string, person: string, need: 'authorize' | 'inputs'): string;
  /** Resolves once `person` has authorized `server` or set its inputs. */
  wait(server: string, person: string, signal: AbortSignal): Promise<void>;
}

export interface SessionDeps {
  catalog: Catalog;
  /** Runs `fn` on the connection that serves `person` on `server` (per-user: theirs). */
  use: <T>(
    server: string,
    person: string,
    fn: (connection: UpstreamConnection) => Promise<T>,
    signal?: AbortSignal,
  ) => Promise<T>;
  perUser: PerUserDeps;
  /** The relay's name for a person's callers of a server (relayKey in upstream/manager.ts). */
  relayKey: (server: string, person: string | undefined) => string;
  /** Counts a call in flight (shutdown lets those finish); the returned function ends it. */
  enterCall: () => () => void;
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
    const perUser = deps.perUser.is(serverName);
    const person = ownerOf(principal());
    const options = forwardOptions(extra, deps.requestTimeoutMs());
    const caller: Caller = {
      extra,
      capabilities: () => server.getClientCapabilities(),
      notify: (notification) => server.notification(notification),
    };
    const relayKey = deps.relayKey(serverName, perUser ? person : undefined);
    const run = () =>
      deps.use(
        serverName,
        person,
        (upstream) => upstream.request((client) => send(client, options)),
        extra.signal,
      );
    const leave = deps.relay.enter(relayKey, caller);
    const done = deps.enterCall();
    try {
      try {
        return await run();
      } catch (error) {
        const need = perUser ? personNeeds(error) : undefined;
        if (!need) throw error;
        // The person has not authorized this server (or typed in its inputs) for themselves yet.
        await askPerson(serverName, person, need, error as GatehouseError, extra);
        return await run();
      }
    } catch (error) {
      // MCP 2025-11-25: the upstream asks the client to open URLs (-32042) and later announces each
      // one's completion, after which the client may retry the call.
      if (error instanceof UrlElicitationRequiredError) {
        for (const { elicitationId } of error.elicitations) {
          deps.relay.awaitCompletion(relayKey, elicitationId, caller);
        }
      }
      throw toMcpError(error, {
        clientSupportsUrlElicitation: supportsUrlElicitation(server),
        authorization: deps.authorizationHint(serverName),
      });
    } finally {
      leave();
      done();
    }
  }

  /**
   * MCP 2025-11-25 URL-mode elicitation for a per-user server: a client that supports it is asked
   * to open the person's own link in-band, and the call waits until they have finished there (the
   * completion is announced, then the call goes on); any other client gets -32042 with the link.
   * The link leads through Gatehouse, which checks the browser is signed in as this person.
   */
  async function askPerson(
    serverName: string,
    person: string,
    need: 'authorize' | 'inputs',
    error: GatehouseError,
    extra: Extra,
  ): Promise<void> {
    const url = deps.perUser.link(serverName, person, need);
    const message =
      need === 'authorize'
        ? `${error.message}. Open ${url} to authorize it as yourself`
        : `${error.message}. Open ${url} to set your own credentials for it`;
    const elicitationId = randomUUID();
    if (!supportsUrlElicitation(server)) {
      throw new RpcError(ErrorCode.UrlElicitationRequired, message, {
        code: error.code,
        server: serverName,
        elicitations: [{ mode: 'url', elicitationId, url, message }],
      });
    }
    const signal = AbortSignal.any([extra.signal, AbortSignal.timeout(PERSON_WAIT_MS)]);
    const done = new AbortController();
    // Listening starts before the client is asked: a quick person cannot finish unseen.
    const ready = deps.perUser.wait(serverName, person, AbortSignal.any([signal, done.signal]));
    ready.catch(() => undefined);
    try {
      const answer = await server.elicitInput(
        { mode: 'url', message, url, elicitationId },
        { signal, timeout: PERSON_WAIT_MS },
      );
      if (answer.action !== 'accept') {
        throw new GatehouseError(
          'AUTHORIZATION_DECLINED',
          `the person did not open the link for "${serverName}"`,
          {
            details: { server: serverName },
          },
        );
      }
      await ready;
    } finally {
      done.abort();
    }
    await server
      .createElicitationCompletionNotifier(elicitationId)()
      .catch((failure: unknown) =>
        deps.logger.debug({ err: String(failure) }, 'elicitation/complete not delivered'),
      );
  }

  const unsubscribe = catalog.onChange((servers, kinds) => {
    if (![...servers].some(scope)) return;
    notify(server, kinds, deps.logger);
  });
  return { server, dispose: unsubscribe };
}

/** What a person must do before a per-user server answers them, judged from the call's failure. */
function personNeeds(error: unknown): 'authorize' | 'inputs' | undefined {
  if (
    isGatehouseError(error, 'UPSTREAM_AUTH_REQUIRED') ||
    isGatehouseError(error, 'OAUTH_INSUFFICIENT_SCOPE')
  )
    return 'authorize';
  if (isGatehouseError(error, 'UPSTREAM_CREDENTIALS_REQUIRED')) return 'inputs';
  return undefined;
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
