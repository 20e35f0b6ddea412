/**
 * API keys for scripts and agents: `POST /api/keys` (the secret is in this answer only),
 * `GET /api/keys` (never a secret), `DELETE /api/keys/:id` (refused from the next request on).
 * Registered behind the admin guard: today the admin creates keys, for themself or for any person
 * (`user`), so that a script can act upstream as that person.
 */
import type { FastifyInstance } from 'fastify';
import { GatehouseError } from '../errors.js';
import type { ApiKeyStore } from '../security/api-keys.js';
import { scopeTarget } from '../security/principal.js';
import type { SettingsStore } from '../settings/store.js';

export interface KeysRoutesOptions {
  keys: ApiKeyStore;
  store: SettingsStore;
}

interface CreateBody {
  name: string;
  scopes: string[];
  user?: string;
  expiresAt?: string;
}

/** The body of `POST /api/keys` (`/api/me/keys` takes the same without `user`). */
export const CREATE_SCHEMA = {
  type: 'object',
  required: ['name', 'scopes'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 100 },
    scopes: { type: 'array', minItems: 1, maxItems: 100, items: { type: 'string', minLength: 1 } },
    user: { type: 'string', minLength: 1, maxLength: 200 },
    expiresAt: { type: 'string', minLength: 1 },
  },
  additionalProperties: false,
} as const;

/** The three key routes. */
export async function keysRoutes(app: FastifyInstance, opts: KeysRoutesOptions): Promise<void> {
  const { keys, store } = opts;

  app.post<{ Body: CreateBody }>('/api/keys', { schema: { body: CREATE_SCHEMA } }, async (req, reply) => {
    const { name, scopes, user, expiresAt } = req.body;
    checkScopes(scopes, store);
    const expires = futureDate(expiresAt);
    const created = await keys.create({
      name,
      scopes,
      // Only the admin reaches this route: the key acts as the admin unless another person is named.
      user: user ?? 'admin',
      createdBy: 'admin',
      expiresAt: expires,
    });
    req.log.info({ key: created.key.id, user: created.key.user, scopes }, 'API key created');
    return reply.code(201).send(created);
  });

  app.get('/api/keys', async () => ({ keys: keys.list() }));

  app.delete<{ Params: { id: string } }>('/api/keys/:id', async (req, reply) => {
    await keys.revoke(req.params.id);
    req.log.info({ key: req.params.id }, 'API key revoked');
    return reply.code(204).send();
  });
}

/**
 * A key's `expiresAt`, which must lie in the future.
 * @throws GatehouseError BAD_REQUEST
 */
export function futureDate(expiresAt: string | undefined): Date | undefined {
  if (expiresAt === undefined) return undefined;
  const expires = new Date(expiresAt);
  if (Number.isNaN(expires.getTime()) || expires.getTime() <= Date.now()) {
    throw new GatehouseError('BAD_REQUEST', 'expiresAt must be a date and time in the future (ISO 8601)');
  }
  return expires;
}

/**
 * Every scope must be `mcp:all` or name a server or group that exists now.
 * @throws GatehouseError SCOPE_INVALID
 */
export function checkScopes(scopes: string[], store: SettingsStore): void {
  const { servers, groups } = store.current;
  for (const scope of scopes) {
    const target = scopeTarget(scope);
    const exists =
      target !== undefined &&
      (target.kind === 'all' || (target.kind === 'server' ? servers : groups).has(target.name));
    if (!exists) {
      throw new GatehouseError(
        'SCOPE_INVALID',
        `"${scope}" is not a scope: use mcp:all, mcp:server:<name> or mcp:group:<name> of an existing server or group`,
        { details: { scope } },
      );
    }
  }
}
