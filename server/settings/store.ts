/**
 * The SettingsStore: holds the live Settings and is the only writer of the settings file
 * (DESIGN.md, "The settings file"). Writes are serialized, re-read the file first and change only
 * what they target, and never produce a file that would not load (see atomic-file.ts for the
 * crash and race safety). A watcher applies a person's edits; its own writes are recognized by
 * content hash and ignored.
 *
 * Gateway-owned credentials survive a person's stale save (see ledger.ts). Writes change only the
 * bytes of the fields they target (json-edit.ts). The store also keeps the file's state for the
 * status API: valid or the last rejected edit, and the keys it keeps but ignores (status.ts).
 */
import { dirname, resolve } from 'node:path';
import { GatehouseError, toGatehouseError } from '../errors.js';
import type { Logger } from '../log.js';
import { atomicUpdate, readStableText } from './atomic-file.js';
import { KeyedMutex } from './credentials.js';
import { diffSettings, isEmptyDiff, type SettingsDiff } from './diff.js';
import { EventHub, type Listener } from './events.js';
import { decrypterFor, unreadableWarnings } from './form-secrets.js';
import {
  objectAt,
  renameKey,
  replaceServerEntry,
  scrubPlaintextTokens,
  serverEntry,
  setCredentialBlob,
  withoutGatehouse,
} from './gateway-fields.js';
import { editJsonText, type KeyRename } from './json-edit.js';
import { formatLike, sha256Hex } from './json-text.js';
import { settingsWarnings, type SettingsWarning } from './known-keys.js';
import { GatewayFieldLedger } from './ledger.js';
import { readSettingsText, SettingsLoader, unreadableError, type Env, type LoadOptions } from './load.js';
import { SecretBox } from './secrets.js';
import { describeRejection, type SettingsRejection, type SettingsStatus } from './status.js';
import type { Settings } from './types.js';
import { watchFile, type FileWatcher } from './watch.js';

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

const FILE = 'settings-file';
const MISSING = 'missing';
const REMEMBERED_WRITES = 64;
const INVALID_JSON_REREADS = 3;

/** Failures of a write that mean the file on disk does not load now (a person's edit in progress). */
const FILE_DOES_NOT_LOAD = new Set<string>([
  'SETTINGS_INVALID_JSON',
  'SETTINGS_INVALID',
  'SETTINGS_MISSING_ENV',
]);

/**
 * Owns the settings file: `load()`, then read `current`, subscribe with `on()`, change the file
 * only through `update()` and the helpers built on it, and `startWatching()` for a person's edits.
 */

