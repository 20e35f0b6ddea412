import type { Catalog } from '../gateway/catalog.js';
import type { AuthStatus } from '../oauth/engine.js';
import type { UpstreamConnection } from '../upstream/connection.js';
import { listProblems } from '../upstream/lists.js';

/** One server as `GET /api/servers` shows it. Never carries secrets. */
export interface ServerStatus {
  name: string;
  type: string;
  enabled: boolean;
  status: UpstreamConnection['state']['status'];
  error?: { code: string; message: string };
  nextRetryAt?: number | null;
  connectedSince?: number;
  tools: Array<{ name: string; exposedName: string; description?: string; enabled: boolean }>;
  /** Entries the upstream listed that are not valid MCP and were left out, with the reason. */
  listProblems?: string[];
  /** HTTP upstreams only. The list shows the stage; one server's detail shows everything. */
  auth?: Partial<AuthStatus> & { stage: AuthStatus['stage'] };
}

/** Pure projection of a connection's state onto the status API's shape. */
export function serverStatus(
  connection: UpstreamConnection,
  catalog: Catalog,
  auth?: AuthStatus,
  detail = false,
): ServerStatus {
  const state = connection.state;
  const config = connection.config;
  const exposed = new Map(
    catalog
      .toolsOf(connection.name)
      .map(({ exposed: exposedName, tool }) => [tool.name, exposedName] as const),
  );
  const status: ServerStatus = {
    name: connection.name,
    type: connection.transportKind,
    enabled: config.enabled,
    status: state.status,
    tools: connection.lists.tools.map((tool) => ({
      name: tool.name,
      exposedName: exposed.get(tool.name) ?? tool.name,
      ...(tool.description ? { description: tool.description } : {}),
      enabled: config.tools[tool.name]?.enabled ?? true,
    })),
  };
  const problems = listProblems(connection.lists);
  if (problems.length > 0) status.listProblems = problems;
  if (state.status === 'error') {
    status.error = state.error;
    status.nextRetryAt = state.nextRetryAt;
  }
  if (state.status === 'auth_required') status.error = state.error;
  if (state.status === 'connected') status.connectedSince = state.since;
  if (auth) status.auth = detail ? auth : { stage: auth.stage };
  return status;
}
