/**
 * Who is calling /mcp (DESIGN.md, "Inbound identity"): the `Authorization` header of one request
 * → a Principal, or a refusal to answer with 401/429.
 *
 * Order: the admin token (an all-access key), an API key (`gh_…`), then the token verifiers
 * (Gatehouse's own authorization server, an external issuer). What a verifier accepted is cached
 * until the token expires or for a minute at most, and the whole cache is dropped when a verifier
 * reports a revocation, so the hot path is one Map lookup and revocation still takes effect at once.
 * Failed attempts are rate-limited per client address.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isApiKeyFormat, type ApiKeyStore } from './api-keys.js';
import { ALL_GRANTS, type Principal, type TokenVerifier } from './principal.js';
import type { RateLimiter } from './rate-limit.js';

const CACHE_MS = 60_000;
const CACHE_MAX = 10_000;

export type AuthVerdict =
  | { ok: true; principal: Principal }
  /** `invalid`: a credential was presented and refused (RFC 6750 `error="invalid_token"`). */
  | { ok: false; reason: 'missing' | 'invalid' }
  | { ok: false; reason: 'rate_limited'; retryAfterSeconds: number };

export interface InboundAuthenticatorOptions {
  adminToken: string;
  keys: ApiKeyStore;
  /** The token verifiers in force (they follow the settings). */
  verifiers: () => readonly TokenVerifier[];
  /** Whether a request without a credential is refused (inboundAuth configured). */
  required: () => boolean;
  /** Failed authentications per client address. */
  failures: RateLimiter;
  now?: () => number;
}

/** The principal of a request without a credential on the open loopback endpoint. */
export const LOCAL_PRINCIPAL: Principal = Object.freeze({
  kind: 'local',
  subject: 'local',
  grants: ALL_GRANTS,
});
const ADMIN_PRINCIPAL: Principal = Object.freeze({ kind: 'admin', subject: 'admin', grants: ALL_GRANTS });

export class InboundAuthenticator {
  readonly #options: InboundAuthenticatorOptions;
  readonly #adminHash: Buffer;
  readonly #now: () => number;
  readonly #cache = new Map<string, { principal: Principal; until: number }>();

  constructor(options: InboundAuthenticatorOptions) {
    this.#options = options;
    this.#adminHash = sha256(options.adminToken);
    this.#now = options.now ?? Date.now;
  }

  /** Forgets every verified token (a verifier reported a revocation). */
  dropCache(): void {
    this.#cache.clear();
  }

  /** The verdict for one request's Authorization header; `client` is its address (rate limit key). */
  async authenticate(authorization: string | undefined, client: string): Promise<AuthVerdict> {
    if (authorization === undefined || authorization === '') {
      return this.#options.required()
        ? { ok: false, reason: 'missing' }
        : { ok: true, principal: LOCAL_PRINCIPAL };
    }
    const { failures } = this.#options;
    if (!failures.allows(client)) {
      return { ok: false, reason: 'rate_limited', retryAfterSeconds: failures.retryAfterSeconds(client) };
    }
    const principal = await this.#principalOf(authorization);
    if (principal) return { ok: true, principal };
    failures.take(client);
    return { ok: false, reason: 'invalid' };
  }

  async #principalOf(authorization: string): Promise<Principal | undefined> {
    // RFC 6750 §2.1: `Bearer` is case-insensitive, one space, then the token.
    if (authorization.length < 8 || authorization.slice(0, 7).toLowerCase() !== 'bearer ') return undefined;
    const token = authorization.slice(7).trim();
    if (token === '') return undefined;
    if (isApiKeyFormat(token)) return this.#options.keys.verifyFresh(token);

    const now = this.#now();
    const cached = this.#cache.get(token);
    if (cached) {
      if (cached.until > now) return cached.principal;
      this.#cache.delete(token);
    }
    if (timingSafeEqual(sha256(token), this.#adminHash)) return ADMIN_PRINCIPAL;
    for (const verifier of this.#options.verifiers()) {
      const principal = await verifier.verify(token);
      if (!principal) continue;
      if (principal.expiresAt !== undefined && principal.expiresAt <= now) return undefined;
      this.#remember(token, principal, now);
      return principal;
    }
    return undefined;
  }

  #remember(token: string, principal: Principal, now: number): void {
    if (this.#cache.size >= CACHE_MAX) {
      // Drop the oldest entries (Map order is insertion order) rather than grow without bound.
      let drop = CACHE_MAX / 10;
      for (const key of this.#cache.keys()) {
        if (drop-- <= 0) break;
        this.#cache.delete(key);
      }
    }
    this.#cache.set(token, { principal, until: Math.min(principal.expiresAt ?? Infinity, now + CACHE_MS) });
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
