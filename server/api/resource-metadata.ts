/**
 * OAuth 2.0 Protected Resource Metadata (RFC 9728) for Gatehouse's own MCP endpoints, so that an
 * MCP client told `401 … resource_metadata="…"` learns which authorization server to use and which
 * scopes exist. One document per protected resource, at the path-inserted well-known URL
 * (`/.well-known/oauth-protected-resource/mcp/<name>` for `<base>/mcp/<name>`), and one at the root
 * for clients that look only there (its resource is the whole gateway, `<base>`). Public, no
 * credential, readable cross-origin (browser-based clients fetch it).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GatehouseError } from '../errors.js';
import { SCOPE_ALL, scopeFor } from '../security/principal.js';
import type { Settings } from '../settings/types.js';

export interface ResourceMetadataOptions {
  /** The base URL a request was sent to. */
  baseUrl: (req: FastifyRequest) => string;
  settings: () => Settings;
  /** The authorization server whose tokens /mcp accepts (own or external); none: API keys only. */
  issuer: () => string | undefined;
}

const WELL_KNOWN = '/.well-known/oauth-protected-resource';

/** The metadata routes (see the module comment). */
export async function resourceMetadataRoutes(
  app: FastifyInstance,
  opts: ResourceMetadataOptions,
): Promise<void> {
  const document = (req: FastifyRequest, resourcePath: string, name: string | undefined) => {
    const settings = opts.settings();
    if (name !== undefined && !settings.groups.has(name) && !settings.servers.has(name)) {
      throw new GatehouseError('SERVER_NOT_FOUND', `No server or group named "${name}"`);
    }
    const issuer = opts.issuer();
    const scopes =
      name === undefined
        ? [
            SCOPE_ALL,
            ...[...settings.servers.keys()].map((s) => scopeFor(s, false)),
            ...[...settings.groups.keys()].map((g) => scopeFor(g, true)),
          ]
        : [scopeFor(name, settings.groups.has(name)), SCOPE_ALL];
    return {
      resource: `${opts.baseUrl(req)}${resourcePath}`,
      ...(issuer ? { authorization_servers: [issuer] } : {}),
      scopes_supported: scopes,
      bearer_methods_supported: ['header'],
      resource_name: name === undefined ? 'Gatehouse' : `Gatehouse: ${name}`,
    };
  };

  const send = (reply: FastifyReply, body: object) =>
    reply.header('access-control-allow-origin', '*').header('cache-control', 'max-age=300').send(body);

  app.get(WELL_KNOWN, async (req, reply) => send(reply, document(req, '', undefined)));
  for (const endpoint of ['/mcp', '/sse']) {
    app.get(`${WELL_KNOWN}${endpoint}`, async (req, reply) =>
      send(reply, document(req, endpoint, undefined)),
    );
    app.get(
      `${WELL_KNOWN}${endpoint}/:name`,
      async (req: FastifyRequest<{ Params: { name: string } }>, reply) =>
        send(reply, document(req, `${endpoint}/${encodeURIComponent(req.params.name)}`, req.params.name)),
    );
  }
}

/**
 * Every resource URL of Gatehouse's MCP endpoints under each of `bases`: the audiences an inbound
 * access token may carry (RFC 8707), and the `resource` values the authorization server accepts.
 */
export function resourceUrls(
  bases: string[],
  settings: { servers: Map<string, unknown>; groups: Map<string, unknown> },
): string[] {
  const names = [...settings.servers.keys(), ...settings.groups.keys()].map(encodeURIComponent);
  return bases.flatMap((base) => [
    base,
    `${base}/mcp`,
    `${base}/sse`,
    ...names.map((n) => `${base}/mcp/${n}`),
    ...names.map((n) => `${base}/sse/${n}`),
  ]);
}
