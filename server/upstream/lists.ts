import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  ErrorCode,
  McpError,
  type Prompt,
  Resource,
  ResourceTemplate,
  Tool,
} from '@modelcontextprotocol/sdk/types.js';

/** What one upstream offers, as last listed. */
export interface UpstreamLists {
  tools: Tool[];
  prompts: Prompt[];
  resources: Resource[];
  resourceTemplates: ResourceTemplate[];
}

export type ListKind = 'tools' | 'prompts' | 'resources';

export const EMPTY_LISTS: UpstreamLists = Object.freeze({
  tools: [],
  prompts: [],
  resources: [],
  resourceTemplates: [],
}) as UpstreamLists;

/** A hostile upstream could page forever; this many pages is plenty for any real one. */
const MAX_PAGES = 100;

/** Lists everything the upstream advertises in its capabilities, following pagination cursors. */
export async function fetchLists(client: Client, timeoutMs: number): Promise<UpstreamLists> {
  const [tools, prompts, resources] = await Promise.all([
    fetchList(client, timeoutMs, 'tools'),
    fetchList(client, timeoutMs, 'prompts'),
    fetchList(client, timeoutMs, 'resources'),
  ]);
  return { ...EMPTY_LISTS, ...tools, ...prompts, ...resources };
}

/** Lists one kind again, as a list_changed notification asks. */
export async function fetchList(
  client: Client,
  timeoutMs: number,
  kind: ListKind,
): Promise<Partial<UpstreamLists>> {
  const caps = client.getServerCapabilities() ?? {};
  const options = { timeout: timeoutMs };
  switch (kind) {
    case 'tools':
      if (!caps.tools) return { tools: [] };
      return {
        tools: await paginate(
          (cursor) => client.listTools({ cursor }, options),
          (r) => r.tools,
        ),
      };
    case 'prompts':
      if (!caps.prompts) return { prompts: [] };
      return {
        prompts: await paginate(
          (cursor) => client.listPrompts({ cursor }, options),
          (r) => r.prompts,
        ),
      };
    case 'resources':
      if (!caps.resources) return { resources: [], resourceTemplates: [] };
      return {
        resources: await paginate(
          (cursor) => client.listResources({ cursor }, options),
          (r) => r.resources,
        ),
        resourceTemplates: await orEmptyWhenUnsupported(
          paginate(
            (cursor) => client.listResourceTemplates({ cursor }, options),
            (r) => r.resourceTemplates,
          ),
        ),
      };
  }
}

async function paginate<R extends { nextCursor?: string }, T>(
  page: (cursor: string | undefined) => Promise<R>,
  items: (result: R) => T[],
): Promise<T[]> {
  const all: T[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < MAX_PAGES; i++) {
    const result = await page(cursor);
    all.push(...items(result));
    cursor = result.nextCursor;
    if (!cursor) break;
  }
  return all;
}

/** Many servers with resources implement no templates/list; that is an empty list, not a failure. */
async function orEmptyWhenUnsupported<T>(list: Promise<T[]>): Promise<T[]> {
  try {
    return await list;
  } catch (error) {
    if (error instanceof McpError && error.code === ErrorCode.MethodNotFound) return [];
    throw error;
  }
}
