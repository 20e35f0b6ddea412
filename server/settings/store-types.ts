/**
 * The SettingsStore's public types (store.ts): what mutators edit, the events it emits, and its
 * options. Apart so the store itself stays readable in one sitting.
 */
import type { GatehouseError } from '../errors.js';
import type { Logger } from '../log.js';
import type { SettingsDiff } from './diff.js';
import type { Env } from './load.js';
import type { SecretBox } from './secrets.js';
import type { Settings } from './types.js';

/** The parsed settings document, before interpolation: what mutators edit. */
export type RawSettings = Record<string, unknown>;
/** One raw `mcpServers` entry. */
export type RawServerEntry = Record<string, unknown>;
/** What a mutator can do besides editing the document's values. */
export interface MutatorContext {
  /**
   * Renames the key `from` of the object at `parent` to `to`, keeping its place in the object and
   * in the file (a plain delete and add would move it to the end).
   */
  renameKey(parent: readonly string[], from: string, to: string): void;
}
/** Edits the freshly read document in place. May run more than once (on retries): keep it pure. */
export type SettingsMutator = (raw: RawSettings, context: MutatorContext) => void | Promise<void>;

export interface SettingsChange {
  next: Settings;
  prev: Settings;
  diff: SettingsDiff;
}

export interface SettingsStoreEvents {
  /** New settings are live: a person's valid edit, or a gateway write that changed person-owned settings. */
  change: SettingsChange;
  /** A person's edit was rejected (or the file vanished); the last good settings stay live. */
  invalid: GatehouseError;
}

export interface SettingsStoreOptions {
  path: string;
  /** Source of `${VAR}` values (main passes `process.env`). */
  env: Env;
  logger: Logger;
  /** Encrypts credentials; defaults to the key file beside the settings, created on first use. */
  secrets?: SecretBox;
  /** Quiet time after a file event before the file is read (default 100 ms). */
  debounceMs?: number;
}
