/**
 * `/api/me`: what a signed-in person sees of their own (issue 13, "users see and revoke their
 * authorized clients"; a key acts "by default [as] whoever creates it"). Reached by a person's
 * session (team sign-in) and by the admin (subject `admin`). Everything is filtered by the
 * session's subject; another person's key or grant is answered as not found, never as forbidden,
 * so its existence is not revealed.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GatehouseError } from '../errors.js';
import type { ClientGrants } from '../inbound/grants.js';
import type { ApiKeyStore } from '../security/api-keys.js';
import type { SettingsStore } from '../settings/store.js';
import { checkScopes, CREATE_SCHEMA, futureDate } from './keys-routes.js';

export interface MeRoutesOptions {
  keys: ApiKeyStore;
  store: SettingsStore;
  /** The own authorization server's grants; without them the person has no clients. */
  clients?: ClientGrants;
}

interface CreateBody {
  name: string;
  scopes: string[];
  expiresAt?: string;
}

/**
 * `POST /api/keys`'s body, where `user` is refused (400) rather than dropped as an unknown field
 * would be: a person's key always acts as that person, and asking otherwise is a mistake to say.
 */
const CREATE_OWN_SCHEMA = {
  ...CREATE_SCHEMA,
  properties: { ...CREATE_SCHEMA.properties, user: { not: {} } },
} as const;

/** The `/api/me` routes (behind the admin guard, which lets a person's session through to them). */
export async function meRoutes(app: FastifyInstance, opts: MeRoutesOptions): Promise<void> {
  const { keys, store, clients } = opts;
  const subjectOf = (req: FastifyRequest) => req.adminCredential!.subject;

  app.get('/api/me', async (req) => {
    const { subject, role } = req.adminCredential!;
    return { subject, role };
  });

  app.get('/api/me/keys', async (req) => {
    const subject = subjectOf(req);
    return { keys: keys.list().filter((key) => key.user === subject) };
  });

  app.post<{ Body: CreateBody }>(
    '/api/me/keys',
    { schema: { body: CREATE_OWN_SCHEMA } },
    async (req, reply) => {
      const subject = subjectOf(req);
      const { name, scopes, expiresAt } = req.body;
      checkScopes(scopes, store);
      const created = await keys.create({
        name,
        scopes,
        user: subject,
        createdBy: subject,
        expiresAt: futureDate(expiresAt),
      });
      req.log.info({ key: created.key.id, user: subject, scopes }, 'API key created by its user');
      return reply.code(201).send(created);
    },
  );

  app.delete<{ Params: { id: string } }>('/api/me/keys/:id', async (req, reply) => {
    const own = keys.list().some((key) => key.id === req.params.id && key.user === subjectOf(req));
    if (!own) throw new GatehouseError('KEY_NOT_FOUND', `No API key of yours with id "${req.params.id}"`);
    await keys.revoke(req.params.id);
    req.log.info({ key: req.params.id }, 'API key revoked by its user');
    return reply.code(204).send();
  });

  app.get('/api/me/clients', async (req) => ({
    clients: clients ? await clients.list(subjectOf(req)) : [],
  }));

  app.delete<{ Params: { grantId: string } }>('/api/me/clients/:grantId', async (req, reply) => {
    if (!clients) throw new GatehouseError('INBOUND_GRANT_NOT_FOUND');
    await clients.revoke(req.params.grantId, subjectOf(req));
    req.log.info({ grant: req.params.grantId }, 'authorized client revoked by its user');
    return reply.code(204).send();
  });
}
