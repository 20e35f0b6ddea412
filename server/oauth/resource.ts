/**
 * The MCP server's resource identifier: what goes into `resource` (RFC 8707) and what protected
 * resource metadata (RFC 9728) must name. Pure.
 */

/**
 * The canonical URI of an MCP server (MCP spec, "Canonical Server URI"): lowercase scheme and host
 * (URL parsing does that), no fragment (RFC 8707 §2: MUST NOT include a fragment), and no trailing
 * slash (the spec's SHOULD, "for better interoperability").
 */
export function canonicalResource(serverUrl: string): string {
  const url = new URL(serverUrl);
  url.hash = '';
  const text = url.href;
  // URL always serialises an empty path as "/"; strip it and any other trailing slash.
  return url.search === '' && text.endsWith('/') ? text.slice(0, -1) : text;
}

/**
 * Whether protected resource metadata that names `claimed` may describe `serverUrl`: the same
 * canonical URI, or (as the MCP SDK allows, and RFC 9728 §3.3 implies for metadata found at the
 * root well-known URL) a same-origin resource whose path is a whole-segment prefix of the server's.
 */
export function resourceMatches(serverUrl: string, claimed: string): boolean {
  let a: URL;
  let b: URL;
  try {
    a = new URL(canonicalResource(serverUrl));
    b = new URL(canonicalResource(claimed));
  } catch {
    return false;
  }
  if (a.origin !== b.origin) return false;
  if (b.search !== '') return a.href === b.href;
  const server = a.pathname.replace(/\/$/, '');
  const resource = b.pathname.replace(/\/$/, '');
  return resource === '' || server === resource || server.startsWith(`${resource}/`);
}
