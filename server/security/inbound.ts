/**
 * DNS-rebinding protection for the open loopback MCP endpoint (MCP spec, Streamable HTTP,
 * "Security Warning": servers MUST validate the Origin header; local servers SHOULD bind to
 * localhost only). A page on evil.example that rebinds its name to 127.0.0.1 reaches us with
 * `Host: evil.example` and `Origin: http://evil.example`: both are refused. Pure functions.
 */

import { isLoopbackHost } from './ssrf.js';

/**
 * Whether a bind address or host name is loopback-only: the SSRF guard's test (`localhost` and its
 * subdomains, 127.0.0.0/8, ::1), so that "loopback" means one thing everywhere.
 */
export const isLoopback: (host: string) => boolean = isLoopbackHost;

/** The host names (without port) requests may name: loopback names plus the configured public base URL's. */
export function allowedHostNames(baseUrl: string | undefined, bindHost: string | undefined): Set<string> {
  const names = new Set(['localhost', '127.0.0.1', '[::1]']);
  if (bindHost && isLoopback(bindHost)) names.add(bindHost.includes(':') ? `[${bindHost}]` : bindHost);
  if (baseUrl) names.add(new URL(baseUrl).hostname.toLowerCase());
  return names;
}

/** Strips the port from a Host header value (`localhost:3000`, `[::1]:3000`). */
export function hostName(hostHeader: string): string {
  const h = hostHeader.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const colon = h.lastIndexOf(':');
  return colon === -1 ? h : h.slice(0, colon);
}

export type InboundVerdict = { ok: true } | { ok: false; reason: string };

/** Checks the Host header and, when present, the Origin header of one request. */
export function checkHostAndOrigin(
  headers: { host?: string; origin?: string },
  allowed: Set<string>,
): InboundVerdict {
  if (!headers.host || !allowed.has(hostName(headers.host))) {
    return { ok: false, reason: `Host "${headers.host ?? ''}" is not allowed` };
  }
  // Browsers send Origin on cross-origin and POST requests; `null` (sandboxed frames) is refused too.
  if (headers.origin !== undefined) {
    let origin: URL;
    try {
      origin = new URL(headers.origin);
    } catch {
      return { ok: false, reason: 'Origin is malformed' };
    }
    if (!allowed.has(origin.hostname.toLowerCase()) && !allowed.has(`[${origin.hostname}]`)) {
      return { ok: false, reason: `Origin "${headers.origin}" is not allowed` };
    }
  }
  return { ok: true };
}
