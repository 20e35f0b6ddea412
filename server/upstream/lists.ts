import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  ErrorCode,
  McpError,
  PromptListChangedNotificationSchema,
  PromptSchema,
  ResourceListChangedNotificationSchema,
  ResourceSchema,
  ResourceTemplateSchema,
  ToolListChangedNotificationSchema,
  ToolSchema,
  type Prompt,
  type Resource,
  type ResourceTemplate,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

/** What one upstream offers, as last listed. */
export interface UpstreamLists {
  tools: Tool[];
  prompts: Prompt[];
  resources: Resource[];
  resourceTemplates: ResourceTemplate[];
  /** Entries the upstream listed that are not valid MCP and were left out, saying why, per list. */
  problems: Partial<Record<ItemKey, string[]>>;
}

export type ListKind = 'tools' | 'prompts' | 'resources';
type ItemKey = 'tools' | 'prompts' | 'resources' | 'resourceTemplates';

export const EMPTY_LISTS: UpstreamLists = Object.freeze({
  tools: [],
  prompts: [],
  resources: [],
  resourceTemplates: [],
  problems: {},
}) as UpstreamLists;

/** Every problem of every list, for the status API and the log. */
export function listProblems(lists: UpstreamLists): string[] {
  return Object.values(lists.problems).flat();
}

/** A hostile upstream could page forever; this many pages is plenty for any real one. */
const MAX_PAGES = 100;

/** Lists everything the upstream advertises in its capabilities, following pagination cursors. */
export async function fetchLists(client: Client, timeoutMs: number): Promise<UpstreamLists> {
  const [tools, prompts, resources] = await Promise.all([
    fetchList(client, timeoutMs, 'tools'),
    fetchList(client, timeoutMs, 'prompts'),
    fetchList(client, timeoutMs, 'resources'),
  ]);
  return mergeLists(EMPTY_LISTS, tools, prompts, resources);
}

/** `lists` with fresh parts replacing theirs, problems included. */
export function mergeLists(lists: UpstreamLists, ...parts: Array<Partial<UpstreamLists>>): UpstreamLists {
  let out: UpstreamLists = { ...lists, problems: { ...lists.problems } };
  for (const part of parts) {
    out = { ...out, ...part, problems: { ...out.problems, ...part.problems } };
  }
  return out;
}

/** Lists one kind again, as a list_changed notification asks. */
export async function fetchList(
  client: Client,
  timeoutMs: number,
  kind: ListKind,
): Promise<Partial<UpstreamLists>> {
  const caps = client.getServerCapabilities() ?? {};
  const options = { timeout: timeoutMs };
  // client.request, not client.listTools(): the SDK's helper also compiles a validator for every
  // tool's outputSchema, which the gateway never uses (it relays tools/call results as they are).
  const list = <K extends ItemKey, T>(method: string, key: K, schema: z.ZodType<T>) =>
    paginate(
      (cursor) => client.request({ method, params: cursor ? { cursor } : {} }, pageSchema(key), options),
      key,
      schema,
    );
  switch (kind) {
    case 'tools': {
      if (!caps.tools) return { tools: [], problems: { tools: [] } };
      const { items, problems } = await list('tools/list', 'tools', ToolSchema);
      return { tools: items, problems: { tools: problems } };
    }
    case 'prompts': {
      if (!caps.prompts) return { prompts: [], problems: { prompts: [] } };
      const { items, problems } = await list('prompts/list', 'prompts', PromptSchema);
      return { prompts: items, problems: { prompts: problems } };
    }
    case 'resources': {
      if (!caps.resources) {
        return { resources: [], resourceTemplates: [], problems: { resources: [], resourceTemplates: [] } };
      }
      const resources = await list('resources/list', 'resources', ResourceSchema);
      const templates = await orEmptyWhenUnsupported(
        list('resources/templates/list', 'resourceTemplates', ResourceTemplateSchema),
      );
      return {
        resources: resources.items,
        resourceTemplates: templates.items,
        problems: { resources: resources.problems, resourceTemplates: templates.problems },
      };
    }
  }
}

/** One page: the list (items checked one by one below) and the cursor. */
function pageSchema(key: ItemKey) {
  return z.looseObject({ [key]: z.array(z.unknown()), nextCursor: z.string().optional() });
}

/** How many problems per list are kept: enough to act on, bounded against a hostile upstream. */
const MAX_PROBLEMS = 20;

/**
 * Follows cursors and checks every entry on its own: one malformed tool is left out (and said
 * why), not a reason to lose the upstream's other tools.
 */
async function paginate<T>(
  page: (cursor: string | undefined) => Promise<Record<string, unknown>>,
  key: ItemKey,
  schema: z.ZodType<T>,
): Promise<{ items: T[]; problems: string[] }> {
  const items: T[] = [];
  const problems: string[] = [];
  let cursor: string | undefined;
  let index = 0;
  for (let i = 0; i < MAX_PAGES; i++) {
    const result = await page(cursor);
    for (const item of result[key] as unknown[]) {
      const checked = schema.safeParse(item);
      if (checked.success) items.push(checked.data);
      else if (problems.length < MAX_PROBLEMS)
        problems.push(describeProblem(key, index, item, checked.error));
      index++;
    }
    cursor = result.nextCursor as string | undefined;
    if (!cursor) break;
  }
  return { items, problems };
}

function describeProblem(key: ItemKey, index: number, item: unknown, error: z.ZodError): string {
  const name =
    (item as { name?: unknown; uri?: unknown } | null)?.name ?? (item as { uri?: unknown } | null)?.uri;
  const label = typeof name === 'string' ? ` ${JSON.stringify(name.slice(0, 80))}` : '';
  const issue = error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  return `${key}[${index}]${label} left out: ${where}${issue?.message ?? 'invalid'}`;
}

/** Many servers with resources implement no templates/list; that is an empty list, not a failure. */
async function orEmptyWhenUnsupported<T>(
  list: Promise<{ items: T[]; problems: string[] }>,
): Promise<{ items: T[]; problems: string[] }> {
  try {
    return await list;
  } catch (error) {
    if (error instanceof McpError && error.code === ErrorCode.MethodNotFound)
      return { items: [], problems: [] };
    throw error;
  }
}

/**
 * Re-fetches a list whenever the upstream announces that it changed (its `list_changed` notification).
 * `current` says whether this client is still the live one (a reconnect makes an old one stale).
 */
export function watchListChanges(
  client: Client,
  timeoutMs: number,
  on: {
    current: () => boolean;
    fresh: (kind: ListKind, lists: Partial<UpstreamLists>) => void;
    failed: (kind: ListKind, error: unknown) => void;
  },
): void {
  const refresh = (kind: ListKind) => {
    if (!on.current()) return;
    fetchList(client, timeoutMs, kind).then(
      (fresh) => {
        if (on.current()) on.fresh(kind, fresh);
      },
      (error: unknown) => on.failed(kind, error),
    );
  };
  client.setNotificationHandler(ToolListChangedNotificationSchema, async () => refresh('tools'));
  client.setNotificationHandler(PromptListChangedNotificationSchema, async () => refresh('prompts'));
  client.setNotificationHandler(ResourceListChangedNotificationSchema, async () => refresh('resources'));
}
