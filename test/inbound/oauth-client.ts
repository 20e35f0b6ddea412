/**
 * The client side of the inbound OAuth tests: an in-memory OAuthClientProvider for the MCP SDK's
 * `auth()`, a person played with fetch and a cookie jar at Gatehouse's sign-in and consent pages,
 * and a tiny HTTPS server on 127.0.0.1 serving a Client ID Metadata Document.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auth, type OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js';
import { ADMIN_TOKEN } from '../fixtures/gateway.js';
import { cookieHeader, keepCookies } from '../fixtures/oidc-provider.js';

/** The redirect URI the test clients register (nothing listens there: the test reads the Location). */
export const REDIRECT_URI = 'http://127.0.0.1:47123/callback';

export class MemoryClientProvider implements OAuthClientProvider {
  client: OAuthClientInformationMixed | undefined;
  saved: OAuthTokens | undefined;
  verifier = '';
  authorizationUrl: URL | undefined;
  readonly clientMetadataUrl: string | undefined;
  readonly clientMetadata: OAuthClientMetadata;

  constructor(options: { name?: string; clientMetadataUrl?: string; redirectUri?: string } = {}) {
    this.clientMetadataUrl = options.clientMetadataUrl;
    this.clientMetadata = {
      client_name: options.name ?? 'Test MCP client',
      redirect_uris: [options.redirectUri ?? REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  get redirectUrl() {
    return this.clientMetadata.redirect_uris[0]!;
  }
  clientInformation() {
    return this.client;
  }
  saveClientInformation(info: OAuthClientInformationMixed) {
    this.client = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: OAuthTokens) {
    this.saved = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
  invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery') {
    if (scope === 'all' || scope === 'tokens') this.saved = undefined;
    if (scope === 'all' || scope === 'client') this.client = undefined;
  }
}

export interface PersonOptions {
  /** The admin token typed into the sign-in form (default: the right one). */
  token?: string;
  /** Allow (default) or Deny at consent. */
  decision?: 'allow' | 'deny';
  /** A Cookie header to send along (e.g. the dashboard's session). */
  cookie?: string;
  /** Where a URL is really reached (a gateway with a baseUrl that does not resolve here). */
  reach?: (url: URL) => URL;
  /** Team sign-in: the account to sign in as at the company's provider (an oidc-provider fixture). */
  idpAccount?: string;
}

export interface PersonResult {
  /** The final redirect to the client's redirect URI. */
  redirect: URL;
  /** Every HTML page seen, with its status. */
  pages: { url: string; status: number; html: string; headers: Headers }[];
}

/**
 * Plays the person: follows the authorization URL, signs in with the admin token, answers the
 * consent page, and returns the redirect to the client (code or error, state and iss).
 */
export async function actAsPerson(
  authorizationUrl: string,
  options: PersonOptions = {},
): Promise<PersonResult> {
  const redirectUri = new URL(authorizationUrl).searchParams.get('redirect_uri') ?? '';
  const redirectPrefix = new URL(redirectUri).pathname;
  // Cookies by host (as a browser keeps them: Gatehouse's and the company provider's apart).
  const jars = new Map<string, Map<string, string>>();
  const jarOf = (url: string) => {
    const host = new URL(url).hostname;
    if (!jars.has(host)) jars.set(host, new Map());
    return jars.get(host)!;
  };
  const pages: PersonResult['pages'] = [];
  let next: { url: string; method: 'GET' | 'POST'; body?: URLSearchParams } = {
    url: authorizationUrl,
    method: 'GET',
  };
  for (let hop = 0; hop < 20; hop++) {
    const jar = jarOf(next.url);
    const cookies = [cookieHeader(jar)].filter(Boolean);
    if (options.cookie) cookies.push(options.cookie);
    const response = await fetch(next.url, {
      method: next.method,
      redirect: 'manual',
      headers: { cookie: cookies.join('; ') },
      ...(next.body ? { body: next.body } : {}),
    });
    keepCookies(jar, response);
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      await response.body?.cancel();
      const target = options.reach ? options.reach(new URL(location, next.url)) : new URL(location, next.url);
      if (
        target.protocol === 'http:' &&
        (target.hostname === '127.0.0.1' || target.hostname === 'localhost') &&
        target.pathname === redirectPrefix &&
        !target.href.includes('/oauth2/')
      ) {
        return { redirect: target, pages };
      }
      next = { url: target.href, method: 'GET' };
      continue;
    }
    const html = await response.text();
    pages.push({ url: next.url, status: response.status, html, headers: response.headers });
    const refresh = /<meta http-equiv="refresh" content="0;url=([^"]+)">/.exec(html)?.[1];
    if (refresh && response.status === 200) {
      const target = new URL(refresh.replaceAll('&amp;', '&'), next.url);
      next = { url: (options.reach ? options.reach(target) : target).href, method: 'GET' };
      continue;
    }
    const forms = [...html.matchAll(/<form method="post" action="([^"]+)">([\s\S]*?)<\/form>/g)];
    const action = (suffix: string) => {
      const found = forms.find((f) => f[1]!.endsWith(suffix));
      return found ? new URL(found[1]!.replaceAll('&amp;', '&'), next.url).href : undefined;
    };
    const login = action('/login');
    if (login && response.status === 200) {
      const fields: Record<string, string> = options.idpAccount
        ? { method: 'oidc' }
        : { method: 'token', token: options.token ?? ADMIN_TOKEN };
      next = { url: login, method: 'POST', body: new URLSearchParams(fields) };
      continue;
    }
    // The company's provider's own pages (oidc-provider's development sign-in and consent).
    const idpPrompt = /name="prompt" value="(\w+)"/.exec(html)?.[1];
    const idpAction = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    if (options.idpAccount && idpPrompt && idpAction && response.status === 200) {
      const fields: Record<string, string> =
        idpPrompt === 'login'
          ? { prompt: idpPrompt, login: options.idpAccount, password: 'irrelevant' }
          : { prompt: idpPrompt };
      const target = new URL(idpAction.replaceAll('&amp;', '&'), next.url).href;
      next = { url: target, method: 'POST', body: new URLSearchParams(fields) };
      continue;
    }
    const consent = action(options.decision === 'deny' ? '/abort' : '/confirm');
    if (consent && response.status === 200) {
      next = { url: consent, method: 'POST', body: new URLSearchParams() };
      continue;
    }
    throw Object.assign(new Error(`the person is stuck on a page (${response.status})`), { pages });
  }
  throw new Error('too many redirects at Gatehouse');
}

