/**
 * Encryption at rest of what the gateway stores in the settings file (DESIGN.md, "The settings
 * file"): AES-256-GCM from node:crypto, a random 96-bit IV per value, and associated data that
 * binds each value to where it belongs, so a value copied to another server entry does not decrypt.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { GatehouseError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { readOrCreatePrivateFile } from './private-file.js';

/** Name of the key file created beside the settings file when no key is configured. */
export const SECRET_KEY_FILE = '.gatehouse-secret.key';

/** Every encrypted value starts with this; the version names the algorithm and layout. */
export const ENCRYPTED_PREFIX = 'enc:v1:';

// NIST SP 800-38D §8.2: 96-bit IVs; a fresh random IV per encryption under one key.
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

/** True for a string in the `enc:v1:` format. */
export function isEncryptedValue(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(ENCRYPTED_PREFIX);
}

/**
 * Parses a 256-bit key written as 64 hex characters or as base64 (or base64url) of 32 bytes.
 * @throws GatehouseError SECRETS_KEY_INVALID naming `source`, never the value.
 */
export function parseSecretKey(value: string, source: string): Buffer {
  const text = value.trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) {
    const key = Buffer.from(text, 'base64');
    if (key.length === KEY_BYTES) return key;
  }
  throw new GatehouseError(
    'SECRETS_KEY_INVALID',
    `${source} must be 64 hex characters or the base64 of 32 bytes (make one with: openssl rand -hex 32)`,
  );
}

export interface SecretBoxOptions {
  /** The key itself, 32 bytes (tests, embedders). */
  key?: Buffer;
  /** The configured key text: main passes GATEHOUSE_SECRET_KEY. Empty means not configured. */
  configured?: string;
  /** Folder of the settings file: without a key, the key file is kept (and created) there. */
  settingsDir?: string;
  logger?: Logger;
}

/** Encrypts and decrypts stored secrets with one key. */
export class SecretBox {
  /** The key file used when no key is given, else undefined. */
  readonly keyFile: string | undefined;
  readonly #given: Buffer | undefined;
  readonly #logger: Logger;
  #fileKey: Promise<Buffer> | undefined;

  /**
   * Uses `key`, else `configured`, else the key file in `settingsDir`, created on first use.
   * @throws GatehouseError SECRETS_KEY_INVALID when the given key is malformed or no source is given.
   */
  constructor(options: SecretBoxOptions) {
    this.#logger = options.logger ?? silentLogger;
    if (options.key !== undefined) {
      if (options.key.length !== KEY_BYTES)
        throw new GatehouseError('SECRETS_KEY_INVALID', 'The key must be 32 bytes');
      this.#given = Buffer.from(options.key);
    } else if (options.configured !== undefined && options.configured.trim() !== '') {
      this.#given = parseSecretKey(options.configured, 'GATEHOUSE_SECRET_KEY');
    } else if (options.settingsDir === undefined) {
      throw new GatehouseError('SECRETS_KEY_INVALID', 'No encryption key and no folder for a key file');
    }
    this.keyFile =
      this.#given === undefined ? join(options.settingsDir as string, SECRET_KEY_FILE) : undefined;
  }

  /**
   * Creates a SecretBox and resolves its key now (reading or creating the key file), so a bad key
   * or an unwritable folder is reported at start-up instead of at the first encryption.
   */
  static async open(options: SecretBoxOptions): Promise<SecretBox> {
    const box = new SecretBox(options);
    await box.#key();
    return box;
  }

  /** Where the key comes from: given (option or configuration), or the key file. */
  get keySource(): 'configured' | 'file' {
    return this.#given === undefined ? 'file' : 'configured';
  }

  /** Encrypts `plaintext` bound to `aad`; returns `enc:v1:<base64url(iv | tag | ciphertext)>`. */
  async encrypt(plaintext: string, aad: string): Promise<string> {
    const key = await this.#key();
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ENCRYPTED_PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
  }

  /**
   * Decrypts a value made by `encrypt` with the same `aad`.
   * @throws GatehouseError SECRETS_DECRYPT_FAILED for a malformed value, another key or another
   *   `aad`. The message holds neither the value nor the key.
   */
  async decrypt(value: string, aad: string): Promise<string> {
    return decryptWithKey(await this.#key(), value, aad);
  }

  /**
   * A synchronous `decrypt` bound to the key, which is read (or created) now: for the settings
   * loader, which runs synchronously once the key is at hand.
   * @throws GatehouseError SECRETS_KEY_INVALID when the key cannot be read.
   */
  async decrypter(): Promise<(value: string, aad: string) => string> {
    const key = await this.#key();
    return (value, aad) => decryptWithKey(key, value, aad);
  }

  /**
   * A keyed digest of `data` (HMAC-SHA-256, base64url) under a subkey of the encryption key derived
   * for `label` (RFC 5869 HKDF): values that prove Gatehouse made them (a browser binding cookie)
   * without storing anything, and that every replica sharing the key can check.
   */
  async mac(label: string, data: string): Promise<string> {
    const subkey = Buffer.from(
      hkdfSync('sha256', await this.#key(), Buffer.alloc(0), `gatehouse/mac/${label}`, 32),
    );
    return createHmac('sha256', subkey).update(data).digest('base64url');
  }

  #key(): Promise<Buffer> {
    if (this.#given !== undefined) return Promise.resolve(this.#given);
    this.#fileKey ??= this.#readKeyFile().catch((error: unknown) => {
      this.#fileKey = undefined; // let a later call try again (the folder may become writable)
      throw error;
    });
    return this.#fileKey;
  }

  async #readKeyFile(): Promise<Buffer> {
    const keyFile = this.keyFile as string;
    const { value } = await readOrCreatePrivateFile({
      path: keyFile,
      create: () => randomBytes(KEY_BYTES).toString('hex'),
      logger: this.#logger,
      what: 'The encryption key file',
      errorCode: 'SECRETS_KEY_INVALID',
    });
    return parseSecretKey(value, `The encryption key file ${keyFile}`);
  }
}

/**
 * Decrypts a value made by `SecretBox.encrypt` under `key` with the same `aad`.
 * @throws GatehouseError SECRETS_DECRYPT_FAILED (the message holds neither the value nor the key).
 */
function decryptWithKey(key: Buffer, value: string, aad: string): string {
  const data = isEncryptedValue(value)
    ? Buffer.from(value.slice(ENCRYPTED_PREFIX.length), 'base64url')
    : undefined;
  if (data === undefined || data.length < IV_BYTES + TAG_BYTES) {
    throw new GatehouseError('SECRETS_DECRYPT_FAILED', 'A stored secret is not in the enc:v1 format');
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(data.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(data.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString(
      'utf8',
    );
  } catch (error) {
    throw new GatehouseError(
      'SECRETS_DECRYPT_FAILED',
      'A stored secret could not be decrypted: the key changed, or the value was copied from another entry',
      { cause: error },
    );
  }
}

/** Alias of SecretBox (the name main.ts uses). */
export { SecretBox as Secrets };
