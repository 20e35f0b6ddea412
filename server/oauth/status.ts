/** What the dashboard and the admin API may see of one upstream's OAuth state: never a secret. Pure. */
import type { ErrorCode } from '../errors.js';
import type { OAuthSettings } from '../settings/types.js';
import type { AuthStep } from './facts.js';
import type { EngineRecord } from './record.js';
import type { AuthEvent, AuthStage, StageKind } from './stage.js';
import { refreshDueAt } from './tokens.js';

export interface AuthStatus {
  stage: StageKind;
  /** Oldest first; each entry's `facts` is what that step learned (facts.ts). */
  log: AuthEvent[];
  client: { method: 'static' | 'cimd' | 'dynamic'; issuer: string | null } | null;
  token: {
    expiresAt: number | null;
    /** When a refresh becomes due (the next request after it refreshes); null without a refresh token or expiry. */
    nextRefreshAt: number | null;
    scopes: string[];
    lastRefreshAt: number | null;
    /** Refreshes that failed in a row for a passing reason (network, timeout, 5xx); tokens kept. */
    refreshFailures: number;
    lastRefreshError?: { at: number; code: ErrorCode; message: string };
  } | null;
  /** Who the tokens belong to, as the ID token or a JWT access token named them; read, not verified. */
  account?: { name: string };
  authorizationUrl?: string;
  /** The failure the stage shows, and the step of the flow it belongs to. */
  error?: { code: ErrorCode; message: string; step?: AuthStep };
}

export function buildStatus(input: {
  stage: AuthStage;
  log: AuthEvent[];
  record: EngineRecord;
  settings: OAuthSettings | undefined;
  refresh: { failures: number; lastError?: { at: number; code: ErrorCode; message: string } | undefined };
}): AuthStatus {
  const { stage, record, settings } = input;
  const metadata = record.server?.metadata;
  const issuer = metadata?.issuer ?? null;
  let client: AuthStatus['client'] = null;
  if (settings?.clientId) client = { method: 'static', issuer };
  else if (settings?.clientMetadataUrl && metadata?.client_id_metadata_document_supported === true) {
    client = { method: 'cimd', issuer };
  } else if (record.client) client = { method: 'dynamic', issuer: record.client.issuer };
  const tokens = record.tokens;
  return {
    stage: stage.kind,
    log: input.log,
    client,
    token: tokens
      ? {
          expiresAt: tokens.expiresAt,
          nextRefreshAt: tokens.refreshToken ? refreshDueAt(tokens) : null,
          scopes: [...tokens.scopes],
          lastRefreshAt: tokens.lastRefreshAt,
          refreshFailures: input.refresh.failures,
          ...(input.refresh.lastError ? { lastRefreshError: { ...input.refresh.lastError } } : {}),
        }
      : null,
    ...(tokens?.account ? { account: { name: tokens.account } } : {}),
    ...(stage.kind === 'awaiting_user' ? { authorizationUrl: stage.authorizationUrl } : {}),
    ...(stage.kind === 'failed'
      ? { error: { code: stage.code, message: stage.message, ...(stage.step ? { step: stage.step } : {}) } }
      : {}),
  };
}
