/**
 * Gateway-wide records that belong to no upstream entry: the API keys, the inbound authorization
 * server's clients, grants and tokens (and, later, per-user credentials). They are kept out of
 * `mcp_settings.json` so that the file stays readable with many users and clients.
 *
 * The seam (DESIGN.md, "Where it grows"): collections of `id → JSON record`, each record with an
 * optional expiry, and a change feed so that caches (the API key index, verified tokens) follow
 * every write, including another replica's once a shared store implements this interface.
 *
 * The default implementation, FileStateStore, keeps every record encrypted (SecretBox, bound to its
 * collection and id) in one file beside the settings, `.gatehouse-state.json`, mode 0600, replaced
 * atomically on every change. Reads are served from memory.
 */
import { rename, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { GatehouseError } from '../errors.js';
import type { Logger } from '../log.js';
import { fsyncDir, writeTempFile } from './atomic-file.js';
import { isRecord } from './json-text.js';
import { errnoCode } from './private-file.js';
import type { SecretBox } from './secrets.js';

export const STATE_FILE = '.gatehouse-state.json';

export type StateRecord = Record<string, unknown>;

export interface StateEntry {
  id: string;
  value: StateRecord;
  /** Epoch ms after which the record is gone; undefined: kept until deleted. */
  expiresAt?: number;
}

export interface PutOptions {
  /** Epoch ms after which the record is gone. */
  expiresAt?: number;
  /** A number that must grow with each write of this record (a token generation): fencing. */
  fence?: number;
}

/** The error of a write whose fence is not above the record's last one. */
export function staleWrite(collection: string, id: string): GatehouseError {
  return new GatehouseError('CREDENTIAL_STALE', undefined, { details: { collection, id } });
}

/** What changed: one record of one collection was written or deleted. */
export interface StateChange {
  collection: string;
  id: string;
  deleted: boolean;
  /** Another replica wrote it (a shared store's feed); absent for this process's own writes. */
  remote?: boolean;
}

export interface StateStore {
  /** The record, or undefined when there is none or it has expired. */
  get(collection: string, id: string): Promise<StateRecord | undefined>;
  /**
   * Replaces the whole record. With `fence`, the write is refused (CREDENTIAL_STALE) when a write
   * with a fence at least as high was made to this record since it was last deleted.
   */
  put(collection: string, id: string, value: StateRecord, options?: PutOptions): Promise<void>;
  delete(collection: string, id: string): Promise<void>;
  /** Every live record of a collection. */
  list(collection: string): Promise<StateEntry[]>;
  /** Called after every put and delete (of this process, or another replica's on a shared store). */
  onChange(listener: (change: StateChange) => void): () => void;
}

/** The shared part of both implementations: records in memory, expiry, the change feed. */
abstract class MemoryBackedStateStore implements StateStore {
  protected readonly collections = new Map<string, Map<string, StateEntry>>();
  readonly #listeners = new Set<(change: StateChange) => void>();
  /** The last fence written per record (one process: kept in memory only). */
  readonly #fences = new Map<string, number>();

  async get(collection: string, id: string): Promise<StateRecord | undefined> {
    const entry = this.#live(collection, id);
    return entry === undefined ? undefined : structuredClone(entry.value);
  }

  async put(collection: string, id: string, value: StateRecord, options: PutOptions = {}): Promise<void> {
    if (options.fence !== undefined) {
      const key = `${collection}\u0000${id}`;
      if ((this.#fences.get(key) ?? -Infinity) >= options.fence) throw staleWrite(collection, id);
      this.#fences.set(key, options.fence);
    }
    const entry: StateEntry = { id, value: structuredClone(value) };
    if (options.expiresAt !== undefined) entry.expiresAt = options.expiresAt;
    this.#collection(collection).set(id, entry);
    await this.persist();
    this.#emit({ collection, id, deleted: false });
  }

  async delete(collection: string, id: string): Promise<void> {
    this.#fences.delete(`${collection}\u0000${id}`);
    if (!this.collections.get(collection)?.delete(id)) return;
    await this.persist();
    this.#emit({ collection, id, deleted: true });
  }

  async list(collection: string): Promise<StateEntry[]> {
    const now = Date.now();
    return [...(this.collections.get(collection)?.values() ?? [])]
      .filter((entry) => !expired(entry, now))
      .map((entry) => structuredClone(entry));
  }

  onChange(listener: (change: StateChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Writes the memory state where it lives; nothing for the memory store. */
  protected abstract persist(): Promise<void>;

  #live(collection: string, id: string): StateEntry | undefined {
    const entry = this.collections.get(collection)?.get(id);
    return entry === undefined || expired(entry, Date.now()) ? undefined : entry;
  }

  #collection(name: string): Map<string, StateEntry> {
    let collection = this.collections.get(name);
    if (!collection) {
      collection = new Map();
      this.collections.set(name, collection);
    }
    return collection;
  }

  #emit(change: StateChange): void {
    for (const listener of this.#listeners) listener(change);
  }
}

/** Keeps the records in memory only: tests and ephemeral gateways. */
export class MemoryStateStore extends MemoryBackedStateStore {
  protected async persist(): Promise<void> {}
}

export interface FileStateStoreOptions {
  /** The settings folder; the file is `<dir>/.gatehouse-state.json`. */
  dir: string;
  secrets: SecretBox;
  logger: Logger;
}

/** The file's shape: `{ version: 1, records: { <collection>: { <id>: { value: "enc:v1:…", expiresAt? } } } }`. */
interface StateFile {
  version: 1;
  records: Record<string, Record<string, { value: string; expiresAt?: number }>>;
}

/** The default StateStore: one encrypted file beside the settings (see the module comment). */
export class FileStateStore extends MemoryBackedStateStore {
  readonly path: string;
  readonly #secrets: SecretBox;
  /** The encrypted form of each record, so a write encrypts only what changed. */
  readonly #sealed = new Map<string, { value: string; expiresAt?: number; plain: string }>();
  #writing: Promise<void> = Promise.resolve();
  /** The write that has not started yet, which a new change joins. */
  #queued: Promise<void> | undefined;

  private constructor(options: FileStateStoreOptions) {
    super();
    this.path = join(options.dir, STATE_FILE);
    this.#secrets = options.secrets;
  }

  /**
   * Reads the file (none yet is an empty store) and decrypts every record.
   * @throws GatehouseError STATE_UNREADABLE when the file cannot be read, is not a state file, or a
   *   record does not decrypt (another key): the file is left as it is.
   */
  static async open(options: FileStateStoreOptions): Promise<FileStateStore> {
    const store = new FileStateStore(options);
    await store.#load();
    return store;
  }

  async #load(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return;
      throw this.#unreadable('cannot be read', error);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw this.#unreadable('is not valid JSON', error);
    }
    if (!isRecord(parsed) || parsed.version !== 1 || !isRecord(parsed.records)) {
      throw this.#unreadable('is not a Gatehouse state file (version 1)');
    }
    const now = Date.now();
    for (const [collection, records] of Object.entries(parsed.records)) {
      if (!isRecord(records)) throw this.#unreadable(`has a malformed collection "${collection}"`);
      const entries = new Map<string, StateEntry>();
      for (const [id, sealed] of Object.entries(records)) {
        if (!isRecord(sealed) || typeof sealed.value !== 'string') {
          throw this.#unreadable(`has a malformed record at ${collection}.${id}`);
        }
        const expiresAt = typeof sealed.expiresAt === 'number' ? sealed.expiresAt : undefined;
        if (expiresAt !== undefined && expiresAt <= now) continue;
        let value: unknown;
        let plain: string;
        try {
          plain = await this.#secrets.decrypt(sealed.value, stateAad(collection, id));
          value = JSON.parse(plain);
        } catch (error) {
          throw this.#unreadable(`has a record that does not decrypt at ${collection}.${id}`, error);
        }
        if (!isRecord(value)) throw this.#unreadable(`has a malformed record at ${collection}.${id}`);
        entries.set(id, expiresAt === undefined ? { id, value } : { id, value, expiresAt });
        this.#sealed.set(sealedKey(collection, id), { value: sealed.value, expiresAt, plain });
      }
      this.collections.set(collection, entries);
    }
  }

  /**
   * Encrypts what changed and replaces the file; writes are serialized, the newest state wins.
   * Changes made while a write runs share the next one (many people's token refreshes at once cost
   * one file replacement, not one each).
   */
  protected async persist(): Promise<void> {
    if (this.#queued) return this.#queued;
    const write = this.#writing.then(() => {
      this.#queued = undefined;
      return this.#write();
    });
    this.#queued = write;
    this.#writing = write.catch(() => undefined);
    await write;
  }

  async #write(): Promise<void> {
    const now = Date.now();
    const file: StateFile = { version: 1, records: {} };
    const live = new Set<string>();
    for (const [collection, entries] of this.collections) {
      const records: StateFile['records'][string] = {};
      for (const entry of entries.values()) {
        if (expired(entry, now)) continue;
        const key = sealedKey(collection, entry.id);
        live.add(key);
        const plain = JSON.stringify(entry.value);
        let sealed = this.#sealed.get(key);
        if (!sealed || sealed.plain !== plain || sealed.expiresAt !== entry.expiresAt) {
          sealed = {
            value: await this.#secrets.encrypt(plain, stateAad(collection, entry.id)),
            expiresAt: entry.expiresAt,
            plain,
          };
          this.#sealed.set(key, sealed);
        }
        records[entry.id] =
          entry.expiresAt === undefined
            ? { value: sealed.value }
            : { value: sealed.value, expiresAt: entry.expiresAt };
      }
      if (Object.keys(records).length > 0) file.records[collection] = records;
    }
    for (const key of this.#sealed.keys()) if (!live.has(key)) this.#sealed.delete(key);
    try {
      // One line: the file is rewritten on every change (a team's token refreshes), and its values are ciphertext.
      const temp = await writeTempFile(this.path, `${JSON.stringify(file)}\n`, 0o600);
      await rename(temp, this.path);
      await fsyncDir(dirname(this.path));
    } catch (error) {
      throw new GatehouseError('STATE_WRITE_FAILED', `The state file ${this.path} could not be written`, {
        cause: error,
        details: { file: this.path },
      });
    }
  }

  #unreadable(what: string, cause?: unknown): GatehouseError {
    return new GatehouseError(
      'STATE_UNREADABLE',
      `The state file ${this.path} ${what}; it is left as it is (move it away to start without its API keys and client grants)`,
      { cause, details: { file: this.path } },
    );
  }
}

function expired(entry: StateEntry, now: number): boolean {
  return entry.expiresAt !== undefined && entry.expiresAt <= now;
}

/** Associated data: a record copied to another collection or id does not decrypt. */
export function stateAad(collection: string, id: string): string {
  return `gatehouse/state/v1\u0000${collection}\u0000${id}`;
}

function sealedKey(collection: string, id: string): string {
  return `${collection}\u0000${id}`;
}
