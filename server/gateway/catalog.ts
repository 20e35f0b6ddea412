import type { Prompt, Resource, ResourceTemplate, Tool } from '@modelcontextprotocol/sdk/types.js';
import { UriTemplate } from '@modelcontextprotocol/sdk/shared/uriTemplate.js';
import type { Logger } from '../log.js';
import type { UpstreamView } from '../upstream/per-user.js';
import type { ListKind } from '../upstream/lists.js';
import { withJson } from './messages.js';
import { exposeNames, type Named } from './naming.js';

/** The servers one inbound session may see: all of them, a group's, or a single one. */
export type Scope = (server: string) => boolean;

/** The list results a session answers from the catalog. */
export type ListResults = {
  tools: { tools: Tool[] };
  prompts: { prompts: Prompt[] };
  resources: { resources: Resource[] };
  resourceTemplates: { resourceTemplates: ResourceTemplate[] };
};

export interface CatalogSource {
  list(): UpstreamView[];
}

export interface Routed {
  server: string;
  /** The upstream's own name for the tool or prompt. */
  name: string;
}

interface ServerView {
  connected: boolean;
  tools: Array<{ exposed: string; tool: Tool }>;
  disabledTools: Set<string>;
  prompts: Array<{ exposed: string; prompt: Prompt }>;
  resources: Resource[];
  templates: Array<{ template: ResourceTemplate; matcher: UriTemplate | undefined }>;
}

/**
 * The aggregated tools, prompts and resources of every upstream, rebuilt whenever an upstream's
 * lists or state change, so `tools/list` never waits on an upstream.
 *
 * Naming: tools and prompts are exposed as `<server><sep><name>`. A clash (possible only when a
 * server or tool name contains the separator) is resolved deterministically: servers are taken in
 * name order, the first keeps the name, each later one gets `<sep>2`, `<sep>3`, …; every clash is
 * logged and listed by `clashes()`. Resources keep their URI; when two servers list the same URI,
 * the first server in name order serves it.
 */
export class Catalog {
  readonly #source: CatalogSource;
  readonly #logger: Logger;
  #separator: string;
  #views = new Map<string, ServerView>();
  #toolIndex = new Map<string, Routed>();
  #promptIndex = new Map<string, Routed>();
  #resourceIndex = new Map<string, string>();
  #clashes: string[] = [];
  readonly #listeners = new Set<(servers: Set<string>, kinds: Set<ListKind>) => void>();
  /** List results by kind and scope name, serialized once; emptied by every rebuild. */
  #results = new Map<string, object>();

  constructor(source: CatalogSource, options: { separator: string; logger: Logger }) {
    this.#source = source;
    this.#separator = options.separator;
    this.#logger = options.logger;
  }

  get separator(): string {
    return this.#separator;
  }

