/** What the dashboard and the admin API may see of one upstream's OAuth state: never a secret. Pure. */
import type { ErrorCode } from '../errors.js';
import type { OAuthSettings } from '../settings/types.js';
import type { EngineRecord } from './record.js';
import type { AuthEvent, AuthStage, StageKind } from './stage.js';

export interface AuthStatus {
  stage: StageKind;
  log: AuthEvent[];
  client: { method: 'static' | 'cimd' | 'dynamic'; issuer: string | null } | null;
  token: { expiresAt: number | null; scopes: string[]; lastRefreshAt: number | null } | null;
  authorizationUrl?: string;
  error?: { code: ErrorCode; message: string };
}

export function buildStatus(input: {
  stage: AuthStage;
  log: AuthEvent[];
  record: EngineRecord;
  settings: OAuthSettings | undefined;
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
      ? { expiresAt: tokens.expiresAt, scopes: [...tokens.scopes], lastRefreshAt: tokens.lastRefreshAt }
      : null,
    ...(stage.kind === 'awaiting_user' ? { authorizationUrl: stage.authorizationUrl } : {}),
    ...(stage.kind === 'failed' ? { error: { code: stage.code, message: stage.message } } : {}),
  };
}
