/**
 * External-issuer mode (`systemConfig.inboundAuth.oauth.issuer`): Gatehouse is a resource server of
 * an existing authorization server (Keycloak, Auth0, Entra, Okta…) and accepts its JWT access
 * tokens (RFC 9068) after checking signature (the issuer's JWKS, fetched from its metadata and
 * cached by jose), issuer, audience, expiry and not-before. The issuer is the administrator's
 * choice, so its URLs are fetched as configured (no SSRF guard), with a timeout.
 */
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import type { Logger } from '../log.js';
import { parseScopes, type Principal, type TokenVerifier } from './principal.js';

export interface JwtVerifierOptions {
  issuer: string;
  /** The audiences a token may carry (one is enough): Gatehouse's resource URLs. */
  audience: () => string[];
  timeoutMs: number;
  logger: Logger;
  fetch?: typeof fetch;
}

/** Verifies JWT access tokens of one external issuer; see the module comment. */
export function createJwtVerifier(options: JwtVerifierOptions): TokenVerifier {
  const { issuer, logger } = options;
  type Trusted = { issuer: string; jwks: ReturnType<typeof createRemoteJWKSet> };
  let trusted: Trusted | undefined;
  let discovering: Promise<Trusted | undefined> | undefined;

  const keySet = async () => {
    if (trusted) return trusted;
    discovering ??= discover(issuer, options)
      .then((found) => {
        trusted = {
          issuer: found.issuer,
          jwks: createRemoteJWKSet(new URL(found.jwksUri), { timeoutDuration: options.timeoutMs }),
        };
        return trusted;
      })
      .catch((error: unknown) => {
        logger.warn({ issuer, err: String(error) }, 'the inbound issuer metadata could not be read');
        return undefined;
      })
      .finally(() => {
        discovering = undefined;
      });
    return discovering;
  };

  return {
    async verify(token: string): Promise<Principal | undefined> {
      // Only what looks like a JWS: three base64url parts.
      if (token.split('.').length !== 3) return undefined;
      const found = await keySet();
      if (!found) return undefined;
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, found.jwks, {
          issuer: found.issuer,
          audience: options.audience(),
        }));
      } catch (error) {
        logger.debug({ err: (error as { code?: string }).code ?? String(error) }, 'inbound JWT refused');
        return undefined;
      }
      if (typeof payload.sub !== 'string' || payload.sub === '') return undefined;
      const scope =
        typeof payload.scope === 'string' ? payload.scope : Array.isArray(payload.scp) ? payload.scp : '';
      const principal: Principal = {
        kind: 'token',
        subject: payload.sub,
        grants: parseScopes(scope as string | string[]),
      };
      const clientId = payload.client_id ?? payload.azp;
      if (typeof clientId === 'string') principal.clientId = clientId;
      if (typeof payload.exp === 'number') principal.expiresAt = payload.exp * 1000;
      return principal;
    },
  };
}

/**
 * The issuer's `jwks_uri` and its exact `issuer` string (tokens carry it as `iss`; a trailing slash
 * in the settings is not significant), from its OAuth (RFC 8414) or OpenID metadata.
 */
async function discover(
  issuer: string,
  options: JwtVerifierOptions,
): Promise<{ issuer: string; jwksUri: string }> {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/+$/, '');
  const candidates = [
    new URL(`/.well-known/oauth-authorization-server${path}`, url),
    new URL(`${path}/.well-known/openid-configuration`, url),
  ];
  const doFetch = options.fetch ?? fetch;
  let last: unknown;
  for (const candidate of candidates) {
    try {
      const response = await doFetch(candidate, { signal: AbortSignal.timeout(options.timeoutMs) });
      if (!response.ok) {
        await response.body?.cancel();
        last = new Error(`${candidate.href} answered ${response.status}`);
        continue;
      }
      const metadata = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown };
      if (typeof metadata.issuer !== 'string' || metadata.issuer.replace(/\/+$/, '') !== issuer) {
        last = new Error(`${candidate.href} names issuer ${String(metadata.issuer)}`);
        continue;
      }
      if (typeof metadata.jwks_uri !== 'string') {
        last = new Error(`${candidate.href} has no jwks_uri`);
        continue;
      }
      return { issuer: metadata.issuer, jwksUri: metadata.jwks_uri };
    } catch (error) {
      last = error;
    }
  }
  throw last instanceof Error ? last : new Error(String(last));
}