  /** Called for every change: which servers changed and which kinds of list. */
  onChange(listener: (servers: Set<string>, kinds: Set<ListKind>) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  setSeparator(separator: string): void {
    if (separator === this.#separator) return;
    this.#separator = separator;
    this.rebuild(new Set(this.#views.keys()), new Set<ListKind>(['tools', 'prompts']));
  }

  /** Re-reads every upstream's lists and state; tells listeners what changed. */
  rebuild(changedServers: Set<string>, kinds: Set<ListKind>): void {
    const connections = [...this.#source.list()].sort((a, b) => compare(a.name, b.name));
    const views = new Map<string, ServerView>();
    const toolNames: Named[] = [];
    const promptNames: Named[] = [];
    for (const c of connections) {
      const disabled = new Set(
        Object.entries(c.config.tools)
          .filter(([, t]) => !t.enabled)
          .map(([n]) => n),
      );
      toolNames.push(...c.lists.tools.map((t) => ({ server: c.name, name: t.name })));
      promptNames.push(...c.lists.prompts.map((p) => ({ server: c.name, name: p.name })));
      views.set(c.name, {
        connected: c.state.status === 'connected',
        tools: [],
        disabledTools: disabled,
        prompts: [],
        resources: c.lists.resources,
        templates: c.lists.resourceTemplates.map((template) => ({
          template,
          matcher: safeTemplate(template),
        })),
      });
    }
    const tools = exposeNames(toolNames, this.#separator);
    const prompts = exposeNames(promptNames, this.#separator);
    this.#toolIndex = new Map();
    this.#promptIndex = new Map();
    for (const c of connections) {
      const view = views.get(c.name)!;
      for (const tool of c.lists.tools) {
        const exposed = tools.names.get(key(c.name, tool.name));
        if (exposed === undefined) continue;
        view.tools.push({ exposed, tool });
        this.#toolIndex.set(exposed, { server: c.name, name: tool.name });
      }
      for (const prompt of c.lists.prompts) {
        const exposed = prompts.names.get(key(c.name, prompt.name));
        if (exposed === undefined) continue;
        view.prompts.push({ exposed, prompt });
        this.#promptIndex.set(exposed, { server: c.name, name: prompt.name });
      }
    }
    this.#resourceIndex = new Map();
    const resourceClashes: string[] = [];
    for (const [server, view] of views) {
      for (const resource of view.resources) {
        const owner = this.#resourceIndex.get(resource.uri);
        if (owner === undefined) this.#resourceIndex.set(resource.uri, server);
        else if (owner !== server)
          resourceClashes.push(`resource ${resource.uri}: ${owner} serves it, not ${server}`);
      }
    }
    const clashes = [...tools.clashes, ...prompts.clashes, ...resourceClashes];
    for (const clash of clashes.filter((c) => !this.#clashes.includes(c))) {
      this.#logger.warn({ clash }, 'name clash resolved');
    }
    this.#clashes = clashes;
    this.#views = views;
    this.#results.clear();
    for (const listener of this.#listeners) listener(changedServers, kinds);
  }

  /**
   * A list result for the sessions of one scope (`scopeKey` names it: the path's group or server,
   * and the caller's scopes), built and serialized once until the catalog or the settings change.
   * With a few thousand tools, serializing the list costs more than everything else in a `tools/list`.
   */
  listResult<K extends keyof ListResults>(kind: K, scopeKey: string, scope: Scope): ListResults[K] {
    const cacheKey = `${kind}\u0000${scopeKey}`;
    const cached = this.#results.get(cacheKey);
    if (cached) return cached as ListResults[K];
    const result = this.#build(kind, scope);
    this.#results.set(cacheKey, withJson(result, JSON.stringify(result)));
    return result;
  }

  /** Forgets the cached list results (group membership may have changed). */
  invalidateResults(): void {
    this.#results.clear();
  }

  #build<K extends keyof ListResults>(kind: K, scope: Scope): ListResults[K] {
    const built: { [P in keyof ListResults]: () => ListResults[P] } = {
      tools: () => ({ tools: this.tools(scope) }),
      prompts: () => ({ prompts: this.prompts(scope) }),
      resources: () => ({ resources: this.resources(scope) }),
      resourceTemplates: () => ({ resourceTemplates: this.resourceTemplates(scope) }),
    };
    return built[kind]();
  }

  /** One server's tools with their exposed names, disabled ones included (for the status API). */
  toolsOf(server: string): Array<{ exposed: string; tool: Tool }> {
    return [...(this.#views.get(server)?.tools ?? [])];
  }

  clashes(): string[] {
    return [...this.#clashes];
  }

  /** Listed tools of connected servers in scope, with exposed names; disabled tools left out. */
  tools(scope: Scope): Tool[] {
    const out: Tool[] = [];
    for (const [server, view] of this.#views) {
      if (!view.connected || !scope(server)) continue;
      for (const { exposed, tool } of view.tools) {
        if (!view.disabledTools.has(tool.name)) out.push({ ...tool, name: exposed });
      }
    }
    return out;
  }

  prompts(scope: Scope): Prompt[] {
    const out: Prompt[] = [];
    for (const [server, view] of this.#views) {
      if (!view.connected || !scope(server)) continue;
      for (const { exposed, prompt } of view.prompts) out.push({ ...prompt, name: exposed });
    }
    return out;
  }

  resources(scope: Scope): Resource[] {
    const out: Resource[] = [];
    for (const [server, view] of this.#views) {
      if (!view.connected || !scope(server)) continue;
      for (const resource of view.resources) {
        if (this.#resourceIndex.get(resource.uri) === server) out.push(resource);
      }
    }
    return out;
  }

  resourceTemplates(scope: Scope): ResourceTemplate[] {
    const out: ResourceTemplate[] = [];
    for (const [server, view] of this.#views) {
      if (view.connected && scope(server)) out.push(...view.templates.map((t) => t.template));
    }
    return out;
  }

  /**
   * The tool behind an exposed name, or the server its prefix names when that server is not
   * connected (a call then reports the server's state: its tools are unknown while it is down).
   * Any other name is unknown, whether or not its prefix names a server.
   */
  resolveTool(
    exposed: string,
  ): (Routed & { disabled: boolean }) | { server: string; name: undefined } | undefined {
    const routed = this.#toolIndex.get(exposed);
    if (routed) {
      const disabled = this.#views.get(routed.server)?.disabledTools.has(routed.name) ?? false;
      return { ...routed, disabled };
    }
    return this.#byPrefix(exposed);
  }

  resolvePrompt(exposed: string): Routed | { server: string; name: undefined } | undefined {
    return this.#promptIndex.get(exposed) ?? this.#byPrefix(exposed);
  }

  /** The server that serves a resource URI: listed resources first, then templates, in name order. */
  resolveResource(uri: string, scope: Scope): string | undefined {
    const listed = this.#resourceIndex.get(uri);
    if (listed !== undefined && scope(listed)) return listed;
    for (const [server, view] of this.#views) {
      if (!scope(server)) continue;
      if (view.templates.some((t) => t.matcher?.match(uri))) return server;
    }
    return undefined;
  }

  #byPrefix(exposed: string): { server: string; name: undefined } | undefined {
    let best: UpstreamView | undefined;
    for (const connection of this.#source.list()) {
      const server = connection.name;
      if (
        exposed.startsWith(server + this.#separator) &&
        (best === undefined || server.length > best.name.length)
      ) {
        best = connection;
      }
    }
    if (best === undefined || best.state.status === 'connected') return undefined;
    return { server: best.name, name: undefined };
  }
}

function key(server: string, name: string): string {
  return `${server}\u0000${name}`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function safeTemplate(template: ResourceTemplate): UriTemplate | undefined {
  try {
    return new UriTemplate(template.uriTemplate);
  } catch {
    return undefined;
  }
}
