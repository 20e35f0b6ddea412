/**
 * Reading an upstream's `WWW-Authenticate` challenge (RFC 6750 §3, RFC 9728 §5.1) and classifying
 * its responses. The header grammar is parsed by oauth4webapi; the MCP decisions are ours.
 */
import * as oauth from 'oauth4webapi';

/** What a Bearer challenge tells us. Scopes are split; unknown parameters are dropped. */
export interface BearerChallenge {
  /** RFC 6750 §3.1 error code, e.g. `invalid_token`, `insufficient_scope`. */
  error?: string;
  /** RFC 6750 §3: the scopes the resource needs. */
  scope?: string[];
  /** RFC 9728 §5.1: where the protected resource metadata lives. */
  resourceMetadata?: string;
  /** Legacy hint naming the authorization server directly (`authorization_server=` / `as_uri=`, MCPHub). */
  authorizationServer?: string;
}

/**
 * Parses every challenge of a `WWW-Authenticate` header with oauth4webapi's RFC 9110 §11.6.1
 * parser. The library exposes that parser only through the `WWWAuthenticateChallengeError` its
 * `process…Response()` functions throw, so we hand it a header-only 401 response.
 */
export async function parseChallenges(header: string | null): Promise<oauth.WWWAuthenticateChallenge[]> {
  if (header === null || header.trim() === '') return [];
  const probe = new Response(null, { status: 401, headers: { 'www-authenticate': header } });
  try {
    await oauth.processRevocationResponse(probe);
  } catch (err) {
    if (err instanceof oauth.WWWAuthenticateChallengeError) return err.cause;
  }
  return []; // unparseable: treat as no challenge
}

/** The Bearer challenge of a response, if it has one (RFC 6750 §3: scheme `Bearer`). */
export async function readBearerChallenge(response: Response): Promise<BearerChallenge | undefined> {
  const challenges = await parseChallenges(response.headers.get('www-authenticate'));
  const bearer = challenges.find((c) => c.scheme === 'bearer');
  if (!bearer) return undefined;
  const p = bearer.parameters;
  const scope = p.scope?.split(' ').filter((s) => s !== '');
  const hint = p.authorization_server ?? p.as_uri;
  return {
    ...(p.error ? { error: p.error } : {}),
    ...(scope && scope.length > 0 ? { scope } : {}),
    ...(p.resource_metadata ? { resourceMetadata: p.resource_metadata } : {}),
    ...(hint ? { authorizationServer: hint } : {}),
  };
}

/** What the engine does with an upstream response. */
export type ResponseClass =
  | { kind: 'ok' }
  /** 401 without a token: authorization has to start. */
  | { kind: 'auth-required'; challenge: BearerChallenge }
  /** 401 with a token: refresh once, then authorize again. */
  | { kind: 'token-rejected'; challenge: BearerChallenge }
  /** 403 `insufficient_scope` with a token: step-up authorization (MCP spec, "Scope Challenge Handling"). */
  | { kind: 'insufficient-scope'; challenge: BearerChallenge };

/**
 * Classifies a response. Pure over (status, parsed challenge, whether a token was sent).
 * A 401 with a token counts as a rejected token whatever its `error` (RFC 6750 §3.1 says servers
 * SHOULD send `invalid_token`; some send nothing), so a refresh is always tried once.
 */
export function classifyResponse(
  status: number,
  challenge: BearerChallenge | undefined,
  sentToken: boolean,
): ResponseClass {
  if (status === 401) {
    return sentToken
      ? { kind: 'token-rejected', challenge: challenge ?? {} }
      : { kind: 'auth-required', challenge: challenge ?? {} };
  }
  // RFC 6750 §3.1: insufficient_scope SHOULD come with 403. Without a token there is nothing to step up.
  if (status === 403 && sentToken && challenge?.error === 'insufficient_scope') {
    return { kind: 'insufficient-scope', challenge };
  }
  return { kind: 'ok' };
}
