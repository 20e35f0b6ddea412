/**
 * The manager's contract with the app and the catalog: its options and the events it emits
 * (manager.ts re-exports them).
 */
import type { Logger } from '../log.js';
import type { CredentialStore } from '../settings/credentials.js';
import type { StateStore } from '../settings/state-store.js';
import type { ConnectionState, UpstreamRequestRelay } from './connection.js';
import type { UserCredentialStore } from './factory.js';
import type { ListKind, UpstreamLists } from './lists.js';

/** What the manager tells the catalog and the status API. */
export type UpstreamEvent =
  | { type: 'state'; server: string; state: ConnectionState }
  | { type: 'lists'; server: string; changed: ListKind[] }
  | { type: 'auth'; server: string }
  | { type: 'removed'; server: string };

/** What the OAuth engines of HTTP upstreams need from the app. */
export interface ManagerOAuthOptions {
  store: CredentialStore;
  /** Where per-user servers' tokens and inputs live (by person); default: `store`. */
  userStore?: UserCredentialStore;
  /** `<baseUrl>/oauth/callback`; the port is known only after listen. */
  redirectUri: () => string;
  /** Injected for tests; global fetch otherwise. */
  fetch?: typeof fetch;
}

export interface ManagerOptions {
  logger: Logger;
  clientInfo: { name: string; version: string };
  /** Absent: HTTP upstreams connect without an OAuth engine (a 401 is only shown). */
  oauth?: ManagerOAuthOptions;
  /** Relays upstream sampling/elicitation requests to the inbound caller. */
  relay?: UpstreamRequestRelay;
  random?: () => number;
  now?: () => number;
  /** How long after start a refused connection is retried quietly (default 5 s; tests use 0). */
  startupGraceMs?: number;
  /** Where typed-in input values live (inputs.ts); default: the OAuth credential store. */
  credentials?: CredentialStore;
  /** Where a per-user server's last lists are kept across restarts (not secret: names and schemas). */
  lists?: ListsMemory;
  /** Where authorization states are filed for every replica (and a restart) to find; default: memory only. */
  pendingStore?: StateStore;
}

/** The last lists of a per-user server, kept per server and entry fingerprint. */
export interface ListsMemory {
  get(server: string, fingerprint: string): Promise<UpstreamLists | undefined>;
  put(server: string, fingerprint: string, lists: UpstreamLists): Promise<void>;
}
