/**
 * Starts the HTTP half of the OAuth demo on 127.0.0.1: the authorization server (issuer = the
 * origin) and the protected MCP endpoint `/mcp` on one port, with state from the state file.
 * Everything stays on 127.0.0.1, never `localhost`: the gateway's SSRF guard allows an upstream's
 * own host on any port, and 127.0.0.1 is the host of the demo's MCP URL.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAuthorizationServer } from './authorization-server.js';
import { fileAdapter } from './file-adapter.js';
import { createProtectedMcp } from './protected-mcp.js';
import { StateFile } from './state-file.js';

export interface OAuthDemoOptions {
  /** Port on 127.0.0.1; 0 picks a free one. */
  port: number;
  stateFile: string;
  /** One line of news for a person (the gateway shows a stdio server's stderr). */
  log: (line: string) => void;
  /** Access token lifetime in seconds. Default 300. */
  accessTokenTtl?: number;
}

/** What happened since start, for the status tool and tests. */
export interface OAuthDemoCounts {
  registrations: number;
  authorizations: number;
  codeExchanges: number;
  refreshes: number;
  revocations: number;
}

export interface OAuthDemo {
  issuer: string;
  mcpUrl: string;
  metadataUrl: string;
  stateFile: string;
  counts: OAuthDemoCounts;
  /** How many records of each oidc-provider model the state file holds. */
  stored(): Record<string, number>;
  close(): Promise<void>;
}

/** The scope the demo MCP endpoint requires. */
export const DEMO_SCOPE = 'mcp:tools';

type OidcCtx = { oidc?: { route?: string; params?: Record<string, unknown> } };
type OidcError = { error?: string; error_description?: string; message?: string };

/**
 * @throws StateFileError when the state file is unreadable; the listen error (EADDRINUSE…)
 *   when the port cannot be bound. Nothing is left running in either case.
 */
export async function startOAuthDemo(options: OAuthDemoOptions): Promise<OAuthDemo> {
  const state = await StateFile.open(options.stateFile);
  const server = createServer();
  await listen(server, options.port);
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const issuer = origin;

  const provider = createAuthorizationServer({
    issuer,
    resource: `${origin}/mcp`,
    scopes: [DEMO_SCOPE],
    accessTokenTtl: options.accessTokenTtl ?? 300,
    signingKey: state.signingKey,
    cookieKeys: state.cookieKeys,
    adapter: fileAdapter(state),
  });
  const mcp = createProtectedMcp({ origin, issuer, jwksUri: `${issuer}/jwks`, scopes: [DEMO_SCOPE] });
  const counts = countEvents(provider, options.log);
  const oidc = provider.callback();

  const route = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', origin);
    if (await mcp.handle(req, res, url.pathname)) return;
    // oidc-provider serves only OpenID discovery; RFC 8414 clients get the same document.
    if (url.pathname === '/.well-known/oauth-authorization-server')
      req.url = `/.well-known/openid-configuration${url.search}`;
    oidc(req, res);
  };
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    route(req, res).catch((error: unknown) => {
      options.log(`request ${req.method} ${req.url} failed: ${(error as Error).message}`);
      if (!res.headersSent) res.writeHead(500).end();
      else res.end();
    });
  });

  return {
    issuer,
    mcpUrl: mcp.resource,
    metadataUrl: mcp.metadataUrl,
    stateFile: state.path,
    counts,
    stored: () => state.counts(),
    async close() {
      await mcp.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      // Let a write that a request started finish before the process goes.
      await state.save();
    },
  };
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Counts the OAuth steps and tells a person about each (no tokens, codes or secrets). */
function countEvents(provider: ReturnType<typeof createAuthorizationServer>, log: (line: string) => void) {
  const counts: OAuthDemoCounts = {
    registrations: 0,
    authorizations: 0,
    codeExchanges: 0,
    refreshes: 0,
    revocations: 0,
  };
  provider.on('registration_create.success', () => {
    counts.registrations++;
    log('a client registered itself (dynamic client registration)');
  });
  provider.on('authorization.success', () => {
    counts.authorizations++;
    log('a person signed in and consented; authorization code sent to the client');
  });
  provider.on('grant.success', (ctx: OidcCtx) => {
    if (ctx.oidc?.params?.grant_type === 'refresh_token') {
      counts.refreshes++;
      log('access token refreshed (the refresh token rotated)');
    } else {
      counts.codeExchanges++;
      log('authorization code exchanged for an access token and a refresh token');
    }
  });
  provider.on('grant.revoked', (ctx: OidcCtx) => {
    if (ctx.oidc?.route !== 'revocation') return;
    counts.revocations++;
    log('a grant was revoked (RFC 7009)');
  });
  for (const event of [
    'grant.error',
    'registration_create.error',
    'authorization.error',
    'revocation.error',
  ]) {
    provider.on(event, (_ctx: OidcCtx, error: OidcError) =>
      log(
        `${event}: ${error.error ?? 'error'}${error.error_description ? ` (${error.error_description})` : ''}`,
      ),
    );
  }
  provider.on('server_error', (_ctx: OidcCtx, error: OidcError) =>
    log(`server error: ${error.message ?? '?'}`),
  );
  return counts;
}
