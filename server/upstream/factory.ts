/**
 * Builds what one upstream connection needs (DESIGN.md, "Data flow"): its OAuth engine, its
 * connection with typed-in inputs filled in at each connect, and, for a per-user server, one
 * person's slot (engine and connection keyed by that person). The manager decides when; this
 * decides how, the same way for the shared connection and for each person's.
 */
import { GatehouseError, isGatehouseError } from '../errors.js';
import type { HttpFetch } from '../http-fetch.js';
import type { Logger } from '../log.js';
import { OAuthEngine, type AuthStage, type StageEvent } from '../oauth/engine.js';
import type { PendingStateIndex } from '../oauth/pending-index.js';
import { personOwner, type CredentialRecord, type CredentialStore } from '../settings/credentials.js';
import type { ServerConfig, Settings } from '../settings/types.js';
import { UpstreamConnection, type ConnectionAuth, type UpstreamRequestRelay } from './connection.js';
import { credentialsRequired, readInputValues, resolveInputs, urlTakesInputs } from './inputs.js';
import type { ListKind, UpstreamLists } from './lists.js';
import type { PersonSlot, PerUserServer } from './per-user.js';

/** A store of per-user records that can also list a server's records (for counts). */
export type UserCredentialStore = CredentialStore & {
  records?(server: string): Promise<Array<{ owner: string; record: CredentialRecord }>>;
};

export interface FactoryOptions {
  logger: Logger;
  clientInfo: { name: string; version: string };
  oauth?: {
    store: CredentialStore;
    userStore?: UserCredentialStore;
    redirectUri: () => string;
    fetch?: typeof fetch;
  };
  /** Where typed-in input values live; default: the OAuth credential store. */
  credentials?: CredentialStore;
  relay?: UpstreamRequestRelay;
  random?: () => number;
  now?: () => number;
  startupGraceMs?: number;
  /** The keep-alive agent of all upstream MCP traffic. */
  http: HttpFetch;
  /** Limits how many upstreams connect at once. */
  limit: <T>(fn: () => Promise<T>) => Promise<T>;
  pendingStates: PendingStateIndex;
}

/** Ids of a server's declared inputs that have a value, as last read (never the values). */
export type InputsSeen = { set?: ReadonlySet<string> };

export class UpstreamFactory {
  readonly #options: FactoryOptions;

  constructor(options: FactoryOptions) {
    this.#options = options;
  }

  /** One person's slot of a per-user server: their OAuth engine (loaded) and connection (not started). */
  async personSlot(
    server: PerUserServer,
    person: string,
    settings: Settings,
    guardedHttp: HttpFetch | undefined,
    onAuth: () => void,
  ): Promise<PersonSlot> {
    const config = server.config;
    const name = config.name;
    // The engine's and the connection's hooks are made before the slot they report on.
    const made: { slot?: PersonSlot } = {};
    const oauth = this.engine(config, settings, {
      store: this.userStore(),
      owner: personOwner(person, 'oauth'),
      pendingKey: `${name}\u0000${person}`,
      guardedHttp,
      onStageChange: (_stage, event) => {
        if (made.slot) this.#personStageChanged(server, made.slot, event, onAuth);
      },
    });
    const inputs: InputsSeen = {};
    const connection = this.connection(config, settings, oauth, inputs, person, {
      onState: (state) => {
        if (made.slot) server.connectionState(made.slot, state);
      },
      onLists: (lists: UpstreamLists, changed: ListKind[]) => {
        if (made.slot) server.listed(made.slot, lists, changed);
      },
    });
    const slot: PersonSlot = { person, connection, oauth, inputs, started: false, lastUsed: 0, inFlight: 0 };
    made.slot = slot;
    if (config.inputs.length > 0) {
      inputs.set = new Set(
        Object.keys(await readInputValues(this.userStore(), name, person).catch(() => ({}))),
      );
    }
    await oauth?.init();
    return slot;
  }