/** The whole SDK flow: auth() → person → auth() with the code. Returns the provider holding the tokens. */
export async function sdkSignIn(
  serverUrl: string,
  provider: MemoryClientProvider,
  person: PersonOptions = {},
): Promise<{ provider: MemoryClientProvider; redirect: URL; pages: PersonResult['pages'] }> {
  const first = await auth(provider, { serverUrl });
  if (first !== 'REDIRECT' || !provider.authorizationUrl) throw new Error(`auth() answered ${first}`);
  const { redirect, pages } = await actAsPerson(provider.authorizationUrl.href, person);
  const code = redirect.searchParams.get('code');
  if (!code) throw Object.assign(new Error(`no code: ${redirect.search}`), { redirect });
  const second = await auth(provider, { serverUrl, authorizationCode: code });
  if (second !== 'AUTHORIZED') throw new Error(`auth() with the code answered ${second}`);
  return { provider, redirect, pages };
}

export interface CimdHost {
  /** The document's URL: the client_id. */
  url: string;
  /** The CA (self-signed certificate) a fetch must trust to read it. */
  ca: string;
  /** How many times the document was fetched. */
  fetches: number;
  close(): Promise<void>;
}

/**
 * Serves a Client ID Metadata Document over HTTPS on 127.0.0.1 with a self-signed certificate
 * made by openssl (the MCP SDK accepts only an https client_id URL).
 */
export async function startCimdHost(document: (url: string) => Record<string, unknown>): Promise<CimdHost> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cimd-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  const key = readFileSync(join(dir, 'key.pem'), 'utf8');
  const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
  rmSync(dir, { recursive: true, force: true });
  let url = '';
  const host: CimdHost = {
    url,
    ca: cert,
    fetches: 0,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server = createHttpsServer({ key, cert }, (req, res) => {
    if (req.url !== '/client.json') return void res.writeHead(404).end();
    host.fetches++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(document(url)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/client.json`;
  host.url = url;
  return host;
}

/** A fetch over node:https that trusts `ca` (what a gateway would get from the system's CA store). */
export function fetchTrusting(ca: string): typeof fetch {
  return (async (input: string | URL | Request, init: RequestInit = {}) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.protocol !== 'https:') return fetch(input, init);
    return new Promise<Response>((resolve, reject) => {
      const req = httpsRequest(
        url,
        {
          method: init.method ?? 'GET',
          headers: headerObject(init.headers),
          ca,
          signal: init.signal ?? undefined,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const headers = new Headers();
            for (const [name, value] of Object.entries(res.headers)) {
              if (typeof value === 'string') headers.set(name, value);
            }
            resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 0, headers }));
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end();
    });
  }) as typeof fetch;
}

function headerObject(init: HeadersInit | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  new Headers(init).forEach((value, name) => {
    out[name] = value;
  });
  return out;
}
