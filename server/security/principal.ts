/**
 * Who an inbound MCP request comes from (DESIGN.md, "Inbound identity"), and what it may reach.
 *
 * Scopes (the same for OAuth access tokens and API keys):
 * - `mcp:all`: every server;
 * - `mcp:server:<name>`: one server's tools, prompts and resources;
 * - `mcp:group:<name>`: the servers of a group, as the group stands now.
 * Other scopes (`openid`, `offline_access`…) grant nothing here. Pure functions.
 */

export const SCOPE_ALL = 'mcp:all';
const SERVER_PREFIX = 'mcp:server:';
const GROUP_PREFIX = 'mcp:group:';

/** The parsed scopes of one credential. */
export interface ScopeGrants {
  all: boolean;
  servers: ReadonlySet<string>;
  groups: ReadonlySet<string>;
  /** The MCP scopes, sorted and space-separated: equal grants have equal keys (list caches use it). */
  key: string;
}

/** The identity of one inbound request. */
export interface Principal {
  /**
   * `local`: no credential on an open loopback endpoint; `admin`: the admin token; `key`: an API
   * key; `token`: an OAuth access token.
   */
  kind: 'local' | 'admin' | 'key' | 'token';
  /** The person: `admin`, an API key's user, a token's subject; `local` for `local`. */
  subject: string;
  grants: ScopeGrants;
  /** The OAuth client a token was issued to. */
  clientId?: string;
  /** The API key's id (never its secret). */
  keyId?: string;
  /** Epoch ms after which the credential is no longer valid (caches end there). */
  expiresAt?: number;
}

/**
 * Checks bearer tokens of one kind (Gatehouse's own authorization server, an external issuer).
 * `verify` answers undefined for a token it does not know, or that is expired, revoked, signed by
 * another key or meant for another audience; it never throws for a bad token.
 */
export interface TokenVerifier {
  verify(token: string): Promise<Principal | undefined>;
  /**
   * Registers a listener called when a token this verifier accepted before may no longer be valid
   * (a revocation, a grant withdrawn): the authenticator then drops its cache of verified tokens.
   */
  onRevoke?(listener: () => void): void;
}

/** Parses a space-separated scope string (unknown scopes are ignored). */
export function parseScopes(scope: string | readonly string[] | undefined): ScopeGrants {
  const list = typeof scope === 'string' ? scope.split(' ') : (scope ?? []);
  const servers = new Set<string>();
  const groups = new Set<string>();
  let all = false;
  const kept = new Set<string>();
  for (const item of list) {
    if (item === SCOPE_ALL) all = true;
    else if (item.startsWith(SERVER_PREFIX) && item.length > SERVER_PREFIX.length)
      servers.add(item.slice(SERVER_PREFIX.length));
    else if (item.startsWith(GROUP_PREFIX) && item.length > GROUP_PREFIX.length)
      groups.add(item.slice(GROUP_PREFIX.length));
    else continue;
    kept.add(item);
  }
  return { all, servers, groups, key: [...kept].sort().join(' ') };
}

/** Every scope: what the admin token and an open loopback endpoint have. */
export const ALL_GRANTS: ScopeGrants = parseScopes(SCOPE_ALL);

/** The scope that covers a path segment of /mcp: '' → all, a group, or a server. */
export function scopeFor(scopeName: string, isGroup: boolean): string {
  if (scopeName === '') return SCOPE_ALL;
  return `${isGroup ? GROUP_PREFIX : SERVER_PREFIX}${scopeName}`;
}

/** The scope names a server or group (for checking that a key's scopes name something that exists). */
export function scopeTarget(
  scope: string,
): { kind: 'all' } | { kind: 'server' | 'group'; name: string } | undefined {
  if (scope === SCOPE_ALL) return { kind: 'all' };
  if (scope.startsWith(SERVER_PREFIX) && scope.length > SERVER_PREFIX.length)
    return { kind: 'server', name: scope.slice(SERVER_PREFIX.length) };
  if (scope.startsWith(GROUP_PREFIX) && scope.length > GROUP_PREFIX.length)
    return { kind: 'group', name: scope.slice(GROUP_PREFIX.length) };
  return undefined;
}

/**
 * Whether the grants cover one server. `groupsOf` names the groups the server is in now (a group
 * edited in the settings changes what its scope covers at once).
 */
export function covers(
  grants: ScopeGrants,
  server: string,
  groupsOf: (server: string) => Iterable<string>,
): boolean {
  if (grants.all || grants.servers.has(server)) return true;
  if (grants.groups.size === 0) return false;
  for (const group of groupsOf(server)) if (grants.groups.has(group)) return true;
  return false;
}

/**
 * Whose upstream credentials a principal uses on a per-user server (issue 14): its subject. The
 * open loopback endpoint's `local` caller is the one person at the machine, who is also the
 * dashboard's administrator: both are `admin`, so what they connect in the dashboard serves their calls.
 */
export function ownerOf(principal: Principal): string {
  return principal.kind === 'local' ? 'admin' : principal.subject;
}