  /** A person's engine changed stage: their connection follows, and their waiting calls go on. */
  #personStageChanged(server: PerUserServer, slot: PersonSlot, event: StageEvent, onAuth: () => void): void {
    if (event.type === 'authorized') {
      const status = slot.connection.state.status;
      if (event.via === 'exchange') {
        if (!slot.started) {
          server
            .start(slot)
            .catch((error: unknown) =>
              this.#options.logger.warn(
                { server: server.name, err: String(error) },
                'starting a connection failed',
              ),
            );
        } else if (status !== 'connected') slot.connection.reconnect();
        server.personReady(slot.person);
      } else if (event.via === 'refresh' && status === 'error') slot.connection.reconnect();
      // A refresh changes nothing the dashboard counts: 200 people's refreshes are not 200 events.
      if (event.via === 'refresh') return;
    }
    if (event.type === 'refresh' || event.type === 'refresh_failed') return;
    onAuth();
  }

  connection(
    config: ServerConfig,
    settings: Settings,
    oauth: OAuthEngine | undefined,
    inputs: InputsSeen,
    person: string | undefined,
    hooks: Pick<ConstructorParameters<typeof UpstreamConnection>[1], 'onState' | 'onLists'>,
  ): UpstreamConnection {
    const auth: ConnectionAuth | undefined = oauth && {
      fetch: oauth.fetch,
      authorizationNeeded: () => authorizationNeeded(config.name, oauth),
      refreshFailing: () => oauth.refreshFailing,
    };
    return new UpstreamConnection(config, {
      timeouts: settings.system.timeouts,
      logger: this.#options.logger.child(
        person === undefined ? { server: config.name } : { server: config.name, person },
      ),
      clientInfo: this.#options.clientInfo,
      auth,
      fetch: this.#options.http.fetch,
      limit: (fn) => this.#options.limit(fn),
      relay: this.#options.relay,
      ...(person === undefined ? {} : { relayKey: relayKey(config.name, person) }),
      ...(config.inputs.length > 0
        ? {
            inputs: {
              resolve: () => this.#resolveInputs(inputs, config, person),
              set: () => inputs.set,
            },
          }
        : {}),
      now: this.#options.now,
      random: this.#options.random,
      startupGraceMs: this.#options.startupGraceMs,
      ...hooks,
    });
  }

  /**
   * The config of one connect attempt of a server with inputs: the stored values (the person's own
   * on a per-user server) in place.
   * @throws GatehouseError UPSTREAM_CREDENTIALS_REQUIRED naming the inputs without a value
   */
  async #resolveInputs(
    inputs: InputsSeen,
    config: ServerConfig,
    person: string | undefined,
  ): Promise<ServerConfig> {
    let values: Awaited<ReturnType<typeof readInputValues>>;
    try {
      values =
        person === undefined
          ? await readInputValues(this.credentials(), config.name)
          : await readInputValues(this.userStore(), config.name, person);
    } catch (error) {
      if (!isGatehouseError(error, 'SECRETS_DECRYPT_FAILED')) throw error;
      // Retrying would read the same blob: the person types the values in again, which replaces it.
      inputs.set = new Set();
      throw new GatehouseError(
        'UPSTREAM_CREDENTIALS_REQUIRED',
        `server "${config.name}": its stored credentials cannot be decrypted (was the key changed?); set them again in the Gatehouse dashboard`,
        { cause: error, details: { server: config.name } },
      );
    }
    inputs.set = new Set(Object.keys(values));
    const resolved = resolveInputs(config, values);
    if (resolved.missing) throw credentialsRequired(config.name, resolved.missing);
    return resolved.config;
  }

  credentials(): CredentialStore {
    const store = this.#options.credentials ?? this.#options.oauth?.store;
    if (!store) throw new GatehouseError('INTERNAL', 'no credential store for typed-in inputs');
    return store;
  }

  userStore(): UserCredentialStore {
    return this.#options.oauth?.userStore ?? this.credentials();
  }

  engine(
    config: ServerConfig,
    settings: Settings,
    own: {
      store: CredentialStore | undefined;
      owner?: string;
      pendingKey?: string;
      guardedHttp?: HttpFetch;
      onStageChange: (stage: AuthStage, event: StageEvent) => void;
    },
  ): OAuthEngine | undefined {
    const oauth = this.#options.oauth;
    // A URL that carries a typed-in value (an API key in the query, say) is not a resource to
    // authorize: the engine would send it to an authorization server as the RFC 8707 resource.
    if (!oauth || !own.store || config.type === 'stdio' || urlTakesInputs(config)) return undefined;
    return new OAuthEngine({
      server: config.name,
      serverUrl: config.url,
      settings: config.oauth,
      redirectUri: oauth.redirectUri,
      store: own.store,
      owner: own.owner,
      pendingKey: own.pendingKey,
      guardedHttp: own.guardedHttp,
      timeoutMs: settings.system.timeouts.oauthMs,
      allowedPrivateHosts: settings.system.allowedPrivateHosts,
      fetch: oauth.fetch,
      upstreamFetch: this.#options.http.fetch,
      logger: this.#options.logger,
      pendingStates: this.#options.pendingStates,
      onStageChange: own.onStageChange,
    });
  }
}

/**
 * The checks of typed-in values before they are stored.
 * @throws GatehouseError BAD_REQUEST for an id the entry does not declare, or an empty value or one
 *   with control characters (it would reach a header or an environment variable)
 */
export function checkInputValues(
  config: ServerConfig,
  values: Readonly<Record<string, string | null>>,
): void {
  const declared = new Set(config.inputs.map((input) => input.id));
  for (const [id, value] of Object.entries(values)) {
    if (!declared.has(id))
      throw new GatehouseError('BAD_REQUEST', `server "${config.name}" declares no input "${id}"`);
    // eslint-disable-next-line no-control-regex
    if (value !== null && (value === '' || /[\u0000-\u001f\u007f]/.test(value)))
      throw new GatehouseError('BAD_REQUEST', `the value of "${id}" is empty or has control characters`);
  }
}

/**
 * The name under which the relay knows the callers of a server's connection: the server's own, or,
 * on a per-user server, the server and the person (an upstream's questions reach only its person).
 */
export function relayKey(server: string, person: string | undefined): string {
  return person === undefined ? server : `${server}\u0000${person}`;
}

/** An upstream whose OAuth engine waits for a person (or failed) cannot connect until then. */
function authorizationNeeded(name: string, oauth: OAuthEngine): GatehouseError | undefined {
  const stage = oauth.stage;
  if (stage.kind === 'awaiting_user') {
    return new GatehouseError('UPSTREAM_AUTH_REQUIRED', `server "${name}" needs authorization`, {
      details: { server: name },
    });
  }
  if (stage.kind === 'failed') {
    return new GatehouseError(
      'UPSTREAM_AUTH_REQUIRED',
      `server "${name}" needs authorization (${stage.code}: ${stage.message})`,
      { details: { server: name, code: stage.code } },
    );
  }
  return undefined;
}
