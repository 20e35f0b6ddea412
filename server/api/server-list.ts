/**
 * The server summaries of the status API, in one place: `GET /api/servers` and the event stream
 * (`GET /api/events`) both build them here, so the two always show the same shape. A per-user
 * server's summary counts its people (issue 14), which the credential store answers: asynchronous.
 */
import type { Gateway } from '../gateway/gateway.js';
import type { UpstreamManager } from '../upstream/manager.js';
import type { UpstreamView } from '../upstream/per-user.js';
import { serverStatus, type ServerStatus } from './status.js';

/** Reads the summaries of the servers now running. */
export interface ServerSummaries {
  /** Every server, in settings order: the body of `GET /api/servers`. */
  list(): Promise<ServerStatus[]>;
  /** One server's summary (an element of `list()`), or undefined when there is no such server. */
  one(name: string): Promise<ServerStatus | undefined>;
}

/** The summaries over the manager's connections and the gateway's catalog. */
export function serverSummaries(manager: UpstreamManager, gateway: Gateway): ServerSummaries {
  const summary = async (view: UpstreamView): Promise<ServerStatus> =>
    withPeople(manager, serverStatus(view, gateway.catalog, manager.authStatus(view.name)));
  return {
    list: () => Promise.all(manager.list().map(summary)),
    one: async (name) => {
      const view = manager.get(name);
      return view && summary(view);
    },
  };
}

/**
 * `status` with, for a per-user server, how many people have credentials stored and how many of
 * their connections run now (`people`): counts only, never whose or what.
 */
export async function withPeople<T extends { name: string }>(
  manager: UpstreamManager,
  status: T,
): Promise<T & { people?: { people: number; connected: number } }> {
  return manager.isPerUser(status.name) ? { ...status, people: await manager.people(status.name) } : status;
}
