/**
 * The dashboard's edits of the settings file, each one write through the SettingsStore (atomic,
 * format- and comment-preserving, on the file as it is on disk now): add, edit, rename and remove a
 * server, switch a server or one of its tools on or off, set and remove groups. The checks that
 * need the fresh file (is the name free, did someone edit this server meanwhile) run inside the
 * write, so a hand edit made a moment before is seen; a hand edit of another server merges.
 */
import { GatehouseError } from '../errors.js';
import { credentialAad } from './file-credentials.js';
import { prepareFormEntry } from './form-secrets.js';
import {
  entryVersion,
  groupNames,
  renameInGroups,
  replaceServerEntry,
  serverEntry,
  setGroup,
  setServerEnabled,
  setToolEnabled,
  withoutGatehouse,
} from './gateway-fields.js';
import { isRecord } from './json-text.js';
import type { RawSettings, SettingsStore } from './store.js';

/** What a form sends to change a server. */
export interface ServerEdit {
  /** The entry as the form shows it (secrets as `{ secret: true, keep: true }` or new values). */
  entry: unknown;
  /** `version` of the entry the form was loaded with (see `entryVersion`). */
  version: string;
  /** A new name for the server. */
  rename?: string;
}

const MAX_NAME = 100;

/**
 * Checks a name given to a new or renamed server or group: not empty, no spaces at either end,
 * no `/` (it is a path segment of /mcp/<name>), no control characters.
 * @throws GatehouseError BAD_REQUEST
 */
export function checkName(name: unknown, what = 'name'): string {
  const control = (c: string) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f;
  if (
    typeof name !== 'string' ||
    name === '' ||
    name.trim() !== name ||
    name.includes('/') ||
    [...name].some(control)
  ) {
    throw new GatehouseError(
      'BAD_REQUEST',
      `"${what}" must be a non-empty name without "/", control characters or spaces at either end`,
    );
  }
  if (name.length > MAX_NAME) {
    throw new GatehouseError('BAD_REQUEST', `"${what}" must be at most ${MAX_NAME} characters`);
  }
  return name;
}

/** True when a server or a group of the document has this name. */
export function nameTaken(raw: RawSettings, name: string): boolean {
  return serverEntry(raw, name) !== undefined || groupNames(raw).includes(name);
}

/** The dashboard's edits, over one SettingsStore. */
export class SettingsEditor {
  readonly #store: SettingsStore;

  constructor(store: SettingsStore) {
    this.#store = store;
  }

  /**
   * Adds a server.
   * @throws GatehouseError SERVER_EXISTS when a server or group has the name; BAD_REQUEST for a
   *   bad name or entry; SETTINGS_INVALID or SETTINGS_MISSING_ENV when the file would not load.
   */
  async add(name: string, entry: unknown): Promise<void> {
    checkName(name);
    await this.#store.update(async (raw) => {
      if (nameTaken(raw, name)) throw exists(name);
      const prepared = await prepareFormEntry(entry, { server: name, secrets: this.#store.secrets });
      replaceServerEntry(raw, name, prepared);
    });
  }

  /**
   * Adds several servers in one write (an import), skipping those whose name is taken by then.
   * Resolves with the names added.
   * @throws GatehouseError BAD_REQUEST, SETTINGS_INVALID or SETTINGS_MISSING_ENV as for `add`
   *   (then none is added).
   */
  async addMany(servers: ReadonlyArray<{ name: string; entry: unknown }>): Promise<string[]> {
    for (const { name } of servers) checkName(name);
    let added: string[] = [];
    await this.#store.update(async (raw) => {
      added = [];
      for (const { name, entry } of servers) {
        if (nameTaken(raw, name)) continue;
        replaceServerEntry(
          raw,
          name,
          await prepareFormEntry(entry, { server: name, secrets: this.#store.secrets }),
        );
        added.push(name);
      }
    });
    return added;
  }

