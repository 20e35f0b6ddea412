/**
 * The one error table of Gatehouse. Every error that crosses a module boundary is a
 * `GatehouseError` with a stable `code`; the dashboard, the admin API and MCP error results show
 * that code. Callers branch on `code`, never on `message`.
 */

/**
 * Stable error codes, their HTTP status (for the admin API and the MCP endpoint's refusals), a
 * default human message and, where it is not -32603 (internal error), the JSON-RPC error code an MCP
 * client sees (`rpc`, JSON-RPC 2.0 §5.1). `rpcCodeOf` reads it.
 */
export const ERROR_TABLE = {
  // settings
  SETTINGS_UNREADABLE: { status: 500, message: 'The settings file cannot be read' },
  SETTINGS_INVALID_JSON: { status: 400, message: 'The settings file is not valid JSON' },
  SETTINGS_INVALID: { status: 400, message: 'The settings file does not match the schema' },
  SETTINGS_MISSING_ENV: { status: 400, message: 'A ${VAR} in the settings names an unset variable' },
  SETTINGS_WRITE_FAILED: { status: 500, message: 'The settings file could not be written' },
  SECRETS_KEY_INVALID: { status: 500, message: 'The encryption key for stored secrets is invalid' },
  SECRETS_DECRYPT_FAILED: { status: 500, message: 'A stored secret could not be decrypted' },

  // upstream connections
  UPSTREAM_DISABLED: { status: 409, message: 'The server is disabled' },
  UPSTREAM_CONNECTING: { status: 503, message: 'The server is still connecting' },
  UPSTREAM_CONNECT_FAILED: { status: 502, message: 'Could not connect to the server' },
  UPSTREAM_CLOSED: { status: 502, message: 'The connection to the server closed' },
  UPSTREAM_TIMEOUT: { status: 504, rpc: -32001, message: 'The server did not answer in time' },
  UPSTREAM_AUTH_REQUIRED: { status: 401, message: 'The server needs authorization' },
  UPSTREAM_HTTP_ERROR: { status: 502, message: 'The server answered with an HTTP error' },
  UPSTREAM_PROTOCOL_ERROR: { status: 502, message: 'The server broke the MCP protocol' },
  UPSTREAM_NOT_MCP: { status: 502, message: 'The URL does not look like an MCP endpoint' },
  UPSTREAM_SPAWN_FAILED: { status: 502, message: 'The server process could not be started' },

  // gateway
  SERVER_NOT_FOUND: { status: 404, rpc: -32602, message: 'No server or group has that name' },
  TOOL_NOT_FOUND: { status: 404, rpc: -32602, message: 'No tool has that name' },
  PROMPT_NOT_FOUND: { status: 404, rpc: -32602, message: 'No prompt has that name' },
  RESOURCE_NOT_FOUND: { status: 404, rpc: -32602, message: 'No server offers that resource' },
  TOOL_DISABLED: { status: 403, rpc: -32602, message: 'The tool is disabled in the settings' },
  // MCP spec (Streamable HTTP): 404 for an unknown or terminated session; -32001 as the SDK sends it.
  SESSION_NOT_FOUND: { status: 404, rpc: -32001, message: 'Session not found' },

  // the MCP endpoint's transport-level refusals (answered with `id: null`) and the admin API's
  BAD_REQUEST: { status: 400, message: 'The request is not valid' },
  MCP_PARSE_ERROR: { status: 400, rpc: -32700, message: 'Parse error: the body is not valid JSON-RPC' },
  MCP_MESSAGE_TOO_DEEP: {
    status: 400,
    rpc: -32600,
    message: 'Invalid Request: the message nests more than 64 levels deep',
  },
  MCP_INVALID_REQUEST: { status: 400, rpc: -32600, message: 'Invalid Request' },
  MCP_BAD_REQUEST: { status: 400, rpc: -32000, message: 'Bad Request' },
  MCP_NOT_ACCEPTABLE: { status: 406, rpc: -32000, message: 'Not Acceptable' },
  MCP_METHOD_NOT_ALLOWED: { status: 405, rpc: -32000, message: 'Method not allowed' },
  MCP_STREAM_CONFLICT: {
    status: 409,
    rpc: -32000,
    message: 'Conflict: Only one SSE stream is allowed per session',
  },
  MCP_BODY_TOO_LARGE: { status: 413, rpc: -32600, message: 'Invalid Request: the body is too large' },
  MCP_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    rpc: -32000,
    message: 'Unsupported Media Type: use application/json',
  },

  // inbound security
  ADMIN_UNAUTHORIZED: { status: 401, message: 'A valid admin token is required' },
  ADMIN_TOKEN_UNREADABLE: { status: 500, message: 'The admin token file cannot be read or created' },
  ORIGIN_REJECTED: { status: 403, rpc: -32000, message: 'Request origin or host is not allowed' },
  SSRF_BLOCKED: { status: 403, message: 'Outbound request to a private address was blocked' },

  // OAuth engine (client side, per upstream)
  OAUTH_DISCOVERY_FAILED: { status: 502, message: 'Authorization server discovery failed' },
  OAUTH_RESOURCE_MISMATCH: {
    status: 502,
    message: 'Protected resource metadata names a different resource',
  },
  OAUTH_ISSUER_MISMATCH: { status: 502, message: 'Authorization server metadata names a different issuer' },
  OAUTH_PKCE_UNSUPPORTED: { status: 502, message: 'The authorization server does not support PKCE S256' },
  OAUTH_NO_CLIENT: {
    status: 409,
    message: 'No OAuth client: the server offers no registration and none is configured',
  },
  OAUTH_REGISTRATION_FAILED: { status: 502, message: 'Dynamic client registration failed' },
  OAUTH_STATE_INVALID: { status: 400, message: 'Unknown, expired or reused authorization state' },
  OAUTH_CALLBACK_ERROR: { status: 400, message: 'The authorization server returned an error' },
  OAUTH_ISS_MISMATCH: { status: 400, message: 'The authorization response came from another issuer' },
  OAUTH_TOKEN_EXCHANGE_FAILED: { status: 502, message: 'Exchanging the authorization code failed' },
  OAUTH_REFRESH_FAILED: { status: 502, message: 'Refreshing the access token failed' },
  OAUTH_INVALID_GRANT: { status: 401, message: 'The refresh token was rejected; authorize again' },
  OAUTH_INSUFFICIENT_SCOPE: { status: 403, message: 'The server needs more scopes; authorize again' },
  OAUTH_STEP_UP_LIMIT: { status: 403, message: 'Scope step-up was tried too often' },
  OAUTH_INSECURE_ENDPOINT: { status: 502, message: 'Refusing plain HTTP to a non-loopback server' },
  OAUTH_PROTOCOL_ERROR: { status: 502, message: 'The authorization server sent an invalid response' },
  OAUTH_NOT_CONFIGURED: { status: 409, message: 'The server is not an OAuth server' },
  OAUTH_TIMEOUT: { status: 504, message: 'The authorization server did not answer in time' },
  OAUTH_CLIENT_REJECTED: {
    status: 401,
    message: "The token endpoint refused the client's own credentials; authorize again",
  },

  // issue 12, upstream facts: typed-in credentials and "Try it"
  UPSTREAM_CREDENTIALS_REQUIRED: {
    status: 401,
    message: 'The server needs credentials a person types in (its inputs)',
  },
  UPSTREAM_REQUEST_FAILED: { status: 502, message: 'The server answered the request with an error' },

  // issue 12, admin plane: editing the settings from the dashboard
  SETTINGS_CONFLICT: { status: 409, message: 'The settings file changed on disk; reload' },
  SERVER_EXISTS: { status: 409, message: 'A server or group already has that name' },

  // issue 13, inbound auth: Gatehouse's own clients, API keys, its authorization server
  STATE_UNREADABLE: { status: 500, message: 'The state file cannot be read' },
  STATE_WRITE_FAILED: { status: 500, message: 'The state file could not be written' },
  INBOUND_UNAUTHORIZED: { status: 401, rpc: -32001, message: 'A valid access token or API key is required' },
  INBOUND_INSUFFICIENT_SCOPE: {
    status: 403,
    rpc: -32001,
    message: 'The access token or API key does not cover this server',
  },
  INBOUND_SESSION_MISMATCH: {
    status: 403,
    rpc: -32001,
    message: 'This MCP session belongs to another principal',
  },
  INBOUND_AUTH_NOT_CONFIGURED: {
    status: 409,
    message: 'systemConfig.inboundAuth does not enable this way of signing in',
  },
  KEY_NOT_FOUND: { status: 404, message: 'No API key has that id' },
  SCOPE_INVALID: { status: 400, message: 'A scope names no server or group' },
  INBOUND_LOGIN_REFUSED: { status: 403, message: 'This account may not sign in to Gatehouse' },
  RATE_LIMITED: { status: 429, message: 'Too many requests; try again later' },
  INBOUND_GRANT_NOT_FOUND: { status: 404, message: 'No authorized client has that grant id' },
  ADMIN_REQUIRED: { status: 403, message: 'This needs the Gatehouse administrator' },

  // issue 14, per-user credentials: a person's own connections ("My servers")
  SERVER_NOT_PER_USER: {
    status: 409,
    message: "The server's credentials are shared: the administrator connects it, not each person",
  },

  // issue 14, per-user credentials: a person's connections and their browser binding (lead)
  PER_USER_LIMIT: {
    status: 503,
    message: 'Every per-person connection is busy (systemConfig.perUser.maxConnections); try again shortly',
  },
  OAUTH_BROWSER_MISMATCH: {
    status: 403,
    message:
      'This authorization was started for another person, or in another browser: open the link you were given in your own signed-in browser',
  },
  SERVER_PER_USER: {
    status: 409,
    message: "The server uses each person's own credentials: each person connects it under My servers",
  },
  AUTHORIZATION_DECLINED: { status: 403, message: 'The person declined to authorize the server' },

  // issue 15, scale-out: health and shutdown, the shared store
  STORE_UNAVAILABLE: { status: 503, message: 'The shared store (Redis) cannot be reached now; try again' },
  LOCK_TIMEOUT: { status: 503, message: 'A shared lock stayed taken too long; try again' },
  CREDENTIAL_STALE: {
    status: 409,
    message: 'A newer credential was written meanwhile (another replica); this older one was not',
  },
  SHUTTING_DOWN: {
    status: 503,
    rpc: -32000,
    message: 'Gatehouse is shutting down; try again (another replica)',
  },

  INTERNAL: { status: 500, message: 'Internal error' },
} as const satisfies Record<string, { status: number; message: string; rpc?: number }>;

