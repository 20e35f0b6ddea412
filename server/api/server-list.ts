/**
 * The server summaries of the status API, in one place: `GET /api/servers` and the event stream
 * (`GET /api/events`) both build them here, so the two always show the same shape.
 */
import type { Gateway } from '../gateway/gateway.js';
import type { UpstreamManager } from '../upstream/manager.js';
import { serverStatus, type ServerStatus } from './status.js';

/** Reads the summaries of the servers now running. */
export interface ServerSummaries {
  /** Every server, in settings order: the body of `GET /api/servers`. */
  list(): ServerStatus[];
  /** One server's summary (an element of `list()`), or undefined when there is no such server. */
  one(name: string): ServerStatus | undefined;
}

/** The summaries over the manager's connections and the gateway's catalog. */
export function serverSummaries(manager: UpstreamManager, gateway: Gateway): ServerSummaries {
  return {
    list: () => manager.list().map((c) => serverStatus(c, gateway.catalog, manager.authStatus(c.name))),
    one: (name) => {
      const connection = manager.get(name);
      return connection && serverStatus(connection, gateway.catalog, manager.authStatus(name));
    },
  };
}
