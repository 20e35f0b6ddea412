/**
 * Turns schema-valid, interpolated settings into the typed `Settings` the gateway consumes:
 * transport defaults, resolved paths, filled-in defaults, fingerprints, and the cross-entry
 * checks a JSON Schema cannot express (groups naming servers that exist).
 */
import { resolve } from 'node:path';
import { inputIdsIn } from './input-refs.js';
import { canonicalJson, isRecord, sha256Hex } from './json-text.js';
import {
  DEFAULT_PER_USER,
  DEFAULT_TIMEOUTS,
  type GroupConfig,
  type HttpServerConfig,
  type InboundAuthConfig,
  type InputDeclaration,
  type OAuthSettings,
  type PerUserConfig,
  type ServerConfig,
  type Settings,
  type SystemConfig,
  type ToolSetting,
} from './types.js';
import { formatPath, invalidSettingsError, type SettingsProblem } from './validate.js';

export const DEFAULT_NAME_SEPARATOR = '__';
export const DEFAULT_CONNECT_CONCURRENCY = 8;

type Raw = Record<string, unknown>;

/**
 * Normalizes settings that already passed the schema (after `${VAR}` interpolation).
 * `settingsDir` is the settings file's folder: relative `cwd` values are resolved against it and
 * it is the default `cwd` of stdio servers.
 *
 * @throws GatehouseError SETTINGS_INVALID for a group naming an unknown server, a group named like
 *   a server, a group listed twice, an initial backoff above the maximum, an input id declared
 *   twice, or a `${input:<id>}` naming no declared input or used outside `url`, `headers`, `env`.
 */
export function normalizeSettings(raw: Raw, settingsDir: string): Settings {
  const problems: SettingsProblem[] = [];
  const servers = new Map<string, ServerConfig>();
  for (const [name, entry] of Object.entries(raw.mcpServers as Record<string, Raw>)) {
    servers.set(name, normalizeServer(name, entry, settingsDir, inputsOf(name, entry, raw, problems)));
  }
  const groups = normalizeGroups(raw, servers, problems);
  const system = normalizeSystem(isRecord(raw.systemConfig) ? raw.systemConfig : {}, problems);
  if (problems.length > 0) throw invalidSettingsError(problems);
  return { servers, groups, system };
}

function normalizeServer(
  name: string,
  entry: Raw,
  settingsDir: string,
  inputs: InputDeclaration[],
): ServerConfig {
  const base = {
    name,
    inputs,
    // `disabled: true` is Cline's, Roo Code's and VS Code's way to write `enabled: false`; the
    // schema refuses the two when they disagree.
    enabled: entry.enabled !== false && entry.disabled !== true,
    credentials: entry.credentials === 'perUser' ? ('perUser' as const) : ('shared' as const),
    tools: normalizeTools(entry.tools),
    fingerprint: fingerprintEntry(entry),
  };
  if (typeof entry.command === 'string') {
    return {
      ...base,
      type: 'stdio',
      command: entry.command,
      args: (entry.args as string[] | undefined) ?? [],
      env: (entry.env as Record<string, string> | undefined) ?? {},
      cwd: resolve(settingsDir, typeof entry.cwd === 'string' ? entry.cwd : '.'),
    };
  }
  const type: HttpServerConfig['type'] =
    entry.type === 'sse'
      ? 'sse'
      : entry.type === 'streamable-http' || entry.type === 'http' || entry.type === 'streamableHttp'
        ? 'streamable-http'
        : 'auto';
  const server: HttpServerConfig = {
    ...base,
    type,
    url: entry.url as string,
    headers: (entry.headers as Record<string, string> | undefined) ?? {},
  };
  if (isRecord(entry.oauth)) server.oauth = structuredClone(entry.oauth) as OAuthSettings;
  return server;
}

/**
 * The entry's declared inputs, and the checks of its `${input:<id>}` references: each names a
 * declared input, and sits where a value is filled in when connecting (`url`, `headers`, `env`).
 */
