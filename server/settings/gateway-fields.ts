/**
 * Pure edits of the raw settings document: the gateway-owned encrypted credentials under
 * `mcpServers.<server>.gatehouse.credentials.<owner>`, the removal of imported plaintext tokens
 * (`oauth.accessToken`, `oauth.refreshToken`), and the pieces of a dashboard edit of one server.
 */
import { isRecord } from './json-text.js';

type Raw = Record<string, unknown>;

/** The raw entry of one server, or undefined when the document has none by that name. */
export function serverEntry(raw: Raw, server: string): Raw | undefined {
  const servers = raw.mcpServers;
  if (!isRecord(servers) || !Object.hasOwn(servers, server)) return undefined;
  const entry = servers[server];
  return isRecord(entry) ? entry : undefined;
}

/** The encrypted credential of (server, owner), if the document has one. */
export function credentialBlob(raw: Raw, server: string, owner: string): string | undefined {
  const credentials = credentialsOf(serverEntry(raw, server));
  const blob =
    credentials !== undefined && Object.hasOwn(credentials, owner) ? credentials[owner] : undefined;
  return typeof blob === 'string' ? blob : undefined;
}

/**
 * Sets (`blob` a string) or removes (`undefined`) one owner's credential in a server entry.
 * Removing the last one also removes the empty `credentials` and `gatehouse` objects.
 * Returns true when the entry changed.
 */
export function setCredentialBlob(entry: Raw, owner: string, blob: string | undefined): boolean {
  const current = credentialsOf(entry);
  if (blob === undefined) {
    if (current === undefined || !Object.hasOwn(current, owner)) return false;
    delete current[owner];
    if (Object.keys(current).length === 0) {
      const gatehouse = entry.gatehouse as Raw;
      delete gatehouse.credentials;
      if (Object.keys(gatehouse).length === 0) delete entry.gatehouse;
    }
    return true;
  }
  if (current?.[owner] === blob) return false;
  if (!isRecord(entry.gatehouse)) entry.gatehouse = {};
  const gatehouse = entry.gatehouse as Raw;
  if (!isRecord(gatehouse.credentials)) gatehouse.credentials = {};
  (gatehouse.credentials as Raw)[owner] = blob;
  return true;
}

/**
 * Removes imported plaintext tokens from a server entry's `oauth` block once they are stored
 * encrypted (DESIGN.md: "read, then rewritten encrypted"). Returns true when the entry changed.
 */
export function scrubPlaintextTokens(entry: Raw): boolean {
  const oauth = entry.oauth;
  if (!isRecord(oauth) || !('accessToken' in oauth || 'refreshToken' in oauth)) return false;
  delete oauth.accessToken;
  delete oauth.refreshToken;
  return true;
}

/** A deep copy of a server entry without the gateway-owned `gatehouse` field. */
export function withoutGatehouse(entry: Raw): Raw {
  const copy = structuredClone(entry);
  delete copy.gatehouse;
  return copy;
}

/**
 * Applies a dashboard edit of one server: `next` replaces the person-owned part of the entry (an
 * existing `gatehouse` field is kept, one in `next` is ignored); `null` removes the server and its
 * group memberships.
 */
export function replaceServerEntry(raw: Raw, name: string, next: Raw | null): void {
  if (!isRecord(raw.mcpServers)) raw.mcpServers = {};
  const servers = raw.mcpServers as Raw;
  const existing = serverEntry(raw, name);
  if (next === null) {
    delete servers[name];
    removeFromGroups(raw, name);
    return;
  }
  const entry = withoutGatehouse(next);
  if (existing?.gatehouse !== undefined) entry.gatehouse = existing.gatehouse;
  servers[name] = entry;
}

/** Removes a server from every group (object or MCPHub array form) of a raw document. */
export function removeFromGroups(raw: Raw, server: string): void {
  const groups = Array.isArray(raw.groups)
    ? raw.groups
    : isRecord(raw.groups)
      ? Object.values(raw.groups)
      : [];
  for (const group of groups) {
    if (isRecord(group) && Array.isArray(group.servers)) {
      group.servers = group.servers.filter((member: unknown) =>
        typeof member === 'string' ? member !== server : !(isRecord(member) && member.name === server),
      );
    }
  }
}

function credentialsOf(entry: Raw | undefined): Raw | undefined {
  if (entry === undefined || !isRecord(entry.gatehouse)) return undefined;
  const credentials = entry.gatehouse.credentials;
  return isRecord(credentials) ? credentials : undefined;
}
