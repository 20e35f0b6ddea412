/**
 * What the admin API shows of one server: the summary (`GET /api/servers`, the event stream) and
 * the detail (`GET /api/servers/:name`), with words for people beside the raw states. Pure
 * projections of the connection, the catalog and the OAuth status; never a secret.
 */
import type { Tool } from '@modelcontextprotocol/sdk/types.js';

import type { Catalog } from '../gateway/catalog.js';
import type { AuthStatus } from '../oauth/engine.js';
import type { StageKind } from '../oauth/stage.js';
import { redactEntry } from '../settings/form-secrets.js';
import { entryVersion } from '../settings/gateway-fields.js';
import type { CredentialsMode } from '../settings/types.js';
import type { UpstreamView } from '../upstream/per-user.js';
import { referencedInputs } from '../upstream/inputs.js';
import type { ConnectionState } from '../upstream/state.js';
import { listProblems } from '../upstream/lists.js';

/** What a server is waiting for a person to do. */
export type AuthNeeds = 'sign-in' | 'credentials';

/** The server's state in words (api-12.md, "Words for people"); `status` keeps the raw one. */
export type ServerLabel =
  'Connected' | 'Connecting…' | 'Needs sign-in' | 'Needs credentials' | 'Signing in…' | 'Disabled' | 'Error';

/** The auth stage in words; `stage` keeps the raw one. */
export type AuthLabel =
  | 'No sign-in needed'
  | 'Signing in…'
  | 'Needs sign-in'
  | 'Needs credentials'
  | 'Signed in'
  | 'Sign-in failed';

/** The auth part of a summary: where it stands, and what (if anything) a person must do. */
export interface AuthSummary {
  stage: StageKind;
  needs?: AuthNeeds;
  label: AuthLabel;
}

/** One server as `GET /api/servers` shows it. Never carries secrets. */
export interface ServerStatus {
  name: string;
  type: string;
  enabled: boolean;
  /** Whose credentials reach the server: the one set of everyone, or each person's own. */
  credentials: CredentialsMode;
  /** Per-user servers: people with credentials stored, and their connections running now (counts only). */
  people?: { people: number; connected: number };
  status: UpstreamView['state']['status'];
  label: ServerLabel;
  error?: { code: string; message: string };
  nextRetryAt?: number | null;
  connectedSince?: number;
  tools: Array<{ name: string; exposedName: string; description?: string; enabled: boolean }>;
  /** Entries the upstream listed that are not valid MCP and were left out, with the reason. */
  listProblems?: string[];
  /** HTTP upstreams, and servers waiting for typed-in credentials. The detail adds the full OAuth status. */
  auth?: AuthSummary;
  /** Servers that declare `inputs`: the ones it uses that have no value yet (once known). */
  inputs?: { missing: string[] };
}

/** One server as `GET /api/servers/:name` shows it: the summary and everything about it. */
export interface ServerDetail extends Omit<ServerStatus, 'tools' | 'auth' | 'inputs'> {
  tools: Array<ServerStatus['tools'][number] & { inputSchema: Tool['inputSchema'] }>;
  auth?: AuthSummary & Partial<AuthStatus>;
  /** The declared inputs, and whether each has a value; never a value. */
  inputs?: Array<{ id: string; description?: string; password: boolean; set: boolean }>;
  /** A stdio program's recent stderr lines. */
  stderr?: string[];
  /** The settings entry as the person wrote it, every secret as `{ secret: true, set }`. */
  entry?: Record<string, unknown>;
  /** An opaque version of that entry: the edit form sends it back (409 when it changed meanwhile). */
  version?: string;
}

/** Auth stages in which the gateway is busy signing in, with no person to wait for. */
const SIGNING_IN: ReadonlySet<StageKind> = new Set([
  'discovering',
  'registering',
  'exchanging',
  'refreshing',
]);

/**
 * What a person must do before the server can connect: set its credentials (a missing input), or
 * sign in (an authorization is waiting, or the server refused without one). Pure.
 */
export function authNeeds(
  state: ConnectionState,
  stage: StageKind | undefined,
  credentialsMissing = false,
): AuthNeeds | undefined {
  if (credentialsMissing) return 'credentials';
  if (state.status === 'auth_required' && state.error.code === 'UPSTREAM_CREDENTIALS_REQUIRED')
    return 'credentials';
  if (stage === 'awaiting_user' || (stage !== undefined && state.status === 'auth_required'))
    return 'sign-in';
  return undefined;
}

/** The server's state in words; the raw status and code stay beside it for the tooltip. Pure. */
export function serverLabel(
  state: ConnectionState,
  auth?: { stage: StageKind; needs?: AuthNeeds | undefined },
): ServerLabel {
  switch (state.status) {
    case 'disabled':
      return 'Disabled';
    case 'connected':
      return 'Connected';
    case 'error':
      return 'Error';
    case 'connecting':
    case 'auth_required':
      if (auth?.needs === 'credentials') return 'Needs credentials';
      if (auth && SIGNING_IN.has(auth.stage)) return 'Signing in…';
      return state.status === 'connecting' ? 'Connecting…' : 'Needs sign-in';
    default: {
      const unreachable: never = state;
      return unreachable;
    }
  }
}

