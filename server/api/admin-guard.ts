/**
 * The one guard of the admin API: every route registered in the scope that registers `adminGuard`
 * (admin-routes.ts registers every /api plugin there) needs the admin bearer token or a signed-in
 * session cookie. With the cookie, a request that changes something must also come from the
 * gateway's own page (`Origin`), since a browser attaches cookies by itself.
 *
 * A session has a role (issue 13): the admin's reaches everything; a person's (team sign-in) only
 * the sign-in routes and their own keys and clients (`sessionMayCall`). The only routes without a
 * credential are the two that start a sign-in (`config: { publicSignIn: true }`, session-routes.ts).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GatehouseError } from '../errors.js';
import {
  ADMIN_SESSION,
  isMutatingMethod,
  originAllowed,
  sessionIdFromCookie,
  type AdminSessionStore,
  type DashboardSession,
  type SessionRole,
} from '../security/admin-session.js';
import { verifyBearer } from '../security/admin-token.js';

export { secureCookies } from '../security/admin-session.js';

/** How a request to the admin API proved it may (the bearer token, or the session cookie), and who it is. */
export type AdminCredential = ({ kind: 'bearer' } | { kind: 'cookie'; sessionId: string }) & DashboardSession;

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the admin guard on every /api request it lets through (null on the public sign-in routes). */
    adminCredential: AdminCredential | null;
  }
  interface FastifyContextConfig {
    /** A route that starts a sign-in: reachable without a credential (session-routes.ts only). */
    publicSignIn?: boolean;
  }
}

export interface AdminAuthOptions {
  adminToken: string;
  sessions: AdminSessionStore;
  /** systemConfig.baseUrl as now live (its origin is the gateway's own; https sets `Secure`). */
  baseUrl: () => string | undefined;
}

/** The paths a person's (`user`) session may call: signing in and out, and their own things. */
const USER_PATHS = ['/api/session', '/api/me'];

/**
 * Whether a session of `role` may call `path` (the URL path, query ignored): the admin anything, a
 * person only `/api/session`, `/api/me` and what lies below them.
 */
export function sessionMayCall(role: SessionRole, path: string): boolean {
  if (role === 'admin') return true;
  const query = path.indexOf('?');
  const bare = query === -1 ? path : path.slice(0, query);
  return USER_PATHS.some((prefix) => bare === prefix || bare.startsWith(`${prefix}/`));
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
    return { kind: 'bearer', ...ADMIN_SESSION };
  }
  const sessionId = sessionIdFromCookie(req.headers.cookie);
  const who = sessionId === undefined ? undefined : await auth.sessions.touch(sessionId);
  if (sessionId === undefined || who === undefined) {
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
  return { kind: 'cookie', sessionId, subject: who.subject, role: who.role };
}

/**
 * The guard as a Fastify plugin that does not open a scope of its own (`skip-override`, what
 * fastify-plugin sets): its hook covers every route of the scope that registers it, including
 * plugins registered there later.
 * @throws GatehouseError ADMIN_REQUIRED for a person's session outside `sessionMayCall`.
 */
export async function adminGuard(app: FastifyInstance, auth: AdminAuthOptions): Promise<void> {
  app.decorateRequest('adminCredential', null);
  app.addHook('onRequest', async (req, reply) => {
    // Admin answers describe live state and may name servers: never cached, never stored.
    reply.header('cache-control', 'no-store');
    if (req.routeOptions.config.publicSignIn === true) return;
    const credential = await authenticateAdmin(req, auth);
    // The matched route's pattern, not the raw URL: what runs is what is decided on (no path tricks).
    if (!sessionMayCall(credential.role, req.routeOptions.url ?? '')) {
      throw new GatehouseError('ADMIN_REQUIRED');
    }
    req.adminCredential = credential;
  });
}
(adminGuard as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
