/**
 * `PUT /api/servers/:name/inputs` `{ "values": { "<id>": "<value>" | null } }`: the credentials a
 * person types in for a server's `inputs` (VS Code's `${input:<id>}`). Values are stored encrypted
 * (upstream/inputs.ts), the server reconnects with them, and no answer or log ever carries one:
 * the detail shows only whether each is set. Registered behind the admin guard.
 */
import type { FastifyInstance } from 'fastify';

import type { UpstreamManager } from '../upstream/manager.js';

export interface InputsRoutesOptions {
  manager: UpstreamManager;
}

/** The body of an inputs route (this one and a person's own, me-servers-routes.ts). */
export const INPUTS_BODY_SCHEMA = {
  type: 'object',
  required: ['values'],
  properties: {
    values: {
      type: 'object',
      // A string sets a value; null forgets it.
      additionalProperties: { type: ['string', 'null'] },
    },
  },
  additionalProperties: false,
} as const;

/** The inputs route: 204 once stored; the reconnect runs in the background, as for Reconnect. */
export async function inputsRoutes(app: FastifyInstance, opts: InputsRoutesOptions): Promise<void> {
  app.put<{ Params: { name: string }; Body: { values: Record<string, string | null> } }>(
    '/api/servers/:name/inputs',
    { schema: { body: INPUTS_BODY_SCHEMA } },
    async (req, reply) => {
      await opts.manager.setInputs(req.params.name, req.body.values);
      return reply.code(204).send();
    },
  );
}
