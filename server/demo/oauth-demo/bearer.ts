/**
 * Bearer token checks for the demo MCP endpoint, done as a resource server does them: a JWT
 * access token (RFC 9068) verified with the authorization server's published JWKS, its issuer,
 * expiry and audience (= this resource, RFC 8707), and the scopes it carries.
 */
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { createRemoteJWKSet, errors, jwtVerify } from 'jose';

export type BearerResult =
  | { kind: 'ok'; auth: AuthInfo; subject: string }
  | { kind: 'missing' }
  | { kind: 'invalid' }
  | { kind: 'insufficient_scope' };

export interface BearerOptions {
  issuer: string;
  jwksUri: string;
  resource: string;
  requiredScopes: string[];
}

/** Returns a checker of `Authorization` header values. */
export function bearerVerifier(
  options: BearerOptions,
): (authorization: string | undefined) => Promise<BearerResult> {
  const jwks = createRemoteJWKSet(new URL(options.jwksUri));
  return async (authorization) => {
    const match = /^Bearer ([^\s]+)$/i.exec(authorization ?? '');
    if (!match?.[1]) return { kind: 'missing' };
    const token = match[1];
    const verified = await jwtVerify(token, jwks, {
      issuer: options.issuer,
      audience: options.resource,
      typ: 'at+jwt',
      algorithms: ['RS256'],
      requiredClaims: ['exp', 'sub', 'client_id'],
    }).catch((error: unknown) => {
      // A token jose refuses is the caller's problem (401); anything else is ours (500).
      if (error instanceof errors.JOSEError) return undefined;
      throw error;
    });
    if (!verified) return { kind: 'invalid' };
    const { payload } = verified;
    const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [];
    if (options.requiredScopes.some((s) => !scopes.includes(s))) return { kind: 'insufficient_scope' };
    const subject = String(payload.sub);
    return {
      kind: 'ok',
      subject,
      auth: {
        token,
        clientId: String(payload.client_id),
        scopes,
        ...(payload.exp !== undefined ? { expiresAt: payload.exp } : {}),
        resource: new URL(options.resource),
        extra: { sub: subject },
      },
    };
  };
}

/**
 * The status and `WWW-Authenticate` value for a failed check: RFC 9728 §5.1 `resource_metadata`
 * so clients can find the authorization server, RFC 6750 §3.1 error codes.
 */
export function bearerChallenge(
  result: Exclude<BearerResult, { kind: 'ok' }>,
  metadataUrl: string,
  requiredScopes: string[],
): { status: 401 | 403; header: string } {
  const params = [`resource_metadata="${metadataUrl}"`, `scope="${requiredScopes.join(' ')}"`];
  if (result.kind === 'invalid') params.push('error="invalid_token"');
  if (result.kind === 'insufficient_scope') params.push('error="insufficient_scope"');
  return { status: result.kind === 'insufficient_scope' ? 403 : 401, header: `Bearer ${params.join(', ')}` };
}
