/**
 * What changed between two loads of the settings, per server, so that only changed servers
 * reconnect (DESIGN.md, "The settings file").
 */
import { canonicalJson } from './json-text.js';
import type { ServerConfig, Settings } from './types.js';

export interface SettingsDiff {
  /** Servers only in `next`, in `next`'s order. */
  added: string[];
  /** Servers only in `prev`, in `prev`'s order. */
  removed: string[];
  /** Servers in both whose fingerprint differs (their person-owned settings changed). */
  changed: string[];
  groupsChanged: boolean;
  systemChanged: boolean;
}

/**
 * Compares servers by fingerprint, and groups and `systemConfig` by value. With no `prev` (the
 * first load) every server is added.
 */
export function diffSettings(prev: Settings | undefined, next: Settings): SettingsDiff {
  const before = prev?.servers ?? new Map<string, ServerConfig>();
  const added = [...next.servers.keys()].filter((name) => !before.has(name));
  const removed = [...before.keys()].filter((name) => !next.servers.has(name));
  const changed = [...next.servers.values()]
    .filter((server) => {
      const old = before.get(server.name);
      return old !== undefined && old.fingerprint !== server.fingerprint;
    })
    .map((server) => server.name);
  return {
    added,
    removed,
    changed,
    groupsChanged: canonicalJson([...(prev?.groups ?? new Map())]) !== canonicalJson([...next.groups]),
    systemChanged: prev === undefined || canonicalJson(prev.system) !== canonicalJson(next.system),
  };
}

/** True when the diff asks for no action at all. */
export function isEmptyDiff(diff: SettingsDiff): boolean {
  return (
    diff.added.length === 0 &&
    diff.removed.length === 0 &&
    diff.changed.length === 0 &&
    !diff.groupsChanged &&
    !diff.systemChanged
  );
}
