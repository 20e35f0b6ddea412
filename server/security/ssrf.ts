/**
 * The SSRF guard (DESIGN.md, "Security baseline"). Every request the OAuth engine makes because of
 * data an upstream or its authorization server sent (metadata URLs, CIMD, registration, token and
 * revocation endpoints) goes through `createGuardedFetch`.
 *
 * Rules, in order:
 * - only `http:` and `https:`;
 * - plain `http:` only to loopback hosts or to hosts named in `allowedPrivateHosts`
 *   (OAuth 2.1 §1.5: authorization server endpoints MUST use HTTPS) → `OAUTH_INSECURE_ENDPOINT`;
 * - the configured upstream's own host is always allowed, on any port (its authorization server
 *   often sits on another port of the same host);
 * - any other host is resolved and every address checked: private, loopback, link-local,
 *   multicast, reserved and cloud-metadata addresses (IPv4, IPv6, IPv4-mapped/NAT64) are refused
 *   unless `allowedPrivateHosts` names the host or the address → `SSRF_BLOCKED`;
 * - redirects are never followed (a redirect could lead anywhere).
 *
 * DNS rebinding (a name that resolves to a public address for the check and to a private one for
 * the connection) is closed by `pinnedLookup`: the connection's own lookup applies the same address
 * rules, so the address connected to is an address that was checked. The OAuth engine sends its
 * guarded requests through a `node:http` fetch with that lookup (server/http-fetch.ts).
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

import { GatehouseError } from '../errors.js';

import type { FetchLike } from '../http-fetch.js';

export type { FetchLike };

/** Resolves a host name to every address it has. Injected in tests. */
export type LookupAll = (hostname: string) => Promise<string[]>;

export interface SsrfGuardOptions {
  /** The configured upstream URL: its host is always allowed, on any port. */
  upstreamUrl: string;
  /** Hosts (names or literal addresses) allowed although private or loopback. */
  allowedPrivateHosts: readonly string[];
  fetch?: FetchLike;
  lookup?: LookupAll;
}

const blocked = new BlockList();
// RFC 6890 special-purpose IPv4 ranges (plus 169.254.169.254, the cloud metadata address, inside 169.254/16).
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  blocked.addSubnet(net, prefix, 'ipv4');
}
// RFC 6890 special-purpose IPv6 ranges; IPv4-mapped (::ffff:0:0/96) is checked against the IPv4 list.
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['::', 96], // IPv4-compatible (deprecated)
  ['64:ff9b::', 96], // NAT64: may reach any IPv4 address, private ones included
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['2002::', 16], // 6to4 embeds an IPv4 address
  ['fc00::', 7], // unique local, includes fd00:ec2::254 (AWS metadata)
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  blocked.addSubnet(net, prefix, 'ipv6');
}
const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/** True for private, loopback, link-local, reserved, multicast and metadata addresses. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true; // not an address at all: refuse rather than guess
  return blocked.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** True when the host is a loopback literal or `localhost` (RFC 6761 §6.3). */
