/**
 * The SettingsStore: holds the live Settings and is the only writer of the settings file
 * (DESIGN.md, "The settings file"). Writes are serialized, re-read the file first and change only
 * what they target, and never produce a file that would not load (see atomic-file.ts for the
 * crash and race safety). A watcher applies a person's edits; its own writes are recognized by
 * content hash and ignored.
 *
 * With `systemConfig.store` on Redis the document lives in Redis instead, shared by the replicas
 * (settings-source.ts, redis-settings.ts): the same writes and checks, compare-and-set on its
 * version; another replica's write is applied as a person's edit of the file is. The file is then
 * only the import format and is never written.
 *
 * Gateway-owned credentials survive a person's stale save (see ledger.ts). Writes change only the
 * bytes of the fields they target (json-edit.ts). The store also keeps the file's state for the
 * status API: valid or the last rejected edit, and the keys it keeps but ignores (status.ts).
 */
import { dirname, resolve } from 'node:path';
import { GatehouseError, isGatehouseError, toGatehouseError } from '../errors.js';
import type { Logger } from '../log.js';
import { KeyedMutex } from './credentials.js';
import { diffSettings, isEmptyDiff } from './diff.js';
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
import { SettingsLoader, unreadableError, type Env, type LoadOptions } from './load.js';
import { SecretBox } from './secrets.js';
import { FileSettingsSource, openRedisSource, type SettingsSource } from './settings-source.js';
import { describeRejection, type SettingsRejection, type SettingsStatus } from './status.js';
import type {
  RawServerEntry,
  RawSettings,
  SettingsMutator,
  SettingsStoreEvents,
  SettingsStoreOptions,
} from './store-types.js';
import type { Settings, StoreConfig } from './types.js';

export type * from './store-types.js';

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
  /** Where the document lives: the file until load() finds `systemConfig.store` on Redis. */
  #source: SettingsSource;
  /** On Redis: the file's store config, which the document in Redis cannot change. */
  #storeConfig: Extract<StoreConfig, { type: 'redis' }> | undefined;
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
  #watching = false;
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
    this.#source = new FileSettingsSource(this.path, () => this.#logger, options.debounceMs);
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
   * Reads and loads the file; the result becomes `current`. When the file puts
   * `systemConfig.store` on Redis, the document in Redis is loaded instead (the file's text is
   * imported when Redis has none).
   * @throws GatehouseError SETTINGS_UNREADABLE (naming the path), SETTINGS_INVALID_JSON,
   *   SETTINGS_MISSING_ENV, SETTINGS_INVALID, or STORE_UNAVAILABLE.
   */
  load(): Promise<Settings> {
    return this.#queue.run(FILE, async () => {
      let text = await this.#source.read();
      let raw = this.#loader.parse(text, this.#source.name);
      let settings = await this.#fromRaw(raw);
      const store = settings.system.store;
      if (this.#storeConfig === undefined && store.type === 'redis') {
        this.#source = await openRedisSource(store, this.path, text, () => this.#logger);
        this.#storeConfig = store;
        text = await this.#source.read();
        raw = this.#loader.parse(text, this.#source.name);
        settings = await this.#fromRaw(raw);
      }
      this.#accept(text, raw, settings, false);
      return settings;
    });
  }

  /**
   * The document's text as stored now (the file's, or Redis's): what the raw editor shows, and
   * the export in Redis mode.
   * @throws GatehouseError SETTINGS_UNREADABLE or STORE_UNAVAILABLE
   */
  text(): Promise<string> {
    return this.#source.read();
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
        const raw = this.#loader.parseProposed(proposed, this.#source.name);
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

  /**
   * Starts watching for a person's edits of the file, or (on Redis) for other replicas' writes;
   * resolves once the watcher is ready.
   */
  async startWatching(): Promise<void> {
    if (this.#watching || this.#closed) return;
    this.#watching = true;
    await this.#source.watch(() => this.#scheduleRefresh());
    this.#scheduleRefresh(); // an edit made between load() and the watcher being ready
  }

  /** Stops watching, waits for queued writes to finish, and lets go of the source. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#queue.run(FILE, async () => undefined);
    await this.#source.close();
  }

  #loadOptions(): LoadOptions {
    return { path: this.#source.name, env: this.#env, settingsDir: this.dir };
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
    const settings = this.#loader.fromRaw(raw, { ...this.#loadOptions(), decrypt });
    // The document in Redis cannot move the store it is read from: the file's config holds.
    if (this.#storeConfig !== undefined) settings.system.store = this.#storeConfig;
    return settings;
  }

  /** The read-modify-write of `update`; the caller holds the queue. */
  async #write(mutator: SettingsMutator): Promise<Settings> {
    const { settings } = await this.#writeWith(async (current) => {
      const raw = this.#loader.parse(current, this.#source.name);
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
          { file: this.#source.name },
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
    const { text } = await this.#source.update(async (current) => {
      const next = await edit(current);
      const settings = await this.#fromRaw(next.raw); // never write what would not load
      last = { raw: next.raw, settings };
      if (next.text === current) return undefined;
      this.#remember(sha256Hex(next.text));
      return next.text;
    });
    if (last === undefined) throw new GatehouseError('INTERNAL', 'update returned without a transform');
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
        this.#logger.error(
          { file: this.#source.name, code },
          `Applying the edited settings failed: ${message}`,
        );
      });
  }

  /**
   * Reads the document after a file event (or another replica's write, or a reconnect to Redis)
   * and applies a change made elsewhere; the caller holds the queue.
   */
  async #refresh(): Promise<void> {
    const source = this.#source;
    for (let reread = 0; !this.#closed; reread++) {
      let text: string;
      try {
        text = await source.readChanged();
      } catch (error) {
        if (isGatehouseError(error, 'STORE_UNAVAILABLE')) {
          // The last good settings stay; the reconnect is reported as a change and read again.
          this.#logger.warn({ key: source.name }, 'Settings not re-read: the shared store is unreachable');
        } else if (this.#diskHash !== MISSING) {
          this.#rejected(MISSING, unreadableError(this.path, error), undefined);
        }
        return;
      }
      const hash = sha256Hex(text);
      if (hash === this.#diskHash) {
        const reason = this.#written.includes(hash) ? 'own-write' : 'unchanged';
        this.#logger.debug({ file: source.name, reason }, 'Settings file event ignored');
        return;
      }
      let raw: RawSettings;
      let settings: Settings;
      try {
        raw = this.#loader.parse(text, source.name);
        settings = await this.#fromRaw(raw);
      } catch (error) {
        const rejected = toGatehouseError(error, 'SETTINGS_INVALID');
        // An empty or cut-off text is usually a save still in progress: look again before rejecting.
        const partial = rejected.code === 'SETTINGS_INVALID_JSON' && source.partialSaves;
        if (partial && reread < INVALID_JSON_REREADS) continue;
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
      { file: this.#source.name, code: error.code },
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
      log.call(this.#logger, { file: this.#source.name, path }, `Settings: ${path}: ${message}`);
    }
  }

  #remember(hash: string): void {
    this.#written.push(hash);
    if (this.#written.length > REMEMBERED_WRITES) this.#written.shift();
  }
}
