/**
 * Loading the settings: parse → `${VAR}` interpolation → decryption of the secrets a form stored →
 * JSON Schema validation → normalization into typed `Settings` (STYLE.md rule 13: parsed and
 * validated once, passed down).
 */
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { GatehouseError, isGatehouseError } from '../errors.js';
import { decryptSettingsSecrets, markUnreadable, type Decrypt } from './form-secrets.js';
import { interpolateSettings, type Env } from './interpolate.js';
import { isRecord, parseJsonText, sha256Hex } from './json-text.js';
import { normalizeSettings } from './normalize.js';
import type { Settings } from './types.js';
import { createSchemaValidator, invalidSettingsError, type SchemaValidator } from './validate.js';

export type { Env } from './interpolate.js';

export interface LoadOptions {
  /** The settings file: named in error messages, and its folder is the default `settingsDir`. */
  path: string;
  /** Source of `${VAR}` values. Modules never read `process.env` themselves. */
  env: Env;
  /** Folder that relative `cwd` values are resolved against; defaults to the folder of `path`. */
  settingsDir?: string;
  /** Decrypts the secrets a form stored (`enc:v1:…`); without it they are unreadable. */
  decrypt?: Decrypt;
}

/** The settings file as read from disk, raw and loaded. */
export interface SettingsFile {
  text: string;
  /** Hex SHA-256 of `text`. */
  hash: string;
  /** The parsed document before interpolation: what the SettingsStore edits and writes back. */
  raw: Record<string, unknown>;
  settings: Settings;
}

/** Loads settings; compiles the schema once per instance, so keep one for repeated loads. */
export class SettingsLoader {
  readonly #validate: SchemaValidator = createSchemaValidator();

  /**
   * Parses settings text into the raw document (no interpolation).
   * @throws GatehouseError SETTINGS_INVALID_JSON with a line and column; SETTINGS_INVALID when the
   *   text is JSON but not an object.
   */
  parse(text: string, path: string): Record<string, unknown> {
    const raw = parseJsonText(text, path);
    if (!isRecord(raw)) {
      throw invalidSettingsError(
        [{ path: '(top level)', message: 'must be an object with "mcpServers"' }],
        path,
      );
    }
    return raw;
  }

  /**
   * `parse` for a text a person proposes to save (the raw editor): a text that does not parse is
   * their mistake, not a save in progress, so it is SETTINGS_INVALID (with the place in
   * `details`), which the atomic writer does not wait on as it waits on SETTINGS_INVALID_JSON.
   */
  parseProposed(text: string, path: string): Record<string, unknown> {
    try {
      return this.parse(text, path);
    } catch (error) {
      if (!isGatehouseError(error, 'SETTINGS_INVALID_JSON')) throw error;
      throw new GatehouseError('SETTINGS_INVALID', error.message, { cause: error, details: error.details });
    }
  }

  /**
   * Interpolates, validates and normalizes a raw document. `raw` is not modified.
   * @throws GatehouseError SETTINGS_MISSING_ENV or SETTINGS_INVALID.
   */
  fromRaw(raw: unknown, options: LoadOptions): Settings {
    try {
      const interpolated = interpolateSettings(raw, options.env);
      const { doc, unreadable } = decryptSettingsSecrets(interpolated, options.decrypt);
      const problems = this.#validate(doc);
      if (problems.length > 0) throw invalidSettingsError(problems, options.path);
      const settings = normalizeSettings(
        doc as Record<string, unknown>,
        options.settingsDir ?? dirname(options.path),
      );
      return markUnreadable(settings, unreadable);
    } catch (error) {
      throw withFile(error, options.path);
    }
  }

  /** `parse` then `fromRaw`. */
  load(text: string, options: LoadOptions): Settings {
    return this.fromRaw(this.parse(text, options.path), options);
  }
}

/** Every settings error names its file in `details.file` (main prints it; messages may not). */
function withFile(error: unknown, file: string): unknown {
  if (!isGatehouseError(error) || error.details?.file !== undefined) return error;
  return new GatehouseError(error.code, error.message, {
    cause: error.cause,
    details: { ...error.details, file },
  });
}

/**
 * Loads settings from text. Pure apart from compiling the schema; pass a `loader` to reuse one.
 * @throws GatehouseError SETTINGS_INVALID_JSON, SETTINGS_MISSING_ENV or SETTINGS_INVALID.
 */
export function loadSettings(text: string, options: LoadOptions & { loader?: SettingsLoader }): Settings {
  return (options.loader ?? new SettingsLoader()).load(text, options);
}

/**
 * Reads and loads the settings file.
 * @throws GatehouseError SETTINGS_UNREADABLE naming the path, or any error of `loadSettings`.
 */
export async function readSettingsFile(
  options: LoadOptions & { loader?: SettingsLoader },
): Promise<SettingsFile> {
  const text = await readSettingsText(options.path);
  const loader = options.loader ?? new SettingsLoader();
  const raw = loader.parse(text, options.path);
  return { text, hash: sha256Hex(text), raw, settings: loader.fromRaw(raw, options) };
}

/**
 * Reads the settings file's text.
 * @throws GatehouseError SETTINGS_UNREADABLE naming the path and the reason.
 */
export async function readSettingsText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw unreadableError(path, error);
  }
}

/** The SETTINGS_UNREADABLE error for a failed read of `path`. */
export function unreadableError(path: string, error: unknown): GatehouseError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const reason =
    code === 'ENOENT'
      ? 'it does not exist'
      : code === 'EACCES'
        ? 'permission denied'
        : (code ?? 'read failed');
  return new GatehouseError('SETTINGS_UNREADABLE', `Cannot read the settings file ${path}: ${reason}`, {
    cause: error,
    details: { file: path },
  });
}
