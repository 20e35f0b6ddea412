/**
 * Checks the access tokens of Gatehouse's own authorization server on every MCP request. Tokens
 * are opaque: each one is looked up in the store, so a revoked token (its record gone) fails at
 * once, and the authenticator's cache is dropped through `onRevoke` whenever a token, refresh
 * token or grant record is deleted (the state store's change feed: this process's revocations and,
 * on a shared store, another replica's).
 */
import { parseScopes, type Principal, type TokenVerifier } from '../security/principal.js';
import type { StateStore } from '../settings/state-store.js';
import type { Settings } from '../settings/types.js';
import { OIDC_COLLECTION_PREFIX, REVOKING_MODELS } from './adapter.js';
import type { OidcProvider } from './oidc-types.js';
import { isGatehouseResource } from './resources.js';

export interface OwnTokenVerifierOptions {
  provider: () => Promise<OidcProvider>;
  state: StateStore;
  baseUrl: () => string;
  settings: () => Settings;
}

/** The verifier of the own authorization server's tokens; `close` stops following the store. */
export class OwnTokenVerifier implements TokenVerifier {
  readonly #opts: OwnTokenVerifierOptions;
  readonly #listeners = new Set<() => void>();
  readonly #unsubscribe: () => void;

  constructor(opts: OwnTokenVerifierOptions) {
    this.#opts = opts;
    this.#unsubscribe = opts.state.onChange((change) => {
      if (!change.deleted || !change.collection.startsWith(OIDC_COLLECTION_PREFIX)) return;
      if (!REVOKING_MODELS.has(change.collection.slice(OIDC_COLLECTION_PREFIX.length))) return;
      for (const listener of this.#listeners) listener();
    });
  }

  async verify(token: string): Promise<Principal | undefined> {
    let found;
    try {
      const provider = await this.#opts.provider();
      found = await provider.AccessToken.find(token);
    } catch {
      // A malformed value, or a record that no longer parses: not a token of ours.
      return undefined;
    }
    if (!found || found.isExpired) return undefined;
    // RFC 8707 / RFC 9068 §4: the token must be meant for Gatehouse's MCP endpoints.
    const audiences = Array.isArray(found.aud) ? found.aud : [found.aud];
    const base = this.#opts.baseUrl();
    const settings = this.#opts.settings();
    if (audiences.length === 0 || !audiences.every((aud) => isGatehouseResource(aud, base, settings))) {
      return undefined;
    }
    return {
      kind: 'token',
      subject: found.accountId,
      grants: parseScopes(found.scope),
      clientId: found.clientId,
      expiresAt: found.exp * 1000,
    };
  }

  onRevoke(listener: () => void): void {
    this.#listeners.add(listener);
  }

  close(): void {
    this.#unsubscribe();
    this.#listeners.clear();
  }
}
