/** What one upstream connection needs from the manager that creates it. */
import type { GatehouseError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ServerConfig } from '../settings/types.js';
import type { Timeouts } from '../settings/types.js';
import type { ListKind, UpstreamLists } from './lists.js';
import type { UpstreamRequestRelay } from './relayed-requests.js';
import type { ConnectionState } from './state.js';
import type { FetchLike } from './transports.js';

/** The seam to the OAuth engine: how an HTTP upstream's requests get their credentials. */
export interface ConnectionAuth {
  fetch: FetchLike;
  /**
   * Set when no request can succeed until a person authorizes. Consulted after a failure whose
   * error the transport rewrapped (the SDK's SSE transport reports its own SseError, not ours).
   */
  authorizationNeeded(): GatehouseError | undefined;
  /** True while the last refresh failed for a passing reason (tokens kept): a call may retry early. */
  refreshFailing(): boolean;
}

/** The seam to a server's typed-in credentials (inputs.ts), for servers that declare `inputs`. */
export interface ConnectionInputs {
  /**
   * The config with the stored values in place of `${input:<id>}`: read once per connect attempt.
   * @throws GatehouseError UPSTREAM_CREDENTIALS_REQUIRED naming the inputs that have no value
   */
  resolve(): Promise<ServerConfig>;
  /** Which inputs have a value, as last read; undefined before the first read. */
  set(): ReadonlySet<string> | undefined;
}

export interface ConnectionDeps {
  timeouts: Timeouts;
  logger: Logger;
  clientInfo: { name: string; version: string };
  auth?: ConnectionAuth;
  inputs?: ConnectionInputs;
  /** The fetch for HTTP upstreams without an OAuth engine (default: `fetch`). */
  fetch?: FetchLike;
  /** Limits how many upstreams connect at once (start-up runs them in parallel). */
  limit: <T>(fn: () => Promise<T>) => Promise<T>;
  now?: () => number;
  random?: () => number;
  pingIntervalMs?: number;
  /** How long after start a refused connection is retried quickly and quietly (default 5 s). */
  startupGraceMs?: number;
  /** Where sampling and elicitation requests from the upstream go; absent, none are accepted. */
  relay?: UpstreamRequestRelay;
  /**
   * The name the relay knows this connection's callers by (default: the server's name). A person's
   * connection to a per-user server has its own (`relayKey(server, person)`), so what the upstream
   * asks reaches only that person's client.
   */
  relayKey?: string;
  onState: (state: ConnectionState) => void;
  onLists: (lists: UpstreamLists, changed: ListKind[]) => void;
}
