/**
 * Editing the settings from the dashboard (or a script): add, edit, rename, remove a server,
 * switch a server or a tool on or off, and the groups. Thin routes over the SettingsEditor; every
 * change is one write of the settings file, which the hot reload then applies as a per-server diff.
 */
import type { FastifyInstance } from 'fastify';
import { GatehouseError, toGatehouseError } from '../errors.js';
import { entryVersion } from '../settings/gateway-fields.js';
import type { SettingsEditor } from '../settings/server-edits.js';
import type { SettingsStore } from '../settings/store.js';
import type { UpstreamManager } from '../upstream/manager.js';

export interface EditRoutesOptions {
  editor: SettingsEditor;
  store: SettingsStore;
  manager: UpstreamManager;
}

type Name = { Params: { name: string } };
const ENABLED = {
  type: 'object',
  required: ['enabled'],
  properties: { enabled: { type: 'boolean' } },
} as const;

/** The editing routes; registered behind the admin guard. */
export async function editRoutes(app: FastifyInstance, opts: EditRoutesOptions): Promise<void> {
  const { editor, store, manager } = opts;
  const versionOf = (name: string) => {
    const entry = store.rawServerEntry(name);
    return entry === undefined ? undefined : entryVersion(entry);
  };

  app.post<{ Body: { name: string; entry: unknown } }>(
    '/api/servers',
    {
      schema: {
        body: {
          type: 'object',
          required: ['name', 'entry'],
          properties: { name: { type: 'string' }, entry: { type: 'object' } },
        },
      },
    },
    async (req, reply) => {
      await editor.add(req.body.name, req.body.entry);
      return reply.code(201).send({ name: req.body.name, version: versionOf(req.body.name) });
    },
  );

  app.put<Name & { Body: { entry: unknown; version: string; rename?: string } }>(
    '/api/servers/:name',
    {
      schema: {
        body: {
          type: 'object',
          required: ['entry', 'version'],
          properties: { entry: { type: 'object' }, version: { type: 'string' }, rename: { type: 'string' } },
        },
      },
    },
    async (req) => {
      const { name } = await editor.edit(req.params.name, req.body);
      return { name, version: versionOf(name) };
    },
  );

  /**
   * Revokes the server's tokens at its authorization server where it can (RFC 7009), then removes
   * the entry with everything stored in it (credentials, typed-in values) and its group memberships.
   */
  app.delete<Name>('/api/servers/:name', async (req, reply) => {
    const { name } = req.params;
    if (store.rawServerEntry(name) === undefined) {
      throw new GatehouseError('SERVER_NOT_FOUND', `no server named "${name}"`);
    }
    // Tokens held now, wherever they are stored (the settings file, or the shared store).
    if (manager.authStatus(name)?.token) {
      await manager.disconnect(name).catch((error: unknown) => {
        // The credentials go with the entry anyway; a revocation that failed is only reported.
        req.log.warn(
          { server: name, code: toGatehouseError(error).code },
          'revoking the tokens of a removed server failed',
        );
      });
    }
    await editor.remove(name);
    return reply.code(204).send();
  });

  app.patch<Name & { Body: { enabled: boolean } }>(
    '/api/servers/:name',
    { schema: { body: ENABLED } },
    async (req, reply) => {
      await editor.setEnabled(req.params.name, req.body.enabled);
      return reply.code(204).send();
    },
  );

  app.patch<{ Params: { name: string; tool: string }; Body: { enabled: boolean } }>(
    '/api/servers/:name/tools/:tool',
    { schema: { body: ENABLED } },
    async (req, reply) => {
      await editor.setToolEnabled(req.params.name, req.params.tool, req.body.enabled);
      return reply.code(204).send();
    },
  );

  app.get('/api/groups', async () => editor.groups());

  app.put<Name & { Body: { servers: string[] } }>(
    '/api/groups/:name',
    {
      schema: {
        body: {
          type: 'object',
          required: ['servers'],
          properties: { servers: { type: 'array', items: { type: 'string' } } },
        },
      },
    },
    async (req, reply) => {
      await editor.putGroup(req.params.name, req.body.servers);
      return reply.code(204).send();
    },
  );

  app.delete<Name>('/api/groups/:name', async (req, reply) => {
    await editor.deleteGroup(req.params.name);
    return reply.code(204).send();
  });
}
