/**
 * The demo authorization server's memory in one JSON file: its signing key, its cookie keys and
 * every record oidc-provider keeps (registered clients, grants, sessions, codes, refresh tokens),
 * so that restarting the demo (and so the gateway) needs no new registration and no new consent.
 *
 * Format (version 1):
 * `{ version: 1, signingKey: <private RS256 JWK>, cookieKeys: [string],
 *    records: { <model>: { <id>: { payload: {…}, expiresAt: <ms since epoch> | null } } } }`
 *
 * Every save writes a temp file beside it (mode 0600), fsyncs it and renames it over the old one,
 * so a crash leaves the old state or the new one, never half a file. Saves are serialized.
 * This module stands alone on purpose: the demo plays a third-party server, not part of the gateway.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';

export type Payload = Record<string, unknown>;

interface StoredRecord {
  payload: Payload;
  expiresAt: number | null;
}

interface StateDocument {
  version: 1;
  signingKey: JWK;
  cookieKeys: string[];
  records: Record<string, Record<string, StoredRecord>>;
}

export interface StateFileOptions {
  now?: () => number;
}

/** The file could not be read or is not a demo state file; the message names the file. */
export class StateFileError extends Error {
  override readonly name = 'StateFileError';
}

export class StateFile {
  readonly path: string;
  readonly #doc: StateDocument;
  readonly #now: () => number;
  #pending: Promise<void> | undefined;
  #writing: Promise<void> = Promise.resolve();

  private constructor(path: string, doc: StateDocument, now: () => number) {
    this.path = path;
    this.#doc = doc;
    this.#now = now;
  }

  /**
   * Reads the state at `path`, or creates it (a new signing key and cookie key) when it is missing.
   * @throws StateFileError when the file exists but cannot be read or parsed.
   */
  static async open(path: string, options: StateFileOptions = {}): Promise<StateFile> {
    const now = options.now ?? Date.now;
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    let text: string | undefined;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new StateFileError(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
    }
    if (text !== undefined) return new StateFile(path, parseDocument(path, text), now);
    const state = new StateFile(path, await freshDocument(), now);
    await state.save();
    return state;
  }

  get signingKey(): JWK {
    return this.#doc.signingKey;
  }
  get cookieKeys(): string[] {
    return this.#doc.cookieKeys;
  }

  /** A copy of the record's payload, or undefined when it is missing or expired. */
  find(model: string, id: string): Payload | undefined {
    const record = this.#doc.records[model]?.[id];
    return record && this.#live(record) ? structuredClone(record.payload) : undefined;
  }

  /** The first live record of `model` whose payload satisfies `test`. */
  findWhere(model: string, test: (payload: Payload) => boolean): Payload | undefined {
    for (const record of Object.values(this.#doc.records[model] ?? {})) {
      if (this.#live(record) && test(record.payload)) return structuredClone(record.payload);
    }
    return undefined;
  }

  /** Stores a record; `expiresInSeconds` undefined means it never expires (e.g. a client). */
  put(model: string, id: string, payload: Payload, expiresInSeconds?: number): void {
    const expiresAt = expiresInSeconds === undefined ? null : this.#now() + expiresInSeconds * 1000;
    (this.#doc.records[model] ??= {})[id] = { payload: structuredClone(payload), expiresAt };
  }

  /** Changes a live record's payload in place; returns whether there was one. */
  update(model: string, id: string, change: (payload: Payload) => Payload): boolean {
    const record = this.#doc.records[model]?.[id];
    if (!record || !this.#live(record)) return false;
    record.payload = change(record.payload);
    return true;
  }

  remove(model: string, id: string): void {
    delete this.#doc.records[model]?.[id];
  }

  /** Removes every record, of any model, for which `test` holds. */
  removeWhere(test: (model: string, payload: Payload) => boolean): void {
    for (const [model, records] of Object.entries(this.#doc.records)) {
      for (const [id, record] of Object.entries(records)) {
        if (test(model, record.payload)) delete records[id];
      }
    }
  }

  /** How many live records each model has (for the status tool and tests). */
  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [model, records] of Object.entries(this.#doc.records)) {
      const live = Object.values(records).filter((r) => this.#live(r)).length;
      if (live > 0) out[model] = live;
    }
    return out;
  }

  /**
   * Writes the current state (expired records dropped). Calls made while a write runs share one
   * follow-up write, which starts after it and carries everything changed until then.
   */
  save(): Promise<void> {
    if (!this.#pending) {
      const next = this.#writing.then(() => {
        this.#pending = undefined;
        return this.#write();
      });
      this.#pending = next;
      this.#writing = next.catch(() => undefined);
    }
    return this.#pending;
  }

  #live(record: StoredRecord): boolean {
    return record.expiresAt === null || record.expiresAt > this.#now();
  }

  async #write(): Promise<void> {
    for (const [model, records] of Object.entries(this.#doc.records)) {
      for (const [id, record] of Object.entries(records)) if (!this.#live(record)) delete records[id];
      if (Object.keys(records).length === 0) delete this.#doc.records[model];
    }
    const text = `${JSON.stringify(this.#doc, null, 2)}\n`;
    const temp = `${this.path}.tmp-${randomBytes(6).toString('hex')}`;
    try {
      const handle = await open(temp, 'wx', 0o600);
      try {
        await handle.writeFile(text, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, this.path);
    } catch (error) {
      await rm(temp, { force: true });
      throw new StateFileError(`cannot write ${this.path}: ${(error as Error).message}`, { cause: error });
    }
  }
}

async function freshDocument(): Promise<StateDocument> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  const signingKey = { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: 'RS256', use: 'sig' };
  return { version: 1, signingKey, cookieKeys: [randomBytes(32).toString('base64url')], records: {} };
}

function parseDocument(path: string, text: string): StateDocument {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new StateFileError(`${path} is not valid JSON; delete it to start over`, { cause: error });
  }
  const d = doc as Partial<StateDocument> | null;
  const valid =
    d !== null &&
    typeof d === 'object' &&
    d.version === 1 &&
    typeof d.signingKey?.d === 'string' &&
    Array.isArray(d.cookieKeys) &&
    d.cookieKeys.every((k) => typeof k === 'string') &&
    typeof d.records === 'object' &&
    d.records !== null;
  if (!valid) throw new StateFileError(`${path} is not a demo OAuth state file; delete it to start over`);
  return d as StateDocument;
}
