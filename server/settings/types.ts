/**
 * Typed settings, produced once by `loadSettings` (parse → interpolate `${VAR}` → validate with the
 * shipped JSON Schema → normalize) and passed down. Nothing below this reads `process.env`.
 */
import type { ErrorCode } from '../errors.js';

/** Per-tool switches: `"tools": { "<name>": { "enabled": false } }`. */
export interface ToolSetting {
  enabled: boolean;
}

/** The user's `oauth` block (all optional). Values here are the person's, never the gateway's. */
export interface OAuthSettings {
  clientId?: string;
  clientSecret?: string;
  scopes?: string[];
  resource?: string;
  authorizationEndpoint?: string;
  tokenEndpoint?: string;
  redirectUri?: string;
  /** Client ID Metadata Document URL (CIMD). */
  clientMetadataUrl?: string;
  dynamicRegistration?: {
    enabled?: boolean;
    issuer?: string;
    metadata?: Record<string, unknown>;
    initialAccessToken?: string;
  };
  /** MCPHub-style plaintext tokens; read once, then rewritten encrypted and removed. */
  accessToken?: string;
  refreshToken?: string;
}

/**
 * A value a person types in (VS Code's `mcp.json` `inputs`), referenced as `${input:<id>}` in the
 * entry's `url`, `headers` values or `env` values. The value itself is never in the settings.
 */
export interface InputDeclaration {
  id: string;
  description?: string;
  /** A secret: forms hide what is typed. */
  password: boolean;
}

/** Whose credentials reach a server: one set for everyone, or each person's own. */
export type CredentialsMode = 'shared' | 'perUser';

interface ServerBase {
  name: string;
  enabled: boolean;
  /** `perUser`: each caller's own OAuth tokens and typed-in inputs (one connection per person). */
  credentials: CredentialsMode;
  /** Declared inputs, ids unique; empty when the entry has none. */
  inputs: InputDeclaration[];
  /**
   * Part of the entry could not be used (a stored secret that does not decrypt): the server does
   * not connect and shows this error; the other servers are not affected.
   */
  problem?: { code: ErrorCode; message: string; path: string };
  tools: Record<string, ToolSetting>;
  /**
   * A stable fingerprint of the person-owned part of this entry (after interpolation). Two
   * configs with the same fingerprint need no reconnect. Gateway-owned fields are excluded.
   */
  fingerprint: string;
}

export interface StdioServerConfig extends ServerBase {
  type: 'stdio';
  command: string;
  args: string[];
  /** Only these (plus PATH and HOME) reach the child. */
  env: Record<string, string>;
  /** Absolute; relative paths in the file are resolved against the settings file's folder. */
  cwd: string;
}

export interface HttpServerConfig extends ServerBase {
  /** `auto`: a bare `url`: try Streamable HTTP, fall back to SSE (MCP spec, backwards compatibility). */
  type: 'streamable-http' | 'sse' | 'auto';
  url: string;
  headers: Record<string, string>;
  oauth?: OAuthSettings;
}

export type ServerConfig = StdioServerConfig | HttpServerConfig;

export interface GroupConfig {
  name: string;
  servers: string[];
}

export interface Timeouts {
  /** Connect + initialize of one upstream. */
  connectMs: number;
  /** One request to an upstream (tools/call, resources/read, …). */
  requestMs: number;
  /** Cap of the exponential reconnect backoff. */
  maxBackoffMs: number;
  /** First reconnect delay. */
  initialBackoffMs: number;
  /** One request to an authorization server, its answer included. */
  oauthMs: number;
}

export interface SystemConfig {
  baseUrl?: string;
  nameSeparator: string;
  timeouts: Timeouts;
  /** How many upstreams connect at once at start-up. */
  connectConcurrency: number;
  /** Hosts the SSRF guard lets through although they are private/loopback. */
  allowedPrivateHosts: string[];
  /** Per-person connections of `credentials: "perUser"` servers. */
  perUser: PerUserConfig;
  /** Where the state replicas share lives (read at start-up). */
  store: StoreConfig;
  /** Present: every MCP request needs a credential and any bind address is allowed. */
  inboundAuth?: InboundAuthConfig;
}

/** `systemConfig.store`: the file store (one process), or Redis shared by several replicas. */
export type StoreConfig = { type: 'file' } | { type: 'redis'; url: string; prefix: string };

/** `systemConfig.perUser`, defaults filled in. */
export interface PerUserConfig {
  /** A person's connection with no call for this long is closed. */
  idleMs: number;
  /** Per-person connections running at once, over all servers. */
  maxConnections: number;
}

export const DEFAULT_PER_USER: PerUserConfig = { idleMs: 15 * 60 * 1000, maxConnections: 100 };

/** How people sign in at Gatehouse's own authorization server. */
export type InboundLogin =
  | { type: 'admin' }
  | {
      type: 'oidc';
      issuer: string;
      clientId: string;
      clientSecret?: string;
      scopes: string[];
      allowedUsers: string[];
      allowedDomains: string[];
    };

/** `systemConfig.inboundAuth`, defaults filled in. */
export interface InboundAuthConfig {
  oauth?: {
    /** Gatehouse's own authorization server. */
    enabled: boolean;
    /** An external issuer whose JWT access tokens are accepted (instead of the own server). */
    issuer?: string;
    /** With `issuer`: the audience tokens must carry (default: the /mcp URL). */
    audience?: string;
    login: InboundLogin;
    dynamicRegistration: boolean;
    initialAccessToken?: string;
    accessTokenTtlSeconds: number;
    refreshTokenTtlSeconds: number;
  };
}

export interface Settings {
  servers: Map<string, ServerConfig>;
  groups: Map<string, GroupConfig>;
  system: SystemConfig;
}

export const DEFAULT_TIMEOUTS: Timeouts = {
  connectMs: 30_000,
  requestMs: 60_000,
  maxBackoffMs: 60_000,
  initialBackoffMs: 1_000,
  oauthMs: 10_000,
};
