/**
 * Which resources Gatehouse's authorization server issues tokens for, and which scopes each may
 * carry. Pure functions over the live settings.
 *
 * The resources (RFC 8707 `resource`) are Gatehouse's MCP endpoints: `<base>/mcp`,
 * `<base>/mcp/<name>`, `<base>/sse`, `<base>/sse/<name>`, where `<name>` is a configured server or
 * group. Every other value is refused (`invalid_target`), so a token minted here is never good for
 * another service.
 */
import { SCOPE_ALL, scopeFor } from '../security/principal.js';
import type { Settings } from '../settings/types.js';

/** The OIDC scope that asks for a refresh token (OIDC Core §11); a grant-level scope, not an MCP one. */
export const OFFLINE_ACCESS = 'offline_access';

const ENDPOINTS = ['mcp', 'sse'] as const;

/** The endpoint segment and the server or group name a resource URL names, or undefined. */
export function parseResource(
  resource: string,
  base: string,
  settings: Settings,
): { endpoint: 'mcp' | 'sse'; name?: string } | undefined {
  // RFC 8707 §2: a resource has no query and no fragment.
  if (/[?#]/.test(resource)) return undefined;
  const matched = loopbackAliases(base).find((b) => resource === b || resource.startsWith(`${b}/`));
  if (matched === undefined) return undefined;
  // The whole gateway (the root protected resource metadata's resource): every endpoint.
  if (resource === matched) return { endpoint: 'mcp' };
  const [endpoint, name, ...rest] = resource.slice(matched.length + 1).split('/');
  if (rest.length > 0 || !ENDPOINTS.includes(endpoint as 'mcp')) return undefined;
  const which = endpoint as 'mcp' | 'sse';
  if (name === undefined) return { endpoint: which };
  const decoded = safeDecode(name);
  if (decoded === undefined || !knownName(decoded, settings)) return undefined;
  return { endpoint: which, name: decoded };
}

/** True for any of Gatehouse's MCP resource URLs (the verifier's audience check). */
export function isGatehouseResource(resource: unknown, base: string, settings: Settings): boolean {
  return typeof resource === 'string' && parseResource(resource, base, settings) !== undefined;
}

/**
 * Every MCP scope a token may carry, whichever endpoint it is for: `mcp:all` and one per configured
 * server and group. A token for `/mcp/<name>` may still carry other scopes; what a request sees is
 * decided by its scopes on each request (server/security/principal.ts `covers`).
 */
export function supportedScopes(settings: Settings): string[] {
  const scopes = [SCOPE_ALL];
  for (const name of settings.servers.keys()) scopes.push(scopeFor(name, false));
  for (const name of settings.groups.keys()) scopes.push(scopeFor(name, true));
  return scopes;
}

/**
 * Without a configured public URL the base is `http://localhost:<port>`, but a client may reach the
 * same listener as 127.0.0.1 or [::1], and the resource it is told (RFC 9728) is the URL it used:
 * each loopback name with the same port names the same resource.
 */
function loopbackAliases(base: string): string[] {
  const url = new URL(base);
  const names = ['localhost', '127.0.0.1', '[::1]'];
  if (url.protocol !== 'http:' || !names.includes(url.hostname)) return [base];
  const path = url.pathname.replace(/\/+$/, '');
  return names.map((host) => `http://${host}${url.port ? `:${url.port}` : ''}${path}`);
}

function knownName(name: string, settings: Settings): boolean {
  return settings.servers.has(name) || settings.groups.has(name);
}

function safeDecode(segment: string): string | undefined {
  try {
    const decoded = decodeURIComponent(segment);
    return decoded === '' || decoded.includes('/') ? undefined : decoded;
  } catch {
    return undefined;
  }
}