export type ErrorCode = keyof typeof ERROR_TABLE;

/** An error with a stable code. `message` is for people; `code` is for programs. */
export class GatehouseError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Extra, secret-free facts for the dashboard and logs (a settings path, a server name). */
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: ErrorCode,
    message?: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message ?? ERROR_TABLE[code].message, { cause: options.cause });
    this.name = 'GatehouseError';
    this.code = code;
    this.status = ERROR_TABLE[code].status;
    this.details = options.details;
  }

  /** What the admin API and the dashboard may show: no cause chain, no stack. */
  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

export function isGatehouseError(value: unknown, code?: ErrorCode): value is GatehouseError {
  return value instanceof GatehouseError && (code === undefined || value.code === code);
}

/** Wraps an unknown thrown value as a GatehouseError, keeping an existing one as it is. */
export function toGatehouseError(value: unknown, fallback: ErrorCode = 'INTERNAL'): GatehouseError {
  if (value instanceof GatehouseError) return value;
  const message = value instanceof Error ? value.message : String(value);
  return new GatehouseError(fallback, message, { cause: value });
}

/** The JSON-RPC error code an MCP client sees for a Gatehouse code: the table's `rpc`, else -32603. */
export function rpcCodeOf(code: ErrorCode): number {
  const entry: { status: number; rpc?: number } = ERROR_TABLE[code];
  return entry.rpc ?? -32603;
}
