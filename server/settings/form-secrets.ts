/**
 * Secrets in the person's part of a server entry (issue 12, "Secrets entered in a form"): an OAuth
 * client secret, a dynamic registration's initial access token, and header or environment values
 * the form marks secret are written into the settings file encrypted (`enc:v1:…`, bound to the
 * server and the field), decrypted when the settings load, and never sent back: every API answer
 * shows `{ "secret": true, "set": true }` instead, and a form that sends
 * `{ "secret": true, "keep": true }` keeps what is stored.
 *
 * Which fields count as secret: the OAuth ones always; a header or an environment variable when
 * the form marks it, when it is stored encrypted, or when its name says it holds a credential
 * (`Authorization`, `X-Api-Key`, `GITHUB_TOKEN`). A value that references a variable (`${VAR}`,
 * `${input:id}`) names where the secret is, not the secret: it is shown and stored as written.
 */
import { GatehouseError } from '../errors.js';
import { isRecord } from './json-text.js';
import type { SettingsWarning } from './known-keys.js';
import { isEncryptedValue, type SecretBox } from './secrets.js';
import type { Settings } from './types.js';
import { formatPath } from './validate.js';

type Raw = Record<string, unknown>;

/** How the API shows a secret field: whether a value is set, never the value. */
export interface RedactedSecret {
  secret: true;
  set: boolean;
}

/** Synchronous decryption with a key already read (SecretBox.decrypter). */
export type Decrypt = (value: string, aad: string) => string;

/** A stored secret that could not be decrypted at load. */
export interface UnreadableSecret {
  server: string;
  /** The setting's path, as problems name it (`mcpServers.github.oauth.clientSecret`). */
  path: string;
  message: string;
}

/** Fields that are secret whatever they hold; the first two may be stored encrypted. */
const OAUTH_SECRETS: readonly (readonly string[])[] = [
  ['oauth', 'clientSecret'],
  ['oauth', 'dynamicRegistration', 'initialAccessToken'],
  ['oauth', 'accessToken'],
  ['oauth', 'refreshToken'],
];
const ENCRYPTABLE_OAUTH = OAUTH_SECRETS.slice(0, 2);
/** Maps whose values may be secret, one by one. */
const SECRET_MAPS = ['headers', 'env'];
/** Header and variable names that hold credentials by their name. */
const CREDENTIAL_NAME =
  /authorization|cookie|token|secret|passw|api[-_]?key|private[-_]?key|credential|^(x-)?auth\b/i;

/** The associated data of one stored setting: it decrypts only at this server and field. */
export function settingAad(server: string, path: readonly string[]): string {
  return ['gatehouse/setting/v1', server, ...path].join('\u0000');
}

/** One place in an entry that may hold a secret, with what it holds now. */
interface Slot {
  path: string[];
  value: unknown;
  /** Secret whatever it holds (an OAuth secret, or a credential by its name). */
  byDefault: boolean;
  /** A form may store it encrypted. */
  encryptable: boolean;
}

/** Every place of a server entry that may hold a secret and is present. */
function slotsOf(entry: Raw): Slot[] {
  const slots: Slot[] = [];
  for (const path of OAUTH_SECRETS) {
    const value = at(entry, path);
    if (value !== undefined) {
      slots.push({ path: [...path], value, byDefault: true, encryptable: ENCRYPTABLE_OAUTH.includes(path) });
    }
  }
  for (const map of SECRET_MAPS) {
    const values = entry[map];
    if (!isRecord(values)) continue;
    for (const [name, value] of Object.entries(values)) {
      slots.push({ path: [map, name], value, byDefault: CREDENTIAL_NAME.test(name), encryptable: true });
    }
  }
  return slots;
}

/** True for a value that names where a secret comes from rather than holding it. */
function isReference(value: string): boolean {
  return value.includes('${');
}

/** Whether a slot's value is a secret to hide: set (a value), empty, or not a secret. */
function secretState(slot: Slot): 'set' | 'empty' | 'none' {
  const { value } = slot;
  if (typeof value !== 'string') return 'none';
  if (isEncryptedValue(value)) return 'set';
  if (!slot.byDefault || isReference(value)) return 'none';
  return value === '' ? 'empty' : 'set';
}

/**
 * A copy of a raw server entry for the API: without the gateway's `gatehouse` field, every secret
 * value replaced by `{ "secret": true, "set": true|false }`.
 */
