/**
 * Inbound MCP sessions any replica can serve (issue 15): with the state store on Redis, each
 * Streamable HTTP session leaves in the store what it takes to rebuild it elsewhere, so a load
 * balancer needs no stickiness. The record holds the path it was opened on, who opened it (what a
 * later request is checked against: a principal's kind and subject, never a credential) and the
 * client's initialize parameters, which the rebuilt session's SDK server is given again.
 *
 * Only a replica that does not hold a session asks the store (a miss); a request for a session
 * held here does no store I/O. The record's expiry is the idle timeout, moved on lazily (at most
 * one write per quarter of it, per replica holding the session), so it ends by itself once no
 * replica serves the session any more. A DELETE removes it, and every replica closes its copy.
 */
import type { InitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../log.js';
import type { Principal } from '../security/principal.js';
import { isRecord } from '../settings/json-text.js';
import type { StateStore } from '../settings/state-store.js';

/** The StateStore collection of shareable sessions (id = the Mcp-Session-Id); part of the contract. */
export const SESSIONS_COLLECTION = 'mcp-sessions';

/** What the client said in its initialize request that the server keeps (capabilities above all). */
export type ClientHello = Pick<
  InitializeRequest['params'],
  'protocolVersion' | 'capabilities' | 'clientInfo'
>;

/** What a replica needs to rebuild a Streamable HTTP session it did not open. */
export interface SessionRecord {
  kind: 'streamable';
  /** The path segment the session was opened on: '' for /mcp, else a group or server name. */
  scopeName: string;
  /** Who opened it: the fields the gateway's same-person check compares. */
  principal: Pick<Principal, 'kind' | 'subject'>;
  initialize: ClientHello;
}

const PRINCIPAL_KINDS: ReadonlySet<string> = new Set<Principal['kind']>(['local', 'admin', 'key', 'token']);

/** The part of an initialize request's params a record keeps; undefined when they are not usable. */
export function clientHello(params: unknown): ClientHello | undefined {
  if (!isRecord(params)) return undefined;
  const { protocolVersion, capabilities, clientInfo } = params;
  if (typeof protocolVersion !== 'string' || !isRecord(capabilities) || !isRecord(clientInfo))
    return undefined;
  return { protocolVersion, capabilities, clientInfo } as ClientHello;
}

/** The record of a session being initialized; undefined when its initialize params are not usable. */
export function sessionRecord(
  scopeName: string,
  principal: Principal,
  params: unknown,
): SessionRecord | undefined {
  // Unusable params: the SDK server refuses this initialize; nothing worth sharing.
  const initialize = clientHello(params);
  if (!initialize) return undefined;
  return {
    kind: 'streamable',
    scopeName,
    principal: { kind: principal.kind, subject: principal.subject },
    initialize,
  };
}

/** A stored record read back; undefined when it is not one (another version, a hand edit). */
function parseRecord(value: Record<string, unknown>): SessionRecord | undefined {
  const { kind, scopeName, principal, initialize } = value;
  if (kind !== 'streamable' || typeof scopeName !== 'string' || !isRecord(principal)) return undefined;
  if (typeof principal.kind !== 'string' || !PRINCIPAL_KINDS.has(principal.kind)) return undefined;
  if (typeof principal.subject !== 'string') return undefined;
  const hello = clientHello(initialize);
  if (!hello) return undefined;
  return {
    kind,
    scopeName,
    principal: { kind: principal.kind as Principal['kind'], subject: principal.subject },
    initialize: hello,
  };
}

export interface SharedSessionsOptions {
  store: StateStore;
  /** The session idle timeout: the record's lifetime from its last write. */
  idleMs: number;
  logger: Logger;
}

/** The store side of shareable sessions: one record per session, its expiry, its deletion. */
export class SharedSessions {
  readonly #store: StateStore;
  readonly #idleMs: number;
  readonly #logger: Logger;
  /** How old a record's last write may get before a request on the session writes it again. */
  readonly refreshMs: number;

  constructor(options: SharedSessionsOptions) {
    this.#store = options.store;
    this.#idleMs = options.idleMs;
    this.#logger = options.logger;
    this.refreshMs = options.idleMs / 4;
  }

  /**
   * Writes (or rewrites, moving its expiry on) a session's record. Never throws: a session whose
   * record could not be written still works here, it just cannot move to another replica.
   * `removed` tells whether a DELETE elsewhere removed the record while this write was under way:
   * it is removed again, so that a late expiry write does not bring a terminated session back.
   */
  async write(id: string, record: SessionRecord, removed: () => boolean): Promise<void> {
    try {
      await this.#store.put(SESSIONS_COLLECTION, id, { ...record }, { expiresAt: Date.now() + this.#idleMs });
      if (removed()) await this.#store.delete(SESSIONS_COLLECTION, id);
    } catch (error) {
      this.#logger.warn(
        { err: String(error), code: (error as { code?: unknown }).code },
        'MCP session not written to the shared store; other replicas cannot serve it until it is',
      );
    }
  }

  /**
   * A session's record, or undefined when there is none (never opened, deleted, expired).
   * @throws GatehouseError STORE_UNAVAILABLE when the store cannot be reached now
   */
  async read(id: string): Promise<SessionRecord | undefined> {
    const value = await this.#store.get(SESSIONS_COLLECTION, id);
    if (value === undefined) return undefined;
    const record = parseRecord(value);
    if (!record) this.#logger.warn({ session: id }, 'a shared MCP session record is not readable; ignored');
    return record;
  }

  /**
   * Removes a session's record (the client's DELETE): every replica hears it and closes its copy.
   * @throws GatehouseError STORE_UNAVAILABLE when the store cannot be reached now
   */
  async remove(id: string): Promise<void> {
    await this.#store.delete(SESSIONS_COLLECTION, id);
  }

  /** Calls `listener` with the id of each session record removed, on any replica. */
  onRemoved(listener: (id: string) => void): () => void {
    return this.#store.onChange((change) => {
      if (change.deleted && change.collection === SESSIONS_COLLECTION) listener(change.id);
    });
  }
}