export class SettingsStore {
  readonly path: string;
  readonly dir: string;
  readonly secrets: SecretBox;
  readonly #env: Env;
  readonly #debounceMs: number | undefined;
  readonly #loader = new SettingsLoader();
  readonly #queue = new KeyedMutex();
  readonly #events = new EventHub<SettingsStoreEvents>((event, error) =>
    this.#logger.error(
      { event, err: error instanceof Error ? error.message : String(error) },
      'A settings listener failed',
    ),
  );
  #logger: Logger;
  #current: Settings | undefined;
  #raw: RawSettings | undefined;
  /** Hash of the text last read from or written to the file; the watcher ignores that text. */
  #diskHash: string | undefined;
  /** Hashes of texts this store wrote (newest last), to tell own writes apart in logs. */
  readonly #written: string[] = [];
  readonly #ledger = new GatewayFieldLedger();
  #watcher: FileWatcher | undefined;
  /** The last rejected edit, while the file on disk is still that edit. */
  #rejection: SettingsRejection | undefined;
  #warnings: SettingsWarning[] = [];
  /** Warnings already logged: each key is named once per process, not on every reload. */
  readonly #announced = new Set<string>();
  #refreshQueued = false;
  #closed = false;

  constructor(options: SettingsStoreOptions) {
    this.path = resolve(options.path);
    this.dir = dirname(this.path);
    this.#env = options.env;
    this.#logger = options.logger;
    this.#debounceMs = options.debounceMs;
    this.secrets = options.secrets ?? new SecretBox({ settingsDir: this.dir, logger: options.logger });
  }

  /** The last good Settings. */
  get current(): Settings {
    if (this.#current === undefined)
      throw new GatehouseError('INTERNAL', 'SettingsStore.current was read before load()');
    return this.#current;
  }

  /**
   * The file's state for the status API: valid, or the last rejected edit (the last good
   * settings stay live meanwhile); and the keys kept but ignored. Holds no text of the file.
   */
  status(): SettingsStatus {
    const status: SettingsStatus = {
      file: this.path,
      valid: this.#rejection === undefined,
      warnings: this.#warnings.map((w) => ({ ...w })),
    };
    if (this.#rejection !== undefined) status.rejected = structuredClone(this.#rejection);
    return status;
  }

  /** Replaces the logger (main swaps its boot logger for the app's). */
  setLogger(logger: Logger): void {
    this.#logger = logger;
  }

  /** Subscribes to `change` or `invalid`; call the result to unsubscribe. */
  on<E extends keyof SettingsStoreEvents>(event: E, listener: Listener<SettingsStoreEvents[E]>): () => void {
    return this.#events.on(event, listener);
  }

  /**
   * Reads and loads the file; the result becomes `current`.
   * @throws GatehouseError SETTINGS_UNREADABLE (naming the path), SETTINGS_INVALID_JSON,
   *   SETTINGS_MISSING_ENV or SETTINGS_INVALID.
   */
  load(): Promise<Settings> {
    return this.#queue.run(FILE, async () => {
      const text = await readSettingsText(this.path);
      const raw = this.#loader.parse(text, this.path);
      const settings = await this.#fromRaw(raw);
      this.#accept(text, raw, settings, false);
      return settings;
    });
  }

  /**
   * Changes the file: one write at a time; the file is re-read and `mutator` applied to the fresh
   * document; the result must load (else it throws and nothing is written). Resolves with the
   * Settings now live.
   */
  update(mutator: SettingsMutator): Promise<Settings> {
    return this.#queue.run(FILE, () => this.#write(mutator));
  }

  /**
   * Replaces the file's whole text (the raw editor): `transform` gets the text on disk now and
   * returns the text to write, or throws to write nothing. The result must load (else it throws
   * SETTINGS_INVALID_JSON, SETTINGS_INVALID or SETTINGS_MISSING_ENV and nothing is written).
   * Credentials the gateway wrote in this process are kept, as with every write. Resolves with the
   * Settings now live and the text now in the file.
   */
  replaceText(
    transform: (current: string) => string | Promise<string>,
  ): Promise<{ settings: Settings; text: string }> {
    return this.#queue.run(FILE, () =>
      this.#writeWith(async (current) => {
        const proposed = await transform(current);
        const raw = this.#loader.parseProposed(proposed, this.path);
        const before = structuredClone(raw);
        if (!this.#ledger.replay(raw)) return { raw, text: proposed };
        return { raw, text: editJsonText(proposed, before, raw) ?? formatLike(raw, proposed) };
      }),
    );
  }

  /**
   * A dashboard edit of one server. `fn` gets a copy of the entry without the gateway-owned
   * `gatehouse` field (undefined when there is none) and returns the new entry, or null to remove
   * the server (also from every group). The `gatehouse` field is kept as it is. `fn` may run more
   * than once.
   */
  updateServerEntry(
    name: string,
    fn: (entry: RawServerEntry | undefined) => RawServerEntry | null | Promise<RawServerEntry | null>,
  ): Promise<Settings> {
    return this.update(async (raw) => {
      const existing = serverEntry(raw, name);
      replaceServerEntry(
        raw,
        name,
        await fn(existing === undefined ? undefined : withoutGatehouse(existing)),
      );
    });
  }

  /**
   * Loads `raw` as the file would load (`${VAR}`, stored secrets, schema, groups) without writing
   * or applying it: to check entries before they are added.
   * @throws GatehouseError SETTINGS_MISSING_ENV or SETTINGS_INVALID.
   */
  check(raw: RawSettings): Promise<Settings> {
    return this.#fromRaw(raw);
  }

  /** A copy of one server's raw entry (uninterpolated, without `gatehouse`), as last loaded. */
  rawServerEntry(name: string): RawServerEntry | undefined {
    const entry = this.#raw === undefined ? undefined : serverEntry(this.#raw, name);
    return entry === undefined ? undefined : withoutGatehouse(entry);
  }

  /** The encrypted credential of (server, owner): what this store last wrote, else what the file holds. */
  credentialBlob(server: string, owner: string): string | undefined {
    return this.#ledger.credentialIn(this.#raw, server, owner);
  }

  /**
   * Writes one encrypted credential, or removes it (`blob` undefined). With `scrubPlaintextTokens`
   * the same write removes imported plaintext tokens from the server's `oauth` block. Resolves
   * false, writing nothing, when the file has no such server (a person removed it).
   */
  setCredentialBlob(
    server: string,
    owner: string,
    blob: string | undefined,
    options: { scrubPlaintextTokens?: boolean } = {},
  ): Promise<boolean> {
    return this.#queue.run(FILE, async () => {
      let found = false;
      try {
        await this.#write((raw) => {
          const entry = serverEntry(raw, server);
          found = entry !== undefined;
          if (entry === undefined) return;
          setCredentialBlob(entry, owner, blob);
          if (options.scrubPlaintextTokens === true) scrubPlaintextTokens(entry);
        });
      } catch (error) {
        const failure = toGatehouseError(error);
        if (!FILE_DOES_NOT_LOAD.has(failure.code) || !this.#current?.servers.has(server)) throw error;
        // A person is mid-edit and the file does not load: the credential must not be lost. The
        // ledger keeps it, and the first valid edit is written back with it (#refresh).
        found = true;
        this.#logger.warn(
          { server, code: failure.code },
          'Credential kept in memory: the settings file does not load; it is saved once the file is valid again',
        );
      }
      if (!found) {
        this.#logger.warn({ server }, 'Credential not saved: the server is no longer in the settings');
      } else {
        this.#ledger.recordCredential(server, owner, blob);
        if (options.scrubPlaintextTokens === true) this.#ledger.recordScrub(server);
      }
      return found;
    });
  }

  /** Starts watching the file for a person's edits; resolves once the watcher is ready. */
  async startWatching(): Promise<void> {
    if (this.#watcher !== undefined || this.#closed) return;
    this.#watcher = await watchFile({
      path: this.path,
      debounceMs: this.#debounceMs,
      onChange: () => this.#scheduleRefresh(),
      onError: (error) =>
        this.#logger.error({ file: this.path, err: error.message }, 'Watching the settings failed'),
    });
    this.#scheduleRefresh(); // an edit made between load() and the watcher being ready
  }

  /** Stops watching and waits for queued writes to finish. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#watcher?.close();
    this.#watcher = undefined;
    await this.#queue.run(FILE, async () => undefined);
  }

  #loadOptions(): LoadOptions {
    return { path: this.path, env: this.#env, settingsDir: this.dir };
  }

  /** Loads a raw document, with the key at hand when the document holds stored secrets. */
  async #fromRaw(raw: RawSettings): Promise<Settings> {
    const decrypt = await decrypterFor(raw, this.secrets, (error) =>
      // Without the key only the servers with stored secrets are affected (they show why).
      this.#logger.error(
        { file: this.path, code: toGatehouseError(error).code },
        'The encryption key could not be read; stored secrets in the settings are unreadable',
      ),
    );
    return this.#loader.fromRaw(raw, { ...this.#loadOptions(), decrypt });
  }

  /** The read-modify-write of `update`; the caller holds the queue. */
  async #write(mutator: SettingsMutator): Promise<Settings> {
    const { settings } = await this.#writeWith(async (current) => {
      const raw = this.#loader.parse(current, this.path);
      const before = structuredClone(raw);
      this.#ledger.replay(raw);
      const renames: KeyRename[] = [];
      await mutator(raw, {
        renameKey: (parent, from, to) => {
          renameKey(objectAt(raw, parent), from, to);
          renames.push({ parent: [...parent], from, to });
        },
      });
      let text = editJsonText(current, before, raw, renames);
      if (text === undefined) {
        // Not seen in practice; the edit must not be lost, so the document is written whole.
        this.#logger.warn(
          { file: this.path },
          'The settings file could not be edited in place; it was rewritten as plain JSON (comments and layout were not kept)',
        );
        text = formatLike(raw, current);
      }
      return { raw, text };
    });
    return settings;
  }

  /**
   * Writes what `edit` makes of the current text, if it loads; the caller holds the queue.
   * `edit` may run more than once (the file changed under it).
   */
  async #writeWith(
    edit: (current: string) => Promise<{ raw: RawSettings; text: string }>,
  ): Promise<{ settings: Settings; text: string }> {
    let last: { raw: RawSettings; settings: Settings } | undefined;
    const { text } = await atomicUpdate({
      path: this.path,
      logger: this.#logger,
      transform: async (current) => {
        const next = await edit(current);
        const settings = await this.#fromRaw(next.raw); // never write what would not load
        last = { raw: next.raw, settings };
        if (next.text === current) return undefined;
        this.#remember(sha256Hex(next.text));
        return next.text;
      },
    });
    if (last === undefined) throw new GatehouseError('INTERNAL', 'atomicUpdate returned without a transform');
    this.#accept(text, last.raw, last.settings, false);
    return { settings: last.settings, text };
  }

  #scheduleRefresh(): void {
    if (this.#refreshQueued || this.#closed) return;
    this.#refreshQueued = true;
    this.#queue
      .run(FILE, () => {
        this.#refreshQueued = false;
        return this.#refresh();
      })
      .catch((error: unknown) => {
        const { code, message } = toGatehouseError(error);
        this.#logger.error({ file: this.path, code }, `Applying the edited settings failed: ${message}`);
      });
  }

  /** Reads the file after a file event and applies a person's edit; the caller holds the queue. */
  async #refresh(): Promise<void> {
    for (let reread = 0; !this.#closed; reread++) {
      let text: string;
      try {
        text = await readStableText(this.path);
      } catch (error) {
        if (this.#diskHash !== MISSING) this.#rejected(MISSING, unreadableError(this.path, error), undefined);
        return;
      }
      const hash = sha256Hex(text);
      if (hash === this.#diskHash) {
        const reason = this.#written.includes(hash) ? 'own-write' : 'unchanged';
        this.#logger.debug({ file: this.path, reason }, 'Settings file event ignored');
        return;
      }
      let raw: RawSettings;
      let settings: Settings;
      try {
        raw = this.#loader.parse(text, this.path);
        settings = await this.#fromRaw(raw);
      } catch (error) {
        const rejected = toGatehouseError(error, 'SETTINGS_INVALID');
        // An empty or cut-off text is usually a save still in progress: look again before rejecting.
        if (rejected.code === 'SETTINGS_INVALID_JSON' && reread < INVALID_JSON_REREADS) continue;
        this.#rejected(hash, rejected, text);
        return;
      }
      this.#accept(text, raw, settings, true);
      if (this.#ledger.differs(raw)) await this.#write(() => undefined);
      return;
    }
  }

  #rejected(hash: string, error: GatehouseError, text: string | undefined): void {
    this.#diskHash = hash;
    this.#rejection = describeRejection(error, text, Date.now());
    this.#logger.warn(
      { file: this.path, code: error.code },
      'Settings edit rejected; the last good settings stay live',
    );
    this.#events.emit('invalid', error);
  }

  #accept(text: string, raw: RawSettings, settings: Settings, byPerson: boolean): void {
    this.#diskHash = sha256Hex(text);
    this.#raw = raw;
    this.#rejection = undefined;
    this.#warnings = [...settingsWarnings(raw), ...unreadableWarnings(settings)];
    this.#announceWarnings();
    this.#ledger.forgetAllBut(settings.servers);
    const prev = this.#current;
    this.#current = settings;
    if (prev === undefined) return;
    const diff = diffSettings(prev, settings);
    if (byPerson || !isEmptyDiff(diff)) this.#events.emit('change', { next: settings, prev, diff });
  }

  #announceWarnings(): void {
    for (const { path, kind, message } of this.#warnings) {
      if (this.#announced.has(path)) continue;
      this.#announced.add(path);
      const log = kind === 'ignored' ? this.#logger.info : this.#logger.warn;
      log.call(this.#logger, { file: this.path, path }, `Settings: ${path}: ${message}`);
    }
  }

  #remember(hash: string): void {
    this.#written.push(hash);
    if (this.#written.length > REMEMBERED_WRITES) this.#written.shift();
  }
}
