/**
 * Start-up and shut-down steps of an upstream's OAuth state: importing plaintext tokens from the
 * settings, registering at start-up, and disconnecting (revoke, then forget).
 */
import { createHash } from 'node:crypto';

import { isGatehouseError, toGatehouseError, type ErrorCode } from '../errors.js';
import { bindingFacts, type AuthStep } from './facts.js';
import { ensureBinding, ensureClient, type FlowContext } from './flow.js';
import type { StoredTokens } from './record.js';
import { existingClient } from './registration.js';
import { canonicalResource } from './resource.js';
import { revokeToken } from './tokens.js';

/**
 * MCPHub-style plaintext `accessToken`/`refreshToken` in the settings: stored once (the store
 * encrypts), recognised afterwards by a hash so a rotated token is never replaced by the old one.
 * Returns whether tokens were imported.
 */
export async function importPlaintextTokens(ctx: FlowContext): Promise<boolean> {
  const access = ctx.settings?.accessToken;
  const refresh = ctx.settings?.refreshToken;
  if (!access && !refresh) return false;
  const fingerprint = createHash('sha256')
    .update(`${access ?? ''}\n${refresh ?? ''}`)
    .digest('hex');
  const { result, record } = await ctx.repo.update((rec) => {
    if (rec.imported === fingerprint) return { result: false };
    const now = ctx.now();
    const tokens: StoredTokens = {
      accessToken: access ?? '',
      ...(refresh ? { refreshToken: refresh } : {}),
      // Without an access token, expire at once so the first request refreshes.
      expiresAt: access ? null : now,
      issuedAt: now,
      scopes: [...(ctx.settings?.scopes ?? [])],
      lastRefreshAt: null,
      issuer: null,
      resource: ctx.settings?.resource ?? canonicalResource(ctx.serverUrl),
      generation: rec.generation + 1,
    };
    return { next: { ...rec, tokens, imported: fingerprint }, result: true };
  });
  ctx.adopt(record);
  return result;
}

/**
 * With `dynamicRegistration.enabled` and an `issuer`, discover and register before any 401
 * (MCPHub's documented behaviour). A failure shows in the stage; it does not throw.
 */
export async function registerAtStartUp(ctx: FlowContext): Promise<void> {
  const registration = ctx.settings?.dynamicRegistration;
  if (!registration?.enabled || !registration.issuer || ctx.settings?.clientId) return;
  let step: AuthStep = 'discovery';
  try {
    const binding = await ensureBinding(ctx, true);
    step = 'registration';
    const client = await ensureClient(ctx, binding);
    ctx.apply({ type: 'ready' }, { ...bindingFacts(binding), registration: client.method });
  } catch (err) {
    const error = toGatehouseError(err, 'OAUTH_REGISTRATION_FAILED');
    ctx.apply({ type: 'fail', code: error.code, message: error.message, step });
  }
}

/**
 * RFC 7009 revocation when the server has a `revocation_endpoint` (a failure is logged, not
 * thrown), then the tokens and pending authorizations are forgotten; the client stays registered.
 */
export async function revokeAndForget(ctx: FlowContext): Promise<void> {
  const { tokens, server, client: stored } = ctx.record();
  const metadata = server?.metadata;
  const client = metadata && existingClient({ settings: ctx.settings, metadata, stored });
  if (tokens && metadata?.revocation_endpoint && client) {
    // RFC 7009 §2.1: revoking the refresh token SHOULD also invalidate its access tokens.
    const [token, hint] = tokens.refreshToken
      ? [tokens.refreshToken, 'refresh_token' as const]
      : [tokens.accessToken, 'access_token' as const];
    await revokeToken({ http: ctx.http, metadata, client, token, hint }).catch((err: unknown) => {
      const code: ErrorCode = isGatehouseError(err) ? err.code : 'INTERNAL';
      ctx.logger.warn({ code }, 'token revocation failed; forgetting the tokens anyway');
    });
  }
  const { record } = await ctx.repo.update((rec) => {
    const { tokens: _dropped, ...rest } = rec;
    return { next: { ...rest, pending: [] }, result: undefined };
  });
  ctx.adopt(record);
  ctx.apply({ type: 'disconnect' });
}
