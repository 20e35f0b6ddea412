/**
 * The one guard of the admin API: every route registered in the scope that registers `adminGuard`
 * (admin-routes.ts registers every /api plugin there) needs the admin bearer token or a signed-in
 * session cookie. With the cookie, a request that changes something must also come from the
 * gateway's own page (`Origin`), since a browser attaches cookies by itself.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GatehouseError } from '../errors.js';
import {
  isMutatingMethod,
  originAllowed,
  sessionIdFromCookie,
  type AdminSessionStore,
} from '../security/admin-session.js';
import { verifyBearer } from '../security/admin-token.js';

/** How a request to the admin API proved it may: the bearer token, or the session cookie. */
export type AdminCredential = { kind: 'bearer' } | { kind: 'cookie'; sessionId: string };

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the admin guard on every /api request it lets through. */
    adminCredential: AdminCredential | null;
  }
}

export interface AdminAuthOptions {
  adminToken: string;
  sessions: AdminSessionStore;
  /** systemConfig.baseUrl as now live (its origin is the gateway's own; https sets `Secure`). */
  baseUrl: () => string | undefined;
}

/** True when the gateway is reached over https, so the session cookie must be `Secure`. */
export function secureCookies(baseUrl: string | undefined): boolean {
  return baseUrl?.startsWith('https:') === true;
}

/**
 * Checks the credential of one admin request.
 * @throws GatehouseError ADMIN_UNAUTHORIZED without a valid token or live session;
 *   ORIGIN_REJECTED for a cookie request that changes something from another origin (or none).
 */
export async function authenticateAdmin(
  req: FastifyRequest,
  auth: AdminAuthOptions,
): Promise<AdminCredential> {
  const header = req.headers.authorization;
  if (header !== undefined) {
    // A token that is present but wrong is refused even with a good cookie: say so rather than guess.
    if (!verifyBearer(header, auth.adminToken)) throw new GatehouseError('ADMIN_UNAUTHORIZED');
    return { kind: 'bearer' };
  }
  const sessionId = sessionIdFromCookie(req.headers.cookie);
  if (sessionId === undefined || !(await auth.sessions.touch(sessionId))) {
    throw new GatehouseError('ADMIN_UNAUTHORIZED');
  }
  if (
    isMutatingMethod(req.method) &&
    !originAllowed(req.headers.origin, { protocol: req.protocol, host: req.headers.host }, auth.baseUrl())
  ) {
    throw new GatehouseError(
      'ORIGIN_REJECTED',
      "A signed-in change must come from the gateway's own page (its Origin did not match)",
    );
  }
  return { kind: 'cookie', sessionId };
}

/**
 * The guard as a Fastify plugin that does not open a scope of its own (`skip-override`, what
 * fastify-plugin sets): its hook covers every route of the scope that registers it, including
 * plugins registered there later.
 */
export async function adminGuard(app: FastifyInstance, auth: AdminAuthOptions): Promise<void> {
  app.decorateRequest('adminCredential', null);
  app.addHook('onRequest', async (req, reply) => {
    req.adminCredential = await authenticateAdmin(req, auth);
    // Admin answers describe live state and may name servers: never cached, never stored.
    reply.header('cache-control', 'no-store');
  });
}
(adminGuard as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
