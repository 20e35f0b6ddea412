/**
 * The authorization response (RFC 6749 §4.1.2): find and consume the pending authorization its
 * `state` names, then validate it with oauth4webapi (state, RFC 9207 `iss`, error responses).
 */
import * as oauth from 'oauth4webapi';

import { GatehouseError } from '../errors.js';
import { libraryCause, toOAuthError } from './http.js';
import type { PendingAuthorization } from './record.js';
import { libraryClient } from './client-auth.js';
import type { ResolvedClient } from './registration.js';

export type PendingLookup =
  | { kind: 'found'; pending: PendingAuthorization; rest: PendingAuthorization[] }
  | { kind: 'expired'; rest: PendingAuthorization[] }
  | { kind: 'unknown' };

/**
 * Finds the pending authorization for `state` and removes it from the list, whatever happens next:
 * a state is good for one callback (OAuth 2.1 §7.12). Pure.
 */
export function takePending(
  list: readonly PendingAuthorization[],
  state: string | null,
  now: number,
): PendingLookup {
  const index = state ? list.findIndex((p) => p.state === state) : -1;
  const pending = list[index];
  if (!pending) return { kind: 'unknown' };
  const rest = list.filter((_, i) => i !== index);
  return pending.expiresAt > now ? { kind: 'found', pending, rest } : { kind: 'expired', rest };
}

export function stateError(server: string, kind: 'expired' | 'unknown'): GatehouseError {
  return new GatehouseError(
    'OAUTH_STATE_INVALID',
    kind === 'expired'
      ? `${server}: this authorization link has expired; start the authorization again`
      : `${server}: unknown or already used authorization state; start the authorization again`,
    { details: { server } },
  );
}

/**
 * Validates the callback parameters against the pending authorization: the `state` must match and,
 * per RFC 9207 §2.4, `iss` must equal the issuer (and be present when the server advertises
 * `authorization_response_iss_parameter_supported`). Returns the parameters for the code exchange.
 * @throws GatehouseError `OAUTH_CALLBACK_ERROR` (the server sent `error=`) or `OAUTH_ISS_MISMATCH`
 */
export function validateCallback(
  metadata: oauth.AuthorizationServer,
  client: ResolvedClient,
  params: URLSearchParams,
  pending: PendingAuthorization,
): URLSearchParams {
  try {
    return oauth.validateAuthResponse(metadata, libraryClient(client), params, pending.state);
  } catch (err) {
    if (err instanceof oauth.AuthorizationResponseError) {
      throw toOAuthError(err, 'OAUTH_CALLBACK_ERROR', 'Authorization');
    }
    if (!(err instanceof oauth.OperationProcessingError)) {
      throw toOAuthError(err, 'OAUTH_PROTOCOL_ERROR', 'Reading the authorization response');
    }
    // The state matched already (takePending), so what is left for validateAuthResponse to reject
    // before looking at `error` is the issuer (RFC 9207) or a response shape we do not accept.
    throw new GatehouseError(
      'OAUTH_ISS_MISMATCH',
      `The authorization response does not come from ${metadata.issuer} (RFC 9207 iss check failed)`,
      { cause: libraryCause(err) },
    );
  }
}