/**
 * The auth stage in words. `unauthenticated` means the server never asked for authorization (or
 * its tokens were forgotten and it has not asked again): "No sign-in needed". Pure.
 */
export function authLabel(stage: StageKind, needs?: AuthNeeds): AuthLabel {
  if (needs === 'credentials') return 'Needs credentials';
  switch (stage) {
    case 'unauthenticated':
      return 'No sign-in needed';
    case 'discovering':
    case 'registering':
    case 'exchanging':
    case 'refreshing':
      return 'Signing in…';
    case 'awaiting_user':
      return 'Needs sign-in';
    case 'authorized':
      return 'Signed in';
    case 'failed':
      return 'Sign-in failed';
    default: {
      const unreachable: never = stage;
      return unreachable;
    }
  }
}

/** Pure projection of a connection's state onto the summary's shape. */
export function serverStatus(connection: UpstreamView, catalog: Catalog, auth?: AuthStatus): ServerStatus {
  const state = connection.state;
  const config = connection.config;
  const exposed = new Map(
    catalog
      .toolsOf(connection.name)
      .map(({ exposed: exposedName, tool }) => [tool.name, exposedName] as const),
  );
  const missing = missingInputs(connection);
  const summary = authSummary(state, auth, credentialsNeeded(connection, auth, missing));
  const status: ServerStatus = {
    name: connection.name,
    type: connection.transportKind,
    enabled: config.enabled,
    credentials: config.credentials,
    status: state.status,
    label: serverLabel(state, summary),
    tools: connection.lists.tools.map((tool) => ({
      name: tool.name,
      exposedName: exposed.get(tool.name) ?? tool.name,
      ...(tool.description ? { description: tool.description } : {}),
      enabled: config.tools[tool.name]?.enabled ?? true,
    })),
  };
  const problems = listProblems(connection.lists);
  if (problems.length > 0) status.listProblems = problems;
  if (state.status === 'error') {
    status.error = state.error;
    status.nextRetryAt = state.nextRetryAt;
  }
  if (state.status === 'auth_required') status.error = state.error;
  if (state.status === 'connected') status.connectedSince = state.since;
  if (summary) status.auth = summary;
  if (missing) status.inputs = { missing };
  return status;
}

/**
 * Pure projection of everything the detail view shows: the summary, the full OAuth status (log with
 * facts, token health, account, error with its step), each tool's input schema, the declared
 * inputs (set or not), a stdio program's recent stderr, and `rawEntry` (the entry as written,
 * uninterpolated) redacted, with its version.
 */
export function serverDetail(
  connection: UpstreamView,
  catalog: Catalog,
  auth?: AuthStatus,
  rawEntry?: Record<string, unknown>,
): ServerDetail {
  const { inputs: _missing, ...summary } = serverStatus(connection, catalog, auth);
  const schemas = new Map(connection.lists.tools.map((tool) => [tool.name, tool.inputSchema] as const));
  const detail: ServerDetail = {
    ...summary,
    tools: summary.tools.map((tool) => ({
      ...tool,
      inputSchema: schemas.get(tool.name) ?? { type: 'object' },
    })),
    auth: summary.auth && auth ? { ...auth, ...summary.auth } : summary.auth,
  };
  if (detail.auth === undefined) delete detail.auth;
  const declared = connection.config.inputs;
  if (declared.length > 0) {
    const set = connection.inputsSet;
    detail.inputs = declared.map((input) => ({
      id: input.id,
      ...(input.description !== undefined ? { description: input.description } : {}),
      password: input.password,
      set: set?.has(input.id) ?? false,
    }));
  }
  if (connection.config.type === 'stdio') detail.stderr = connection.stderr.lines();
  if (rawEntry) {
    detail.entry = redactEntry(rawEntry);
    detail.version = entryVersion(rawEntry);
  }
  return detail;
}

/** The inputs a server uses that have no value, once its stored values were read. */
function missingInputs(connection: UpstreamView): string[] | undefined {
  const set = connection.inputsSet;
  if (connection.config.inputs.length === 0 || set === undefined) return undefined;
  return referencedInputs(connection.config).filter((id) => !set.has(id));
}

/**
 * Whether the server waits for typed-in credentials: some are missing, or a server that signs in
 * with nothing but them (no OAuth engine) was refused: they are wrong.
 */
function credentialsNeeded(
  connection: UpstreamView,
  auth: AuthStatus | undefined,
  missing: string[] | undefined,
): boolean {
  return (
    (missing?.length ?? 0) > 0 ||
    (auth === undefined && connection.config.inputs.length > 0 && connection.state.status === 'auth_required')
  );
}

function authSummary(
  state: ConnectionState,
  auth: AuthStatus | undefined,
  credentials: boolean,
): AuthSummary | undefined {
  const needs = authNeeds(state, auth?.stage, credentials);
  // Waiting for a person to type credentials in is the `awaiting_user` stage, OAuth or not.
  const stage = needs === 'credentials' ? 'awaiting_user' : auth?.stage;
  if (stage === undefined) return undefined;
  return { stage, ...(needs ? { needs } : {}), label: authLabel(stage, needs) };
}
