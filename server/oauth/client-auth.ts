/**
 * Client authentication at the token and revocation endpoints (RFC 6749 §2.3), as oauth4webapi
 * `ClientAuth` functions. Only `client_secret_basic` is ours: see `basicCredentials`.
 */
import * as oauth from 'oauth4webapi';

import type { ResolvedClient } from './registration.js';

/** oauth4webapi's view of a client. */
export function libraryClient(client: ResolvedClient): oauth.Client {
  return { client_id: client.clientId, token_endpoint_auth_method: client.authMethod };
}

/** oauth4webapi's client authentication for the token and revocation endpoints. */
export function clientAuthentication(client: ResolvedClient): oauth.ClientAuth {
  switch (client.authMethod) {
    case 'client_secret_basic':
      return clientSecretBasic(client.clientId, client.clientSecret ?? '');
    case 'client_secret_post':
      return oauth.ClientSecretPost(client.clientSecret ?? '');
    case 'none':
      return oauth.None();
    default: {
      const unreachable: never = client.authMethod;
      return unreachable;
    }
  }
}

/**
 * The `Authorization: Basic` value for a client id and secret.
 *
 * RFC 6749 §2.3.1 says to form-urlencode both before base64, and oauth4webapi's ClientSecretBasic
 * does so literally, turning even `-_.!~*'()` into `%2D`… Many servers (and the MCP conformance
 * suite) never decode, so `pre-registered-client` arrives as `pre%2Dregistered%2Dclient` and is
 * refused. We percent-encode only what lies outside RFC 3986's unreserved set
 * (`A-Z a-z 0-9 - . _ ~`): ids and secrets made of those (UUIDs, hex, base64url; nearly all) go out
 * raw, which decoding and non-decoding servers read alike; anything else (`:` in an id, `+ / =` of
 * base64, `%`, spaces, non-ASCII) is still encoded as RFC 6749 requires, with `%20` for a space so
 * that form decoding and `decodeURIComponent` agree.
 */
export function basicCredentials(clientId: string, clientSecret: string): string {
  return `Basic ${Buffer.from(`${encodeUnreserved(clientId)}:${encodeUnreserved(clientSecret)}`).toString('base64')}`;
}

function clientSecretBasic(clientId: string, clientSecret: string): oauth.ClientAuth {
  return (_as, _client, _body, headers) => {
    headers.set('authorization', basicCredentials(clientId, clientSecret));
  };
}

/** encodeURIComponent leaves `!'()*` alone; RFC 3986 counts them as reserved (sub-delims). */
function encodeUnreserved(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}
