/**
 * `/api/me/servers`: a person's own connections to the servers whose credentials are each
 * person's (`"credentials": "perUser"`, issue 14, "My servers": connect, disconnect, set
 * credentials). The person is the dashboard session's subject (`admin` for the administrator);
 * every answer is that person's state only, and never carries a token or a typed-in value.
 * Registered behind the admin guard, which lets a person's session through to /api/me*.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GatehouseError } from '../errors.js';
import type { SettingsStore } from '../settings/store.js';
import type { PersonServerStatus, UpstreamManager } from '../upstream/manager.js';
import type { UpstreamView } from '../upstream/per-user.js';
import { connectLink } from './connect-routes.js';
import { INPUTS_BODY_SCHEMA } from './inputs-routes.js';
import { authLabel, authNeeds, serverLabel, type AuthLabel, type ServerLabel } from './status.js';

export interface MeServersRoutesOptions {
  manager: UpstreamManager;
  store: SettingsStore;
}

/** What "My servers" says of a server a person has not started (none of their connections runs). */
export type PersonLabel = ServerLabel | 'Ready';

/** One per-user server as `GET /api/me/servers` shows it to its person: their state, with words. */
export interface MyServer extends PersonServerStatus {
  type: UpstreamView['transportKind'];
  /** The person's state in words (as `label` of the admin's summaries; `Ready`: starts on first use). */
  label: PersonLabel;
  /** The sign-in part in words, for servers that sign in with OAuth. */
  authLabel?: AuthLabel;
}

/**
 * The words of a person's state. With a connection running, the admin list's words for it;
 * without one: disabled, credentials to type in, a sign-in to do, or ready (it starts on the
 * person's first call). Pure.
 */
export function personLabel(
  status: PersonServerStatus,
  server: { stdio: boolean },
): { label: PersonLabel; authLabel?: AuthLabel } {
  const missing = (status.inputs ?? []).some((input) => !input.set);
  const stage = status.auth?.stage;
  if (!status.enabled) return { label: 'Disabled' };
  if (status.connection) {
    const needs = authNeeds(status.connection, stage, missing);
    const summary = stage === undefined ? undefined : { stage, needs };
    return {
      label: serverLabel(
        status.connection,
        needs === 'credentials' ? { stage: 'awaiting_user', needs } : summary,
      ),
      ...(stage === undefined ? {} : { authLabel: authLabel(stage, needs) }),
    };
  }
  if (missing) return { label: 'Needs credentials', ...(stage ? { authLabel: authLabel(stage) } : {}) };
  // An HTTP server that is per person and asks for no inputs signs in with OAuth: it needs tokens.
  const signsIn = !server.stdio && (status.inputs ?? []).length === 0;
  const label = stage === 'authorized' || !signsIn ? 'Ready' : 'Needs sign-in';
  return { label, ...(stage ? { authLabel: authLabel(stage) } : {}) };
}

/** The "My servers" routes (owner = the session's subject). */
export async function meServersRoutes(app: FastifyInstance, opts: MeServersRoutesOptions): Promise<void> {
  const { manager, store } = opts;
  const ownerOf = (req: FastifyRequest) => req.adminCredential!.subject;

  /** The per-user server `name`, or the error that says why it is not one. */
  const perUserServer = (name: string): UpstreamView => {
    const connection = manager.get(name);
    if (!connection) throw new GatehouseError('SERVER_NOT_FOUND', `no server named "${name}"`);
    if (!manager.isPerUser(name)) {
      throw new GatehouseError(
        'SERVER_NOT_PER_USER',
        `"${name}" is shared: its credentials are the administrator's, not each person's`,
      );
    }
    return connection;
  };

  const myServer = async (connection: UpstreamView, owner: string): Promise<MyServer> => {
    const status = await manager.personStatus(connection.name, owner);
    const words = personLabel(status, { stdio: connection.config.type === 'stdio' });
    return { ...status, type: connection.transportKind, ...words };
  };

  app.get('/api/me/servers', async (req) => {
    const owner = ownerOf(req);
    const mine = manager.list().filter((connection) => manager.isPerUser(connection.name));
    return { servers: await Promise.all(mine.map((connection) => myServer(connection, owner))) };
  });

  /**
   * The connect link (connect-routes.ts), not the authorization server's URL: opened in the
   * person's browser, it binds the flow to their session before sending them on.
   */
  app.post<{ Params: { name: string } }>('/api/me/servers/:name/authorize', async (req) => {
    const connection = perUserServer(req.params.name);
    if (connection.config.type === 'stdio')
      throw new GatehouseError(
        'OAUTH_NOT_CONFIGURED',
        `"${connection.name}" is a program: it has nothing to sign in to`,
      );
    return { authorizationUrl: connectLink(linkBase(req, store), connection.name, ownerOf(req)) };
  });

  /** Revokes the person's tokens at the authorization server where it can, forgets them, ends their connection. */
  app.post<{ Params: { name: string } }>('/api/me/servers/:name/disconnect', async (req, reply) => {
    perUserServer(req.params.name);
    await manager.disconnectFor(req.params.name, ownerOf(req));
    req.log.info({ server: req.params.name }, 'per-user server disconnected by its person');
    return reply.code(204).send();
  });

  app.put<{ Params: { name: string }; Body: { values: Record<string, string | null> } }>(
    '/api/me/servers/:name/inputs',
    { schema: { body: INPUTS_BODY_SCHEMA } },
    async (req, reply) => {
      perUserServer(req.params.name);
      await manager.setInputsFor(req.params.name, ownerOf(req), req.body.values);
      return reply.code(204).send();
    },
  );
}

/**
 * Where the connect link points: systemConfig.baseUrl, else the address the dashboard itself was
 * reached at (the link must carry this browser's session cookie, which belongs to that host; a
 * cookie request's Origin was already checked against it by the guard).
 */
function linkBase(req: FastifyRequest, store: SettingsStore): string {
  const configured = store.current.system.baseUrl;
  if (configured) return configured.replace(/\/+$/, '');
  return `${req.protocol}://${req.host}`;
}
