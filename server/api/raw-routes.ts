/**
 * The raw editor: `GET /api/settings/raw` gives the settings file's text without the gateway's
 * `gatehouse` fields and with stored secrets as `"<secret: set>"`; `PUT` saves an edited text when
 * it loads exactly as the file would at start (same parser, interpolation, schema and checks),
 * with the fields and secrets of the file on disk put back. An invalid text is never written: the
 * answer lists each problem with its path, line and column.
 */
import type { FastifyInstance } from 'fastify';
import { GatehouseError, isGatehouseError } from '../errors.js';
import { parseJsonText } from '../settings/json-text.js';
import { editorView, restoreFromDisk } from '../settings/raw-text.js';
import type { SettingsStore } from '../settings/store.js';
import { invalidSettingsError } from '../settings/validate.js';
import { errorBody } from './problems.js';

export interface RawRoutesOptions {
  store: SettingsStore;
}

/** The raw editor's routes; registered behind the admin guard. */
export async function rawRoutes(app: FastifyInstance, opts: RawRoutesOptions): Promise<void> {
  const { store } = opts;

  app.get('/api/settings/raw', async (_req, reply) => {
    const text = await store.text(); // the file's, or on Redis the shared document (the export)
    try {
      return editorView(text, store.path);
    } catch (error) {
      if (!isGatehouseError(error)) throw error;
      // Not shown while it does not parse: its gateway fields could not be left out.
      return reply.code(error.status).send(errorBody(error, text));
    }
  });

  app.put<{ Body: { text: string; version: string } }>(
    '/api/settings/raw',
    {
      schema: {
        body: {
          type: 'object',
          required: ['text', 'version'],
          properties: { text: { type: 'string' }, version: { type: 'string' } },
        },
      },
    },
    async (req, reply) => {
      const { text, version } = req.body;
      try {
        parseJsonText(text, store.path); // a syntax error is answered with its place, before anything else
        const written = await store.replaceText((current) => {
          let onDisk;
          try {
            onDisk = editorView(current, store.path);
          } catch {
            throw new GatehouseError(
              'SETTINGS_CONFLICT',
              'The settings file on disk does not parse now (is it being edited?); reload',
            );
          }
          if (onDisk.version !== version) {
            throw new GatehouseError(
              'SETTINGS_CONFLICT',
              'The settings file changed on disk since it was loaded; reload',
            );
          }
          const restored = restoreFromDisk(text, current, store.path);
          if (restored.problems.length > 0) throw invalidSettingsError(restored.problems, store.path);
          return restored.text;
        });
        return { version: editorView(written.text, store.path).version };
      } catch (error) {
        if (!isGatehouseError(error) || error.code === 'SETTINGS_CONFLICT') throw error;
        // Problems are located in the text the person sent (the saved one differs only in the
        // gateway fields and secrets put back).
        return reply.code(error.status).send(errorBody(error, text));
      }
    },
  );
}