function inputsOf(name: string, entry: Raw, raw: Raw, problems: SettingsProblem[]): InputDeclaration[] {
  const declared: InputDeclaration[] = [];
  const at = (...path: (string | number)[]) => formatPath(['mcpServers', name, ...path.map(String)], raw);
  ((entry.inputs as Raw[] | undefined) ?? []).forEach((input, i) => {
    const id = input.id as string;
    if (declared.some((d) => d.id === id)) {
      problems.push({ path: at('inputs', i, 'id'), message: `repeats the input id "${id}"` });
      return;
    }
    declared.push({
      id,
      ...(typeof input.description === 'string' ? { description: input.description } : {}),
      password: input.password === true,
    });
  });
  // Interpolation already refused references anywhere else (interpolate.ts).
  const used = [
    ...(typeof entry.url === 'string' ? [{ path: ['url'], text: entry.url }] : []),
    ...(['headers', 'env'] as const).flatMap((field) =>
      Object.entries(isRecord(entry[field]) ? entry[field] : {}).map(([key, text]) => ({
        path: [field, key],
        text,
      })),
    ),
  ];
  for (const { path, text } of used) {
    if (typeof text !== 'string') continue;
    for (const id of inputIdsIn(text)) {
      if (!declared.some((d) => d.id === id)) {
        problems.push({
          path: at(...path),
          message: `"\${input:${id}}" names no input; declare it in "inputs": [{ "id": "${id}" }]`,
        });
      }
    }
  }
  return declared;
}

function normalizeTools(tools: unknown): Record<string, ToolSetting> {
  const out: Record<string, ToolSetting> = {};
  if (!isRecord(tools)) return out;
  for (const [name, setting] of Object.entries(tools)) {
    out[name] = { enabled: !(isRecord(setting) && setting.enabled === false) };
  }
  return out;
}

/**
 * A stable fingerprint of the person-owned part of one server entry (already interpolated):
 * SHA-256 of canonical JSON. The gateway-owned `gatehouse` field and imported plaintext tokens
 * are left out, so writing credentials never looks like a configuration change.
 */
export function fingerprintEntry(entry: Raw): string {
  const personOwned: Raw = { ...entry };
  delete personOwned.gatehouse;
  if (isRecord(personOwned.oauth)) {
    const oauth: Raw = { ...personOwned.oauth };
    delete oauth.accessToken;
    delete oauth.refreshToken;
    personOwned.oauth = oauth;
  }
  return sha256Hex(canonicalJson(personOwned));
}

function normalizeGroups(
  raw: Raw,
  servers: Map<string, ServerConfig>,
  problems: SettingsProblem[],
): Map<string, GroupConfig> {
  const groups = new Map<string, GroupConfig>();
  // Object form `{ "<name>": { servers } }`, or MCPHub's array form `[{ name, servers }]`.
  const listed: { name: string; path: string[]; members: unknown[] }[] = Array.isArray(raw.groups)
    ? (raw.groups as Raw[]).map((g, i) => ({
        name: g.name as string,
        path: ['groups', String(i)],
        members: g.servers as unknown[],
      }))
    : Object.entries((raw.groups as Record<string, Raw> | undefined) ?? {}).map(([name, g]) => ({
        name,
        path: ['groups', name],
        members: g.servers as unknown[],
      }));
  for (const { name, path, members } of listed) {
    if (groups.has(name))
      problems.push({ path: formatPath(path, raw), message: `repeats the group name "${name}"` });
    if (servers.has(name)) {
      problems.push({
        path: formatPath(path, raw),
        message: `the group "${name}" has the same name as a server; rename one (both would be served at /mcp/${name})`,
      });
    }
    const names: string[] = [];
    members.forEach((member, i) => {
      const server = typeof member === 'string' ? member : ((member as Raw).name as string);
      if (!servers.has(server)) {
        problems.push({
          path: formatPath([...path, 'servers', String(i)], raw),
          message: `names no server "${server}"`,
        });
      } else if (!names.includes(server)) {
        names.push(server);
      }
    });
    groups.set(name, { name, servers: names });
  }
  return groups;
}

