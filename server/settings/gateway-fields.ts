/**
 * Pure edits of the raw settings document: the gateway-owned encrypted credentials under
 * `mcpServers.<server>.gatehouse.credentials.<owner>`, the removal of imported plaintext tokens
 * (`oauth.accessToken`, `oauth.refreshToken`), and the pieces of a dashboard edit: one server's
 * entry, its name, its switches, and the groups.
 */
import { GatehouseError } from '../errors.js';
import { canonicalJson, isRecord, sha256Hex } from './json-text.js';

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
  for (const group of groupList(raw)) {
    if (Array.isArray(group.servers)) {
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

/**
 * An opaque version of a server entry as the person wrote it (uninterpolated, without the
 * gateway's `gatehouse` field): a form loaded at one version and saved at another means someone
 * edited that server meanwhile. Credentials the gateway writes do not change it.
 */
export function entryVersion(entry: Raw): string {
  return sha256Hex(canonicalJson(withoutGatehouse(entry))).slice(0, 32);
}

/**
 * The object at `path` in a raw document, created along the way where missing.
 * @throws GatehouseError SETTINGS_INVALID when something other than an object is in the way.
 */
export function objectAt(raw: Raw, path: readonly string[]): Raw {
  let node = raw;
  for (const key of path) {
    if (!Object.hasOwn(node, key)) node[key] = {};
    const next = node[key];
    if (!isRecord(next)) {
      throw new GatehouseError('SETTINGS_INVALID', `${[...path].join('.')}: ${key} is not an object`);
    }
    node = next;
  }
  return node;
}

/** Renames a key of `object` in place, keeping the order of its keys. */
export function renameKey(object: Raw, from: string, to: string): void {
  if (from === to || !Object.hasOwn(object, from)) return;
  const entries = Object.entries(object).map(([key, value]) => [key === from ? to : key, value] as const);
  for (const key of Object.keys(object)) delete object[key];
  for (const [key, value] of entries) object[key] = value;
}

/** Renames a server in every group (object or MCPHub array form) of a raw document. */
export function renameInGroups(raw: Raw, from: string, to: string): void {
  for (const group of groupList(raw)) {
    if (!Array.isArray(group.servers)) continue;
    group.servers = group.servers.map((member: unknown) => {
      if (member === from) return to;
      if (isRecord(member) && member.name === from) return { ...member, name: to };
      return member;
    });
  }
}

/** The names of the groups of a raw document (object or MCPHub array form). */
export function groupNames(raw: Raw): string[] {
  if (Array.isArray(raw.groups)) {
    return raw.groups.flatMap((g: unknown) => (isRecord(g) && typeof g.name === 'string' ? [g.name] : []));
  }
  return isRecord(raw.groups) ? Object.keys(raw.groups) : [];
}

/**
 * Sets a group's servers, or removes the group (`servers` null), in the form the file uses
 * (object by name, or MCPHub's array of `{ name, servers }`). Returns false when removing a group
 * that is not there.
 */
export function setGroup(raw: Raw, name: string, servers: string[] | null): boolean {
  if (Array.isArray(raw.groups)) {
    const index = raw.groups.findIndex((g: unknown) => isRecord(g) && g.name === name);
    if (servers === null) {
      if (index === -1) return false;
      raw.groups.splice(index, 1);
    } else if (index === -1) {
      raw.groups.push({ name, servers });
    } else {
      (raw.groups[index] as Raw).servers = servers;
    }
    return true;
  }
  if (servers === null) {
    if (!isRecord(raw.groups) || !Object.hasOwn(raw.groups, name)) return false;
    delete raw.groups[name];
    return true;
  }
  const groups = objectAt(raw, ['groups']);
  if (isRecord(groups[name])) (groups[name] as Raw).servers = servers;
  else groups[name] = { servers };
  return true;
}

/**
 * Switches a server on or off in the words its entry already uses: `enabled`, or `disabled` as
 * Cline, Roo Code and VS Code write it; a new switch is `"enabled": false`, and switching back on
 * removes it.
 */
export function setServerEnabled(entry: Raw, enabled: boolean): void {
  const hasEnabled = Object.hasOwn(entry, 'enabled');
  const hasDisabled = Object.hasOwn(entry, 'disabled');
  if (hasDisabled) entry.disabled = !enabled;
  if (hasEnabled) entry.enabled = enabled;
  else if (!hasDisabled && !enabled) entry.enabled = false;
}

/**
 * Switches one tool of a server entry on or off: off is `tools.<tool>.enabled: false`; on removes
 * that switch (and the objects it leaves empty).
 */
export function setToolEnabled(entry: Raw, tool: string, enabled: boolean): void {
  if (!enabled) {
    objectAt(entry, ['tools', tool]).enabled = false;
    return;
  }
  const tools = entry.tools;
  if (!isRecord(tools) || !isRecord(tools[tool])) return;
  const setting = tools[tool] as Raw;
  delete setting.enabled;
  if (Object.keys(setting).length === 0) delete tools[tool];
  if (Object.keys(tools).length === 0) delete entry.tools;
}

function groupList(raw: Raw): Raw[] {
  const groups = Array.isArray(raw.groups)
    ? raw.groups
    : isRecord(raw.groups)
      ? Object.values(raw.groups)
      : [];
  return groups.filter(isRecord);
}