  /**
   * Replaces a server's entry (keeping the gateway's credentials), and renames it when asked: the
   * entry keeps its place in the file, its stored secrets and credentials are encrypted again for
   * the new name, and its group memberships follow.
   * @throws GatehouseError SERVER_NOT_FOUND; SETTINGS_CONFLICT when the entry on disk is not the
   *   one at `version` (edited by hand meanwhile); SERVER_EXISTS when the new name is taken;
   *   BAD_REQUEST, SETTINGS_INVALID or SETTINGS_MISSING_ENV as for `add`.
   */
  async edit(name: string, edit: ServerEdit): Promise<{ name: string }> {
    const target =
      edit.rename === undefined || edit.rename === name ? name : checkName(edit.rename, 'rename');
    const secrets = this.#store.secrets;
    await this.#store.update(async (raw, context) => {
      const existing = serverEntry(raw, name);
      if (existing === undefined) throw notFound(name);
      if (entryVersion(existing) !== edit.version) {
        throw new GatehouseError(
          'SETTINGS_CONFLICT',
          `The settings file changed on disk: "${name}" was edited meanwhile; reload it and edit again`,
        );
      }
      if (target !== name && nameTaken(raw, target)) throw exists(target);
      const prepared = await prepareFormEntry(edit.entry, {
        server: target,
        stored: { server: name, entry: withoutGatehouse(existing) },
        secrets,
      });
      if (target !== name) {
        await this.#moveCredentials(existing, name, target);
        context.renameKey(['mcpServers'], name, target);
        renameInGroups(raw, name, target);
      }
      replaceServerEntry(raw, target, prepared);
    });
    return { name: target };
  }

  /**
   * Removes a server, its stored credentials (its whole entry goes) and its group memberships.
   * Revoking its tokens first is the caller's part (it needs the running OAuth engine).
   * @throws GatehouseError SERVER_NOT_FOUND
   */
  async remove(name: string): Promise<void> {
    await this.#store.update((raw) => {
      if (serverEntry(raw, name) === undefined) throw notFound(name);
      replaceServerEntry(raw, name, null);
    });
  }

  /** Switches a server on or off. @throws GatehouseError SERVER_NOT_FOUND */
  async setEnabled(name: string, enabled: boolean): Promise<void> {
    await this.#store.update((raw) => {
      const entry = serverEntry(raw, name);
      if (entry === undefined) throw notFound(name);
      setServerEnabled(entry, enabled);
    });
  }

  /** Switches one tool of a server on or off. @throws GatehouseError SERVER_NOT_FOUND */
  async setToolEnabled(name: string, tool: string, enabled: boolean): Promise<void> {
    await this.#store.update((raw) => {
      const entry = serverEntry(raw, name);
      if (entry === undefined) throw notFound(name);
      setToolEnabled(entry, tool, enabled);
    });
  }

  /** The groups now live. */
  groups(): Array<{ name: string; servers: string[] }> {
    return [...this.#store.current.groups.values()].map(({ name, servers }) => ({
      name,
      servers: [...servers],
    }));
  }

  /**
   * Creates or replaces a group.
   * @throws GatehouseError BAD_REQUEST for a bad name; SETTINGS_INVALID when a member is no server
   *   or the name is a server's.
   */
  async putGroup(name: string, servers: string[]): Promise<void> {
    checkName(name);
    await this.#store.update((raw) => {
      setGroup(raw, name, [...servers]);
    });
  }

  /** Removes a group. @throws GatehouseError SERVER_NOT_FOUND when there is no such group. */
  async deleteGroup(name: string): Promise<void> {
    await this.#store.update((raw) => {
      if (!setGroup(raw, name, null))
        throw new GatehouseError('SERVER_NOT_FOUND', `no group named "${name}"`);
    });
  }

  /**
   * The gateway's credentials are bound to the server's name (their associated data names it):
   * encrypted again for the new name. One that does not decrypt is useless anyway and is dropped.
   */
  async #moveCredentials(entry: Record<string, unknown>, from: string, to: string): Promise<void> {
    const gatehouse = entry.gatehouse;
    const credentials = isRecord(gatehouse) ? gatehouse.credentials : undefined;
    if (!isRecord(credentials)) return;
    const secrets = this.#store.secrets;
    for (const [owner, blob] of Object.entries(credentials)) {
      if (typeof blob !== 'string') continue;
      try {
        const plain = await secrets.decrypt(blob, credentialAad({ server: from, owner }));
        credentials[owner] = await secrets.encrypt(plain, credentialAad({ server: to, owner }));
      } catch {
        delete credentials[owner];
      }
    }
    if (Object.keys(credentials).length > 0) return;
    const owned = gatehouse as Record<string, unknown>;
    delete owned.credentials;
    if (Object.keys(owned).length === 0) delete entry.gatehouse;
  }
}

function notFound(name: string): GatehouseError {
  return new GatehouseError('SERVER_NOT_FOUND', `no server named "${name}"`);
}

function exists(name: string): GatehouseError {
  return new GatehouseError('SERVER_EXISTS', `a server or group is already named "${name}"`);
}
