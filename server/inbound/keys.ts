/**
 * The authorization server's own secrets: the key that signs ID tokens (published at its JWKS
 * endpoint) and the keys that sign its cookies. Generated once and kept in the state store
 * (collection `oidc:keys`, encrypted like every record), so that a restart, or another replica on
 * a shared store, keeps sessions and tokens valid.
 */
import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { isGatehouseError } from '../errors.js';
import type { StateStore } from '../settings/state-store.js';

const KEYS_COLLECTION = 'oidc:keys';
const KEYS_ID = 'provider';

export interface ProviderKeys {
  /** The private signing key (RS256), with `kid`, `alg` and `use`. */
  signing: JWK;
  /** Cookie signing keys (newest first, as oidc-provider's `cookies.keys` expects). */
  cookies: string[];
}

/** Reads the keys, or creates and stores them on first use. */
export async function loadProviderKeys(state: StateStore): Promise<ProviderKeys> {
  const stored = await state.get(KEYS_COLLECTION, KEYS_ID);
  if (stored && isKeys(stored)) return { signing: stored.signing, cookies: stored.cookies };
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const signing: JWK = {
    ...(await exportJWK(privateKey)),
    kid: randomBytes(8).toString('base64url'),
    alg: 'RS256',
    use: 'sig',
  };
  const keys: ProviderKeys = { signing, cookies: [randomBytes(32).toString('base64url')] };
  try {
    // Fenced at 1: of replicas starting together on an empty store, the first write wins and the
    // others take its keys, so every replica signs and verifies with the same ones.
    await state.put(KEYS_COLLECTION, KEYS_ID, { signing: keys.signing, cookies: keys.cookies }, { fence: 1 });
  } catch (error) {
    if (!isGatehouseError(error, 'CREDENTIAL_STALE')) throw error;
    const first = await state.get(KEYS_COLLECTION, KEYS_ID);
    if (first && isKeys(first)) return { signing: first.signing, cookies: first.cookies };
    throw error;
  }
  return keys;
}

function isKeys(value: Record<string, unknown>): value is { signing: JWK; cookies: string[] } {
  return (
    typeof value.signing === 'object' &&
    value.signing !== null &&
    Array.isArray(value.cookies) &&
    value.cookies.length > 0 &&
    value.cookies.every((key) => typeof key === 'string')
  );
}
