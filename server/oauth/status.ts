/** What the dashboard and the admin API may see of one upstream's OAuth state: never a secret. Pure. */
import type { ErrorCode } from '../errors.js';
import type { OAuthSettings } from '../settings/types.js';
import type { EngineRecord } from './record.js';
import type { AuthEvent, AuthStage, StageKind } from './stage.js';

export interface AuthStatus {
  stage: StageKind;
  log: AuthEvent[];
  client: { method: 'static' | 'cimd' | 'dynamic'; issuer: string | null } | null;
  token: {
    expiresAt: number | null;
    scopes: string[];
    lastRefreshAt: number | null;
    /** Refreshes that failed in a row for a passing reason (network, timeout, 5xx); tokens kept. */
    refreshFailures: number;
    lastRefreshError?: { at: number; code: ErrorCode; message: string };
  } | null;
  authorizationUrl?: string;
  error?: { code: ErrorCode; message: string };
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
          scopes: [...tokens.scopes],
          lastRefreshAt: tokens.lastRefreshAt,
          refreshFailures: input.refresh.failures,
          ...(input.refresh.lastError ? { lastRefreshError: { ...input.refresh.lastError } } : {}),
        }
      : null,
    ...(stage.kind === 'awaiting_user' ? { authorizationUrl: stage.authorizationUrl } : {}),
    ...(stage.kind === 'failed' ? { error: { code: stage.code, message: stage.message } } : {}),
  };
}