export function redactEntry(raw: Raw): Raw {
  const copy = structuredClone(raw);
  delete copy.gatehouse;
  for (const slot of slotsOf(copy)) {
    const state = secretState(slot);
    if (state !== 'none')
      put(copy, slot.path, { secret: true, set: state === 'set' } satisfies RedactedSecret);
  }
  return copy;
}

/**
 * Replaces every secret value of a server entry (in place) with `marker`, for the raw editor's
 * text; empty ones stay as they are. Returns the paths replaced.
 */
export function markSecrets(entry: Raw, marker: string): string[][] {
  const replaced: string[][] = [];
  for (const slot of slotsOf(entry)) {
    if (secretState(slot) === 'set') {
      put(entry, slot.path, marker);
      replaced.push(slot.path);
    }
  }
  return replaced;
}

/** Where a form entry comes from and goes to, for its secret fields. */
export interface FormEntryContext {
  /** The name the entry is written under (its secrets are bound to it). */
  server: string;
  /** The entry on disk now (its `keep` values), and the name it has there (differs on a rename). */
  stored?: { server: string; entry: Raw };
  secrets: SecretBox;
}

/**
 * Turns the entry a form sent into the one to write: `{ secret: true, keep: true }` takes the
 * stored value, `{ secret: true, value }` and a plain secret (an OAuth secret, a credential by its
 * name) are encrypted, references (`${VAR}`) stay as written; a kept value moved to another server
 * name is encrypted again for it. The `gatehouse` field of the form's entry is dropped.
 * @throws GatehouseError BAD_REQUEST for a secret marker where no secret may be, or a `keep` with
 *   nothing stored; SECRETS_DECRYPT_FAILED when a kept value must move and does not decrypt.
 */
export async function prepareFormEntry(submitted: unknown, context: FormEntryContext): Promise<Raw> {
  if (!isRecord(submitted)) throw new GatehouseError('BAD_REQUEST', '"entry" must be an object');
  const entry = structuredClone(submitted);
  delete entry.gatehouse;
  const markers = secretMarkers(entry);
  const slots = slotsOf(entry);
  for (const path of markers) {
    if (!slots.some((slot) => slot.encryptable && same(slot.path, path))) {
      throw new GatehouseError(
        'BAD_REQUEST',
        `entry.${formatPath(path)}: only oauth.clientSecret, oauth.dynamicRegistration.initialAccessToken, headers and env values can be secret`,
      );
    }
  }
  const { stored, secrets, server } = context;
  for (const slot of slots) {
    let value = slot.value;
    let marked = false;
    let kept = false;
    if (isRecord(value) && value.secret === true) {
      marked = true;
      if (value.keep === true) {
        kept = true;
        const storedValue = stored === undefined ? undefined : at(stored.entry, slot.path);
        if (typeof storedValue !== 'string') {
          throw new GatehouseError(
            'BAD_REQUEST',
            `entry.${formatPath(slot.path)}: there is no stored value to keep`,
          );
        }
        value = storedValue;
      } else if (typeof value.value === 'string') {
        value = value.value;
      } else {
        throw new GatehouseError(
          'BAD_REQUEST',
          `entry.${formatPath(slot.path)}: a secret is { "secret": true, "value": "…" } or { "secret": true, "keep": true }`,
        );
      }
    }
    if (typeof value !== 'string') continue;
    if (isEncryptedValue(value)) {
      const moved = stored !== undefined && stored.server !== server && at(stored.entry, slot.path) === value;
      if (moved) {
        const plain = await secrets
          .decrypt(value, settingAad(stored.server, slot.path))
          .catch((error: unknown) => {
            throw new GatehouseError(
              'SECRETS_DECRYPT_FAILED',
              `entry.${formatPath(slot.path)}: the stored secret could not be decrypted to move it; type it again`,
              { cause: error },
            );
          });
        value = await secrets.encrypt(plain, settingAad(server, slot.path));
      }
    } else if (
      !kept &&
      (marked || slot.byDefault) &&
      slot.encryptable &&
      value !== '' &&
      !isReference(value)
    ) {
      // A kept value stays as the person wrote it; a typed one is stored encrypted.
      value = await secrets.encrypt(value, settingAad(server, slot.path));
    }
    put(entry, slot.path, value);
  }
  return entry;
}

