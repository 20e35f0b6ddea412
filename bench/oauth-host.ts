/**
 * Child process for item 5: the test fixtures' oidc-provider authorization server (5-second JWT
 * access tokens, refresh tokens rotated on every use) and the JWT-validating protected MCP server.
 * Talks to the bench over IPC: sends `ready`; answers `counts`, and `consent` (plays the person on
 * the login and consent pages with the fixture's helper and returns the final redirect URL).
 * Exits when the bench disconnects.
 */
import { completeAuthorization, startAuthServer } from '../test/fixtures/oidc-provider.js';
import { startProtectedMcp } from '../test/fixtures/protected-mcp.js';

export interface OAuthHostReady {
  type: 'ready';
  url: string;
  issuer: string;
}

export interface OAuthHostCounts {
  type: 'counts';
  refreshes: number;
  codeExchanges: number;
  tokenErrors: string[];
  accessTokensSeen: number;
  rejected: number;
}

export interface OAuthHostConsented {
  type: 'consented';
  /** The redirect to the gateway's /oauth/callback, or why there is none. */
  redirect?: string;
  error?: string;
}

export type OAuthHostRequest = { type: 'counts' } | { type: 'consent'; authorizationUrl: string };

const ACCESS_TOKEN_TTL_SECONDS = 5;

if (process.send) {
  const send = process.send.bind(process);
  const as = await startAuthServer({ accessTokenTtl: ACCESS_TOKEN_TTL_SECONDS });
  const mcp = await startProtectedMcp({ authServer: as });
  process.on('message', (message: OAuthHostRequest) => {
    if (message.type === 'consent') {
      completeAuthorization(message.authorizationUrl).then(
        (redirect) => send({ type: 'consented', redirect: redirect.href } satisfies OAuthHostConsented),
        (error: unknown) => send({ type: 'consented', error: String(error) } satisfies OAuthHostConsented),
      );
      return;
    }
    const counts: OAuthHostCounts = {
      type: 'counts',
      refreshes: as.counts.refreshes,
      codeExchanges: as.counts.codeExchanges,
      tokenErrors: [...as.tokenErrors],
      accessTokensSeen: mcp.seen.tokens.size,
      rejected: mcp.seen.rejected,
    };
    send(counts);
  });
  process.on('disconnect', () => process.exit(0));
  const ready: OAuthHostReady = { type: 'ready', url: mcp.url, issuer: as.issuer };
  send(ready);
}
