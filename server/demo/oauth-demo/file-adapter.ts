/**
 * An oidc-provider adapter over the demo's state file: every model (Client, Grant, Session,
 * AuthorizationCode, RefreshToken, Interaction…) keeps its records there, and every change is
 * written before oidc-provider continues, so what the browser or the gateway got is on disk.
 * Lookups scan the records: fine for the handful a demo holds, not for a real deployment.
 */
import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { StateFile } from './state-file.js';

/** Models whose records belong to a grant and go when it is revoked (as in oidc-provider's memory adapter). */
const GRANTABLE = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
]);

/**
 * Consumed codes and rotated refresh tokens are kept this long, so that oidc-provider sees a
 * replay and revokes the grant, then dropped so that the file does not grow with every refresh.
 * A replay after that finds nothing and fails as an unknown token.
 */
const KEEP_CONSUMED_SECONDS = 3600;

/** The `adapter` option of oidc-provider: one adapter per model name, all over `state`. */
export function fileAdapter(state: StateFile, now: () => number = Date.now): (model: string) => Adapter {
  const epoch = () => Math.floor(now() / 1000);
  return (model) => ({
    async upsert(id, payload, expiresIn) {
      state.put(model, id, payload, expiresIn);
      await state.save();
    },
    async find(id) {
      return state.find(model, id);
    },
    async findByUid(uid) {
      return state.findWhere(model, (p) => p.uid === uid);
    },
    async findByUserCode(userCode) {
      return state.findWhere(model, (p) => p.userCode === userCode);
    },
    async consume(id) {
      const consumed = epoch();
      state.update(model, id, (p) => ({ ...p, consumed }));
      state.removeWhere(
        (_m, p: AdapterPayload) =>
          typeof p.consumed === 'number' && p.consumed < consumed - KEEP_CONSUMED_SECONDS,
      );
      await state.save();
    },
    async destroy(id) {
      state.remove(model, id);
      await state.save();
    },
    async revokeByGrantId(grantId) {
      state.removeWhere((m, p) => GRANTABLE.has(m) && p.grantId === grantId);
      await state.save();
    },
  });
}
