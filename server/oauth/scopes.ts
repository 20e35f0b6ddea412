/** Which scopes to ask for. Pure. */

export interface ScopeSources {
  /** `oauth.scopes` from the settings: the person's choice wins. */
  configured?: readonly string[] | undefined;
  /** `scope` of the upstream's `WWW-Authenticate` challenge. */
  challenged?: readonly string[] | undefined;
  /** `scopes_supported` of the protected resource metadata (RFC 9728 §2). */
  resourceSupported?: readonly string[] | undefined;
  /** `scopes_supported` of the authorization server metadata (RFC 8414 §2). */
  serverSupported?: readonly string[] | undefined;
}

/**
 * The scopes of an authorization request. MCP spec, "Scope Selection Strategy": the challenge's
 * `scope` first, else all of the resource metadata's `scopes_supported`, else no `scope` at all.
 * Configured scopes override both. `offline_access` is added per `withOfflineAccess`.
 */
export function selectScopes(sources: ScopeSources): string[] {
  const base = sources.configured ?? sources.challenged ?? sources.resourceSupported ?? [];
  return withOfflineAccess(unionScopes(base), sources.serverSupported);
}

/**
 * Adds `offline_access` when the authorization server lists it in `scopes_supported`, so an
 * OIDC-flavoured server issues a refresh token (MCP SEP-2207: clients MAY add it when advertised and
 * MUST NOT when it is not). Never removes a scope the configuration or the server asked for.
 */
export function withOfflineAccess(
  scopes: readonly string[],
  serverSupported: readonly string[] | undefined,
): string[] {
  const out = [...scopes];
  if (serverSupported?.includes('offline_access') && !out.includes('offline_access'))
    out.push('offline_access');
  return out;
}

/** The union of scope lists, first occurrence order, without blanks or duplicates. */
export function unionScopes(...lists: ReadonlyArray<readonly string[] | undefined>): string[] {
  const out = new Set<string>();
  for (const list of lists) for (const scope of list ?? []) if (scope !== '') out.add(scope);
  return [...out];
}

/** Whether `granted` covers every scope in `required` (`offline_access` is never in an access token). */
export function coversScopes(granted: readonly string[], required: readonly string[]): boolean {
  return required.every((s) => s === 'offline_access' || granted.includes(s));
}

/** RFC 6749 §3.3: scope is a space-delimited list. */
export function splitScope(scope: string | undefined): string[] {
  return scope === undefined ? [] : unionScopes(scope.split(' '));
}
