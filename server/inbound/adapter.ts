/**
 * The storage of Gatehouse's own authorization server: oidc-provider's adapter interface over the
 * gateway's StateStore (server/settings/state-store.ts), one collection per model, `oidc:<Model>`.
 *
 * Record ids are the SHA-256 of oidc-provider's ids: for opaque tokens, codes, sessions and
 * interactions the id IS the secret (the access token's value, the session cookie's value), and
 * the state file keeps ids in clear beside the encrypted records. The payload, which also names
 * the token (`jti`), is encrypted by the store.
 *
 * Lookups by uid, user code and grant id scan one collection: fine at a gateway's scale (a few
 * hundred grants); a shared store can index them behind the same interface.
 */
import { createHash } from 'node:crypto';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { StateStore } from '../settings/state-store.js';

/** The collection prefix of every oidc-provider model. */
export const OIDC_COLLECTION_PREFIX = 'oidc:';

/** Models whose records belong to a grant and go when it is revoked (as oidc-provider's memory adapter). */
export const GRANTABLE_MODELS = [
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
] as const;

/**
 * Models whose deletion may end the validity of an access token the verifier accepted before
 * (a revoked token, a refresh token revoked with its grant, a grant withdrawn).
 */
export const REVOKING_MODELS = new Set(['AccessToken', 'RefreshToken', 'Grant']);

/**
 * Consumed codes and rotated refresh tokens stay this long after their use (so oidc-provider sees
 * a replay and revokes the grant, OAuth 2.1 §4.3.1), unless they expire sooner.
 */
const KEEP_CONSUMED_MS = 3600_000;

/** The collection of one model. */
export function collectionOf(model: string): string {
  return `${OIDC_COLLECTION_PREFIX}${model}`;
}

/** The state store id of an oidc-provider id (see the module comment). */
export function recordId(id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('base64url');
}

/**
 * The `adapter` option of oidc-provider: one adapter per model name, all over `state`.
 * `now` is injected for expiry arithmetic only.
 */
export function stateAdapter(state: StateStore, now: () => number = Date.now): (model: string) => Adapter {
  return (model) => {
    const collection = collectionOf(model);
    const findWhere = async (match: (payload: AdapterPayload) => boolean) => {
      for (const entry of await state.list(collection)) {
        if (match(entry.value)) return entry.value as AdapterPayload;
      }
      return undefined;
    };
    return {
      async upsert(id, payload, expiresIn) {
        const expiresAt = expiresIn === undefined ? undefined : now() + expiresIn * 1000;
        await state.put(collection, recordId(id), payload, { expiresAt });
      },
      async find(id) {
        return (await state.get(collection, recordId(id))) as AdapterPayload | undefined;
      },
      findByUid: (uid) => findWhere((payload) => payload.uid === uid),
      findByUserCode: (userCode) => findWhere((payload) => payload.userCode === userCode),
      async consume(id) {
        const key = recordId(id);
        const entry = (await state.list(collection)).find((e) => e.id === key);
        if (!entry) return;
        const keepUntil = now() + KEEP_CONSUMED_MS;
        const expiresAt = entry.expiresAt === undefined ? keepUntil : Math.min(entry.expiresAt, keepUntil);
        await state.put(
          collection,
          key,
          { ...entry.value, consumed: Math.floor(now() / 1000) },
          { expiresAt },
        );
      },
      async destroy(id) {
        await state.delete(collection, recordId(id));
      },
      async revokeByGrantId(grantId) {
        for (const entry of await state.list(collection)) {
          if (entry.value.grantId === grantId) await state.delete(collection, entry.id);
        }
      },
    };
  };
}

/**
 * Deletes a grant and every token, code and request issued under it (what oidc-provider's
 * revocation does for a refresh token), for the admin's `DELETE /api/clients/:grantId`.
 */
export async function revokeGrantRecords(state: StateStore, grantId: string): Promise<void> {
  for (const model of GRANTABLE_MODELS) {
    const collection = collectionOf(model);
    for (const entry of await state.list(collection)) {
      if (entry.value.grantId === grantId) await state.delete(collection, entry.id);
    }
  }
  await state.delete(collectionOf('Grant'), recordId(grantId));
}