export function isLoopbackHost(hostname: string): boolean {
  const host = bare(hostname);
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  const family = isIP(host);
  return family !== 0 && loopback.check(host, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * Checks one URL against the rules above; resolves when the request may go out.
 * @throws GatehouseError `OAUTH_INSECURE_ENDPOINT` or `SSRF_BLOCKED`
 */
export async function assertAllowedUrl(url: URL, options: SsrfGuardOptions): Promise<void> {
  assertSecureScheme(url, options.allowedPrivateHosts);
  const host = bare(url.hostname);
  const allowed = new Set(options.allowedPrivateHosts.map((h) => bare(h)));
  if (host === bare(new URL(options.upstreamUrl).hostname) || allowed.has(host)) return;
  const addresses = isIP(host) ? [host] : await resolve(host, options.lookup ?? lookupAll);
  const refused = addresses.filter((a) => isPrivateAddress(a) && !allowed.has(a));
  if (refused.length > 0 || addresses.length === 0) {
    throw new GatehouseError(
      'SSRF_BLOCKED',
      `Refusing a request to ${host}: it resolves to a private address; add it to systemConfig.allowedPrivateHosts to allow it`,
      { details: { host } },
    );
  }
}

/**
 * OAuth 2.1 §1.5: endpoints use HTTPS; plain HTTP only to loopback or `allowedPrivateHosts`. Also
 * used for the authorization endpoint, which a browser (not us) visits. A URL with credentials in
 * it (`user:secret@host`, RFC 3986 §3.2.1 userinfo, deprecated by §7.5 and RFC 9110 §4.2.4) is
 * refused wherever it came from: it would hand those credentials to whoever follows it.
 * @throws GatehouseError `OAUTH_INSECURE_ENDPOINT` (http to another host, or userinfo) or
 *   `SSRF_BLOCKED` (other schemes)
 */
export function assertSecureScheme(url: URL, allowedPrivateHosts: readonly string[]): void {
  const host = bare(url.hostname);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new GatehouseError(
      'SSRF_BLOCKED',
      `Refusing a ${url.protocol} URL: only http and https are allowed`,
    );
  }
  if (url.username !== '' || url.password !== '') {
    // The message names the host only: the userinfo may be a secret.
    throw new GatehouseError(
      'OAUTH_INSECURE_ENDPOINT',
      `Refusing a URL for ${host} with a user name or password in it`,
      { details: { host } },
    );
  }
  if (
    url.protocol === 'http:' &&
    !isLoopbackHost(host) &&
    !allowedPrivateHosts.some((h) => bare(h) === host)
  ) {
    throw new GatehouseError(
      'OAUTH_INSECURE_ENDPOINT',
      `Refusing plain HTTP to ${host}: use https, or add the host to systemConfig.allowedPrivateHosts`,
      { details: { host } },
    );
  }
}

/** A fetch that applies `assertAllowedUrl` to every request and never follows redirects. */
export function createGuardedFetch(options: SsrfGuardOptions): FetchLike {
  const base = options.fetch ?? fetch;
  return async (input, init) => {
    const url = new URL(String(input));
    await assertAllowedUrl(url, options);
    return base(url, { ...init, redirect: 'manual' });
  };
}

/**
 * A `lookup` for the connections of guarded requests (node's `net` signature): resolves the name and
 * applies `assertAllowedUrl`'s address rules to the answer, so a connection only ever goes to an
 * address that passed them, however the name resolved a moment earlier.
 */
export function pinnedLookup(options: SsrfGuardOptions): LookupFunction {
  const upstreamHost = bare(new URL(options.upstreamUrl).hostname);
  const allowed = new Set(options.allowedPrivateHosts.map((h) => bare(h)));
  const resolveAll = options.lookup ?? lookupAll;
  return (hostname, lookupOptions, callback) => {
    const host = bare(hostname);
    const checked = async (): Promise<LookupAddress[]> => {
      const addresses = await resolve(host, resolveAll);
      const trusted = host === upstreamHost || allowed.has(host);
      if (!trusted && addresses.some((a) => isPrivateAddress(a) && !allowed.has(a))) {
        throw new GatehouseError(
          'SSRF_BLOCKED',
          `Refusing a connection to ${host}: it resolves to a private address`,
          {
            details: { host },
          },
        );
      }
      const family =
        lookupOptions.family === 'IPv4' ? 4 : lookupOptions.family === 'IPv6' ? 6 : lookupOptions.family;
      const entries = addresses
        .map((address) => ({ address, family: isIP(address) }))
        .filter((e) => e.family !== 0 && (!family || e.family === family));
      if (entries.length === 0) {
        throw new GatehouseError('SSRF_BLOCKED', `Cannot resolve ${host}`, { details: { host } });
      }
      return entries;
    };
    checked().then(
      (entries) => {
        if (lookupOptions.all) callback(null, entries);
        else callback(null, entries[0]!.address, entries[0]!.family);
      },
      (error: Error) => callback(error as NodeJS.ErrnoException, '', 0),
    );
  };
}

async function resolve(host: string, lookup: LookupAll): Promise<string[]> {
  try {
    return await lookup(host);
  } catch (cause) {
    throw new GatehouseError('SSRF_BLOCKED', `Cannot resolve ${host}`, { cause, details: { host } });
  }
}

async function lookupAll(hostname: string): Promise<string[]> {
  const results = await dnsLookup(hostname, { all: true, verbatim: true });
  return results.map((r) => r.address);
}

function bare(hostname: string): string {
  const lower = hostname.toLowerCase();
  return lower.startsWith('[') && lower.endsWith(']') ? lower.slice(1, -1) : lower;
}
