/**
 * What the engine keeps for one (upstream, owner) in the CredentialStore, and the only code that
 * reads or writes it. Every write runs under the store's per-upstream lock and bumps `generation`,
 * so a result computed from an older record (a slow refresh) can be recognised and dropped.
 */
import type * as oauth from 'oauth4webapi';

import { GatehouseError, isGatehouseError } from '../errors.js';
import type { Logger } from '../log.js';
import type { CredentialKey, CredentialRecord, CredentialStore } from '../settings/credentials.js';

export interface StoredTokens {
  accessToken: string;
  refreshToken?: string;
  /** Epoch ms; null when the server did not say (then only a 401 tells). */
  expiresAt: number | null;
  issuedAt: number;
  scopes: string[];
  lastRefreshAt: number | null;
  issuer: string | null;
  resource: string | null;
  /** The record generation these tokens were written at. */
  generation: number;
  /** Who the tokens belong to, as the ID token or a JWT access token named them (display only). */
  account?: string;
}

/** A client we registered dynamically (RFC 7591); bound to its issuer and redirect URI. */
export interface RegisteredClient {
  issuer: string;
  clientId: string;
  clientSecret?: string;
  /** Epoch ms, absent when it never expires (RFC 7591 §3.2.1 `client_secret_expires_at` 0). */
  clientSecretExpiresAt?: number;
  authMethod: string;
  redirectUri: string;
  registeredAt: number;
}

/** The authorization server we use and what discovery said about the resource. */
export interface ServerBinding {
  metadata: oauth.AuthorizationServer;
  resource: string;
  resourceScopes?: string[];
  /** The protected resource metadata document discovery used (RFC 9728), when there was one. */
  resourceMetadataUrl?: string;
  /** Where the metadata came from: discovery, the 2025-03-26 defaults, or `oauth.*Endpoint` settings. */
  source: 'metadata' | 'defaults' | 'settings';
  discoveredAt: number;
}

/** One authorization in progress (the person has the URL). Single use. */
export interface PendingAuthorization {
  state: string;
  codeVerifier: string;
  redirectUri: string;
  clientId: string;
  issuer: string;
  resource: string;
  scopes: string[];
  createdAt: number;
  expiresAt: number;
}

export interface EngineRecord {
  generation: number;
  server?: ServerBinding;
  client?: RegisteredClient;
  tokens?: StoredTokens;
  pending: PendingAuthorization[];
  /** A hash of the plaintext tokens imported from the settings, so they are imported once. */
  imported?: string;
}

export const emptyRecord = (): EngineRecord => ({ generation: 0, pending: [] });

/**
 * Reads a stored record. The store is ours alone, so the shape is trusted after a light check;
 * anything unrecognisable starts over empty (and is logged) rather than crashing the upstream.
 */
/** Whether a stored OAuth record holds tokens (a person who has connected), without reading them. */
export function holdsTokens(value: CredentialRecord | undefined): boolean {
  return value?.v === 1 && typeof value.tokens === 'object' && value.tokens !== null;
}

export function parseRecord(value: CredentialRecord | undefined, logger: Logger): EngineRecord {
  if (value === undefined) return emptyRecord();
  if (value.v !== 1 || typeof value.generation !== 'number' || !Array.isArray(value.pending)) {
    logger.warn({ version: value.v }, 'ignoring an unrecognised stored OAuth record');
    return emptyRecord();
  }
  const { v: _v, ...rest } = value;
  return rest as unknown as EngineRecord;
}

function serialize(record: EngineRecord): CredentialRecord {
  return { v: 1, ...structuredClone(record) };
}

/** The record of one (upstream, owner) in a CredentialStore. */
export class RecordRepo {
  constructor(
    private readonly store: CredentialStore,
    private readonly key: CredentialKey,
    private readonly logger: Logger,
  ) {}

  /**
   * @throws GatehouseError `SECRETS_DECRYPT_FAILED` naming the server and the way out, when the
   *   stored value does not decrypt (another key, a damaged blob)
   */
  async read(): Promise<EngineRecord> {
    let stored: CredentialRecord | undefined;
    try {
      stored = await this.store.get(this.key);
    } catch (err) {
      if (!isGatehouseError(err, 'SECRETS_DECRYPT_FAILED')) throw err;
      throw new GatehouseError(
        'SECRETS_DECRYPT_FAILED',
        `The stored credential of ${this.key.server} cannot be decrypted (was GATEHOUSE_SECRET_KEY or the key file changed?); Connect authorizes again and replaces it`,
        { cause: err, details: { server: this.key.server } },
      );
    }
    return parseRecord(stored, this.logger);
  }

  /**
   * Deletes the stored record when it does not decrypt; resolves true when it did. Only for a
   * person's explicit new start (Connect, Disconnect): the record is lost for good.
   */
  discardUnreadable(): Promise<boolean> {
    return this.store.withLock(this.key, async () => {
      try {
        await this.store.get(this.key);
        return false;
      } catch (err) {
        if (!isGatehouseError(err, 'SECRETS_DECRYPT_FAILED')) throw err;
        await this.store.delete(this.key);
        return true;
      }
    });
  }

  /**
   * Runs `fn` under the per-upstream lock with the freshest record. When `fn` returns `next`, it is
   * written with `generation + 1` and returned as `record`. Never nest calls (the lock is not reentrant).
   */
  update<T>(
    fn: (
      current: EngineRecord,
    ) => Promise<{ next?: EngineRecord; result: T }> | { next?: EngineRecord; result: T },
  ): Promise<{ result: T; record: EngineRecord }> {
    return this.store.withLock(this.key, async () => {
      const current = await this.read();
      const { next, result } = await fn(current);
      if (!next) return { result, record: current };
      const written = { ...next, generation: current.generation + 1 };
      // Fencing: if our lock expired while we stalled and another replica wrote this generation
      // (a newer token) meanwhile, the store refuses this write instead of losing that one.
      await this.store.put(this.key, serialize(written), { generation: written.generation });
      return { result, record: written };
    });
  }
}
