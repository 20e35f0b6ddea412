/**
 * A tiny node:http server with fixed JSON routes on 127.0.0.1:0, for the few authorization server
 * behaviours oidc-provider cannot show (no S256, a wrong issuer, no metadata at all, CIMD).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Route = (req: IncomingMessage, res: ServerResponse, origin: string) => void;

export interface TinyServer {
  origin: string;
  /** Paths requested, in order. */
  requests: string[];
  close(): Promise<void>;
}

export async function startTinyServer(
  routes: (origin: string) => Record<string, Route>,
): Promise<TinyServer> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const table = routes(origin);
  const requests: string[] = [];
  server.on('request', (req, res) => {
    const path = new URL(req.url ?? '/', origin).pathname;
    requests.push(path);
    const route = table[path];
    if (route) route(req, res, origin);
    else res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found"}');
  });
  return {
    origin,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A route answering `body` as JSON with `status`. */
export function json(body: unknown, status = 200): Route {
  return (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
}

/** Authorization server metadata for `origin` with `overrides` (a field set to undefined is removed). */
export function asMetadata(origin: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    issuer: origin,
    authorization_endpoint: `${origin}/authorize`,
    token_endpoint: `${origin}/token`,
    response_types_supported: ['code'],
    code_challenge_methods_supported: ['S256'],
    ...overrides,
  };
}