function normalizeSystem(system: Raw, problems: SettingsProblem[]): SystemConfig {
  const timeouts = {
    ...DEFAULT_TIMEOUTS,
    ...(isRecord(system.timeouts) ? system.timeouts : {}),
  } as SystemConfig['timeouts'];
  if (timeouts.initialBackoffMs > timeouts.maxBackoffMs) {
    problems.push({
      path: 'systemConfig.timeouts.initialBackoffMs',
      message: `must not be larger than maxBackoffMs (${timeouts.maxBackoffMs})`,
    });
  }
  const out: SystemConfig = {
    nameSeparator: typeof system.nameSeparator === 'string' ? system.nameSeparator : DEFAULT_NAME_SEPARATOR,
    timeouts: {
      connectMs: timeouts.connectMs,
      requestMs: timeouts.requestMs,
      initialBackoffMs: timeouts.initialBackoffMs,
      maxBackoffMs: timeouts.maxBackoffMs,
      oauthMs: timeouts.oauthMs,
    },
    connectConcurrency:
      typeof system.connectConcurrency === 'number' ? system.connectConcurrency : DEFAULT_CONNECT_CONCURRENCY,
    allowedPrivateHosts: (system.allowedPrivateHosts as string[] | undefined) ?? [],
    perUser: { ...DEFAULT_PER_USER, ...(isRecord(system.perUser) ? system.perUser : {}) } as PerUserConfig,
    store:
      isRecord(system.store) && system.store.type === 'redis'
        ? {
            type: 'redis',
            url: system.store.url as string,
            prefix: typeof system.store.prefix === 'string' ? system.store.prefix : 'gatehouse',
          }
        : { type: 'file' },
  };
  if (typeof system.baseUrl === 'string') out.baseUrl = system.baseUrl;
  if (isRecord(system.inboundAuth)) out.inboundAuth = normalizeInboundAuth(system.inboundAuth, problems);
  return out;
}

/** `systemConfig.inboundAuth` (already schema-valid) with its defaults. */
function normalizeInboundAuth(raw: Raw, problems: SettingsProblem[]): InboundAuthConfig {
  if (!isRecord(raw.oauth)) return {};
  const oauth = raw.oauth;
  if (oauth.enabled === true && typeof oauth.issuer === 'string') {
    problems.push({
      path: 'systemConfig.inboundAuth.oauth.issuer',
      message: 'choose one: enabled (Gatehouse signs tokens itself) or issuer (tokens of another server)',
    });
  }
  const login = oauth.login;
  const strings = (value: unknown) => (Array.isArray(value) ? (value as string[]) : []);
  const out: NonNullable<InboundAuthConfig['oauth']> = {
    enabled: oauth.enabled === true,
    login: isRecord(login)
      ? {
          type: 'oidc',
          issuer: login.issuer as string,
          clientId: login.clientId as string,
          ...(typeof login.clientSecret === 'string' ? { clientSecret: login.clientSecret } : {}),
          scopes: Array.isArray(login.scopes) ? strings(login.scopes) : ['openid', 'email', 'profile'],
          allowedUsers: strings(login.allowedUsers),
          allowedDomains: strings(login.allowedDomains).map((d) => d.toLowerCase().replace(/^@/, '')),
        }
      : { type: 'admin' },
    dynamicRegistration: oauth.dynamicRegistration !== false,
    accessTokenTtlSeconds:
      typeof oauth.accessTokenTtlSeconds === 'number' ? oauth.accessTokenTtlSeconds : 3600,
    refreshTokenTtlSeconds:
      typeof oauth.refreshTokenTtlSeconds === 'number' ? oauth.refreshTokenTtlSeconds : 14 * 24 * 3600,
  };
  if (typeof oauth.issuer === 'string') out.issuer = oauth.issuer.replace(/\/+$/, '');
  if (typeof oauth.audience === 'string') out.audience = oauth.audience;
  if (typeof oauth.initialAccessToken === 'string') out.initialAccessToken = oauth.initialAccessToken;
  return { oauth: out };
}