/** Paths (in the entry) of every `{ secret: true, … }` object, wherever it is. */
function secretMarkers(value: unknown, path: string[] = []): string[][] {
  if (Array.isArray(value)) return value.flatMap((item, i) => secretMarkers(item, [...path, String(i)]));
  if (!isRecord(value)) return [];
  if (value.secret === true) return [path];
  return Object.entries(value).flatMap(([key, item]) => secretMarkers(item, [...path, key]));
}

/**
 * A step of loading the settings, after `${VAR}` interpolation and before validation: returns a
 * copy of the (interpolated) document with every stored secret of every server decrypted. A value
 * that does not decrypt becomes empty and is reported, naming the server and the field; only that
 * server is affected (it does not connect; see `ServerConfig.problem`).
 */
export function decryptSettingsSecrets(
  doc: unknown,
  decrypt: Decrypt | undefined,
): { doc: unknown; unreadable: UnreadableSecret[] } {
  const unreadable: UnreadableSecret[] = [];
  if (!isRecord(doc) || !isRecord(doc.mcpServers)) return { doc, unreadable };
  let servers: Raw | undefined;
  for (const [name, entry] of Object.entries(doc.mcpServers)) {
    if (!isRecord(entry)) continue;
    let copy: Raw | undefined;
    for (const slot of slotsOf(entry)) {
      if (!slot.encryptable || !isEncryptedValue(slot.value)) continue;
      copy ??= structuredClone(entry);
      let plain = '';
      try {
        if (decrypt === undefined) throw new GatehouseError('SECRETS_KEY_INVALID', 'no encryption key');
        plain = decrypt(slot.value, settingAad(name, slot.path));
      } catch {
        const path = formatPath(['mcpServers', name, ...slot.path]);
        unreadable.push({
          server: name,
          path,
          message: `${path}: the stored secret could not be decrypted (the encryption key changed, or the value was copied from another entry or field); set it again`,
        });
      }
      put(copy, slot.path, plain);
    }
    if (copy !== undefined) {
      servers ??= { ...doc.mcpServers };
      servers[name] = copy;
    }
  }
  return { doc: servers === undefined ? doc : { ...doc, mcpServers: servers }, unreadable };
}

/** Marks each server with a secret that did not decrypt (the first such field names the problem). */
export function markUnreadable(settings: Settings, unreadable: readonly UnreadableSecret[]): Settings {
  for (const { server, path, message } of unreadable) {
    const config = settings.servers.get(server);
    if (config !== undefined) config.problem ??= { code: 'SECRETS_DECRYPT_FAILED', message, path };
  }
  return settings;
}

/** The servers whose stored secrets did not decrypt, as warnings of the status API. */
export function unreadableWarnings(settings: Settings): SettingsWarning[] {
  return [...settings.servers.values()].flatMap(({ problem }) =>
    problem === undefined
      ? []
      : [{ path: problem.path, kind: 'unreadable' as const, message: problem.message }],
  );
}

/**
 * The decrypter for loading `raw`: undefined when it holds no stored secret (no key is read or
 * created then), or when the key cannot be read (`onKeyError` is told; those secrets are then
 * unreadable, which affects only their servers).
 */
export async function decrypterFor(
  raw: unknown,
  secrets: SecretBox,
  onKeyError: (error: unknown) => void,
): Promise<Decrypt | undefined> {
  if (!hasStoredSecrets(raw)) return undefined;
  return secrets.decrypter().catch((error: unknown) => {
    onKeyError(error);
    return undefined;
  });
}

/** True when a raw document holds a stored secret in a server entry (the key is then needed). */
export function hasStoredSecrets(raw: unknown): boolean {
  if (!isRecord(raw) || !isRecord(raw.mcpServers)) return false;
  return Object.values(raw.mcpServers).some(
    (entry) =>
      isRecord(entry) && slotsOf(entry).some((slot) => slot.encryptable && isEncryptedValue(slot.value)),
  );
}

function at(entry: Raw, path: readonly string[]): unknown {
  let node: unknown = entry;
  for (const key of path) {
    if (!isRecord(node) || !Object.hasOwn(node, key)) return undefined;
    node = node[key];
  }
  return node;
}

/** Sets a value whose parent objects exist (slots are only found where they do). */
function put(entry: Raw, path: readonly string[], value: unknown): void {
  let node = entry;
  for (const key of path.slice(0, -1)) node = node[key] as Raw;
  node[path.at(-1) as string] = value;
}

function same(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((key, i) => key === b[i]);
}
