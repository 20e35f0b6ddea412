/**
 * `${VAR}` interpolation from an environment that is passed in (DESIGN.md, "The settings file"):
 * a missing variable is an error naming the variable and the server, never a silent empty string.
 * `${input:<id>}` in a server entry is not a variable: it is left as written, for the server's
 * connection to fill in with a value a person typed in (input-refs.ts).
 */
import { GatehouseError } from '../errors.js';
import { isInputReference, takesInputs } from './input-refs.js';
import { isRecord } from './json-text.js';
import { formatPath, invalidSettingsError, type SettingsProblem } from './validate.js';

/** The environment used for `${VAR}`; main passes `process.env`, tests pass a literal. */
export type Env = Readonly<Record<string, string | undefined>>;

/** A `${VAR}` whose variable is not set. */
export interface MissingVariable {
  path: string;
  variable: string;
  server: string | undefined;
}

// `$${...}` is an escape for the literal text `${...}`. `${env:NAME}` is Cursor's spelling of `${NAME}`.
const REFERENCE = /\$(\$?)\{([^}]*)\}/g;
const NAME = /^(?:env:)?([A-Za-z_][A-Za-z0-9_]*)$/;

/**
 * Returns a copy of parsed settings with `${VAR}` replaced in every string value of each
 * `mcpServers` entry (except the gateway-owned `gatehouse` field) and in `systemConfig.baseUrl`,
 * `systemConfig.allowedPrivateHosts`, `systemConfig.store` (a Redis password) and `systemConfig.inboundAuth` (client secrets, initial access
 * token). Object keys are never interpolated. Input that is not shaped like settings is returned
 * unchanged for the schema to report.
 *
 * @throws GatehouseError SETTINGS_MISSING_ENV naming every unset variable and where it is used;
 *   SETTINGS_INVALID for a malformed reference such as `${foo-bar}`.
 */
export function interpolateSettings(raw: unknown, env: Env): unknown {
  if (!isRecord(raw)) return raw;
  const missing: MissingVariable[] = [];
  const malformed: SettingsProblem[] = [];
  const out: Record<string, unknown> = { ...raw };

  const walk = (value: unknown, path: string[], server: string | undefined): unknown => {
    if (typeof value === 'string') return substitute(value, path, server);
    if (Array.isArray(value)) return value.map((item, i) => walk(item, [...path, String(i)], server));
    if (isRecord(value)) {
      const copy: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value)) copy[key] = walk(item, [...path, key], server);
      return copy;
    }
    return value;
  };

  const substitute = (text: string, path: string[], server: string | undefined): string =>
    text.replace(REFERENCE, (whole, escape: string, inner: string) => {
      if (server !== undefined && isInputReference(inner)) {
        // Where inputs are filled in (url, headers, env), `${input:…}` and its escape stay as
        // written until the server connects; elsewhere the escape is text and a reference is wrong.
        if (takesInputs(path.slice(2))) return whole;
        if (escape === '$') return whole.slice(1);
        malformed.push({
          path: formatPath(path, raw),
          message: `"\${${inner}}" can only be used in "url", "headers" values and "env" values`,
        });
        return whole;
      }
      if (escape === '$') return whole.slice(1);
      const name = NAME.exec(inner)?.[1];
      if (name === undefined) {
        malformed.push({
          path: formatPath(path, raw),
          message: `"\${${inner}}" is not a variable reference (names use letters, digits and _; write "$\${...}" for the literal text)`,
        });
        return whole;
      }
      const value = env[name];
      if (value === undefined) missing.push({ path: formatPath(path, raw), variable: name, server });
      return value ?? '';
    });

  if (isRecord(raw.mcpServers)) {
    const servers: Record<string, unknown> = {};
    for (const [name, entry] of Object.entries(raw.mcpServers)) {
      if (!isRecord(entry)) {
        servers[name] = entry;
        continue;
      }
      const copy: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(entry)) {
        // The gateway's own encrypted fields are not the person's text: leave them alone.
        copy[key] = key === 'gatehouse' ? value : walk(value, ['mcpServers', name, key], name);
      }
      servers[name] = copy;
    }
    out.mcpServers = servers;
  }
  if (isRecord(raw.systemConfig)) {
    // Only the keys Gatehouse reads: other tools' systemConfig keys may use `${...}` for themselves.
    const system: Record<string, unknown> = { ...raw.systemConfig };
    for (const key of ['baseUrl', 'allowedPrivateHosts', 'inboundAuth', 'store']) {
      if (key in system) system[key] = walk(system[key], ['systemConfig', key], undefined);
    }
    out.systemConfig = system;
  }

  if (missing.length > 0) {
    const message = missing.map((m) => `${m.path}: environment variable ${m.variable} is not set`).join('\n');
    throw new GatehouseError('SETTINGS_MISSING_ENV', message, { details: { missing } });
  }
  if (malformed.length > 0) throw invalidSettingsError(malformed);
  return out;
}
