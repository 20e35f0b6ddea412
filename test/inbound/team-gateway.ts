/**
 * A gateway in team mode for tests: Gatehouse's own authorization server with people signing in at
 * a real oidc-provider acting as the company's OpenID provider. Gatehouse's redirect URI there is
 * known only once it listens, so it starts with the admin sign-in, registers itself at the
 * provider (RFC 7591) and is switched to team mode by a live settings edit.
 */
import assert from 'node:assert/strict';
import { nextEvent, startGateway, type StartOptions, type TestGateway } from '../fixtures/gateway.js';
import type { AuthServer } from '../fixtures/oidc-provider.js';

/** The settings: one upstream and the own authorization server, with `login` when given. */
export function teamSettings(
  upstreamUrl: string,
  login?: Record<string, unknown>,
  system: Record<string, unknown> = {},
  servers: Record<string, unknown> = {},
): object {
  return {
    mcpServers: { alpha: { type: 'streamable-http', url: upstreamUrl }, ...servers },
    systemConfig: { ...system, inboundAuth: { oauth: { enabled: true, ...(login ? { login } : {}) } } },
  };
}

/** Registers Gatehouse at the company's provider as a confidential client. */
export async function registerAtProvider(
  idp: AuthServer,
  redirectUri: string,
): Promise<{ client_id: string; client_secret: string }> {
  const response = await fetch(`${idp.issuer}/reg`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: 'Gatehouse',
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }),
  });
  assert.equal(response.status, 201, await response.clone().text());
  return (await response.json()) as { client_id: string; client_secret: string };
}

/**
 * Starts the gateway, registers it at `idp`, then switches it to team mode with `rules`
 * (allowedUsers, allowedDomains…). `local` is its base on `localhost`, the name it gives itself
 * without a baseUrl (its redirect URI at the provider and its issuer).
 */
export async function startTeamGateway(
  idp: AuthServer,
  upstreamUrl: string,
  rules: Record<string, unknown>,
  options: StartOptions & { system?: Record<string, unknown>; servers?: Record<string, unknown> } = {},
): Promise<{ gw: TestGateway; local: string }> {
  const { system, servers, ...start } = options;
  const gw = await startGateway(teamSettings(upstreamUrl, undefined, system, servers), start);
  const local = gw.base.replace('127.0.0.1', 'localhost');
  const client = await registerAtProvider(idp, `${local}/oauth2/login/callback`);
  const changed = nextEvent(
    (listener) => gw.store.on('change', listener),
    'the team sign-in settings to apply',
  );
  await gw.writeSettings(
    teamSettings(
      upstreamUrl,
      {
        issuer: idp.issuer,
        clientId: client.client_id,
        clientSecret: client.client_secret,
        scopes: ['openid', 'email'],
        ...rules,
      },
      system,
      servers,
    ),
  );
  await changed;
  return { gw, local };
}
