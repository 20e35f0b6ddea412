/**
 * Team sign-in (`inboundAuth.oauth.login: { issuer, clientId, … }`): each person signs in at the
 * company's OpenID Connect provider and gets tokens as themselves. Gatehouse is that provider's
 * client (authorization code with PKCE S256, `state`, `nonce`; the ID token validated by
 * oauth4webapi), with the redirect URI `<base>/oauth2/login/callback` registered there.
 *
 * Who may sign in: with `allowedUsers` and `allowedDomains` both empty, anyone the provider signs
 * in; otherwise a person whose verified e-mail (or subject) is in `allowedUsers`, or whose verified
 * e-mail's domain is in `allowedDomains`. The subject of their tokens is their verified e-mail,
 * lower-cased, else `<issuer host>:<sub>` (see `decide`).
 *
 * One sign-in serves two purposes (issue 13): an interaction of the own authorization server (an
 * MCP client's sign-in), or the dashboard (a person's session, role `user`). Both go through the
 * same redirect, the same callback (`/oauth2/login/callback`) and the same `decide`; the pending
 * state remembers which purpose it was started for, and the callback route dispatches on it.
 *
 * Pending sign-ins (state → PKCE verifier, nonce, purpose) live in the state store for 10 minutes
 * (collection `login-pending`, encrypted like every record): on Redis (issue 15) the provider may
 * send the browser back to any replica, and with the file store a restart in the middle of a
 * sign-in no longer loses it. The callback reads and deletes its state before anything else, so a
 * replayed callback finds nothing. Two replicas reading the same state at the same instant could
 * both pass that check (a read and a delete are two store calls); the provider's authorization code
 * is single use (RFC 6749 §4.1.2), so at most one of them can exchange it.
 */
import type { FastifyReply } from 'fastify';
import * as oauth from 'oauth4webapi';
import { isGatehouseError } from '../errors.js';
import type { FetchLike } from '../http-fetch.js';
import { sessionCookie, secureCookies, type AdminSessionStore } from '../security/admin-session.js';
import type { StateRecord, StateStore } from '../settings/state-store.js';
import type { InboundLogin } from '../settings/types.js';
import type { LoginMethod, LoginOutcome } from './login.js';
import { escapeHtml, page } from './pages.js';

export type OidcLoginConfig = Extract<InboundLogin, { type: 'oidc' }>;

export interface OidcLoginOptions {
  config: OidcLoginConfig;
  /** `<base>/oauth2/login/callback`. */
  redirectUri: string;
  /** The SSRF-guarded fetch (the provider's host is the trusted one). */
  fetch: FetchLike;
  timeoutMs: number;
  /** Where pending sign-ins are kept (the gateway's state store: a file, or Redis shared by replicas). */
  state: StateStore;
  now?: () => number;
}

/** What a sign-in at the provider is for: an authorization server interaction, or the dashboard. */
export type SignInPurpose = { kind: 'interaction'; uid: string } | { kind: 'dashboard' };

/** A sign-in method with a return trip through another site. */
export interface FederatedLogin extends LoginMethod {
  /** The provider's host, as pages name it. */
  readonly provider: string;
  /** Sends the browser to the provider for `purpose` (`redirect`), or says why it cannot (`refused`). */
  start(purpose: SignInPurpose): Promise<LoginOutcome>;
  /**
   * Handles the provider's redirect back: what the sign-in was for, and what it proves; undefined
   * for an unknown, expired or already used `state`.
   * @throws GatehouseError STORE_UNAVAILABLE (or another store error) when the pending sign-in
   *   cannot be read or consumed now; it is left in place, so the same return may be retried.
   */
  callback(url: URL): Promise<{ purpose: SignInPurpose; outcome: LoginOutcome } | undefined>;
}

const PENDING_MS = 10 * 60_000;

/** The state store collection of pending sign-ins (named in the issue 15 contract). */
export const LOGIN_PENDING = 'login-pending';

interface Pending {
  purpose: SignInPurpose;
  verifier: string;
  nonce: string;
  until: number;
}

/** A stored pending sign-in, checked field by field (it crossed a process boundary). */
function asPending(record: StateRecord | undefined): Pending | undefined {
  if (!record) return undefined;
  const { purpose, verifier, nonce, until } = record;
  if (typeof verifier !== 'string' || typeof nonce !== 'string' || typeof until !== 'number')
    return undefined;
  if (typeof purpose !== 'object' || purpose === null) return undefined;
  const kind = (purpose as { kind?: unknown }).kind;
  const uid = (purpose as { uid?: unknown }).uid;
  if (kind === 'dashboard') return { purpose: { kind }, verifier, nonce, until };
  if (kind === 'interaction' && typeof uid === 'string')
    return { purpose: { kind, uid }, verifier, nonce, until };
  return undefined;
}

export function oidcLogin(options: OidcLoginOptions): FederatedLogin {
  const { config } = options;
  const now = options.now ?? Date.now;
  const issuer = new URL(config.issuer);
  const client: oauth.Client = { client_id: config.clientId };
  const clientAuth = config.clientSecret ? oauth.ClientSecretBasic(config.clientSecret) : oauth.None();
  const requestOptions = () => ({
    [oauth.customFetch]: options.fetch as typeof fetch,
    // The guard decides whether plain http is allowed (loopback or allowedPrivateHosts only).
    [oauth.allowInsecureRequests]: issuer.protocol === 'http:',
    signal: AbortSignal.timeout(options.timeoutMs),
  });
  const { state: store } = options;
  let metadata: Promise<oauth.AuthorizationServer> | undefined;
  const discover = () => {
    metadata ??= oauth
      .discoveryRequest(issuer, { algorithm: 'oidc', ...requestOptions() })
      .then((response) => oauth.processDiscoveryResponse(issuer, response))
      .catch((error: unknown) => {
        metadata = undefined;
        throw error;
      });
    return metadata;
  };
  const host = escapeHtml(issuer.host);

  const start = async (purpose: SignInPurpose): Promise<LoginOutcome> => {
    let as: oauth.AuthorizationServer;
    try {
      as = await discover();
    } catch {
      return {
        kind: 'refused',
        message: `The sign-in provider ${issuer.host} cannot be reached; try again later.`,
      };
    }
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const nonce = oauth.generateRandomNonce();
    const until = now() + PENDING_MS;
    try {
      await store.put(LOGIN_PENDING, state, { purpose, verifier, nonce, until }, { expiresAt: until });
    } catch (error) {
      if (!isGatehouseError(error)) throw error;
      // Without its state the provider's return could not be finished: do not send the browser away.
      return {
        kind: 'refused',
        message: `Signing in cannot start now: Gatehouse could not keep the sign-in (${error.code}); try again in a moment.`,
      };
    }
    const url = new URL(as.authorization_endpoint!);
    url.searchParams.set('client_id', config.clientId);
    url.searchParams.set('redirect_uri', options.redirectUri);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set(
      'scope',
      config.scopes.includes('openid') ? config.scopes.join(' ') : ['openid', ...config.scopes].join(' '),
    );
    url.searchParams.set('state', state);
    url.searchParams.set('nonce', nonce);
    url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier));
    url.searchParams.set('code_challenge_method', 'S256');
    return { kind: 'redirect', url: url.href };
  };

  return {
    provider: issuer.host,
    form: (action) => `<p>Sign in with your account at ${host}.</p>
<form method="post" action="${escapeHtml(action)}">
<input type="hidden" name="method" value="oidc">
<button type="submit">Continue with ${host}</button>
</form>`,
    existing: async () => undefined,
    submit: (_req, _fields, uid) => start({ kind: 'interaction', uid }),
    start,
    async callback(url) {
      const state = url.searchParams.get('state') ?? '';
      if (state === '') return undefined;
      const entry = asPending(await store.get(LOGIN_PENDING, state));
      if (!entry || entry.until <= now()) return undefined;
      // Single use: a replayed callback finds nothing. Consumed before the code is exchanged; when
      // the delete fails the sign-in stops here (the store's error), so it is never used twice.
      await store.delete(LOGIN_PENDING, state);
      try {
        const as = await discover();
        const params = oauth.validateAuthResponse(as, client, url, state);
        const response = await oauth.authorizationCodeGrantRequest(
          as,
          client,
          clientAuth,
          params,
          options.redirectUri,
          entry.verifier,
          requestOptions(),
        );
        const result = await oauth.processAuthorizationCodeResponse(as, client, response, {
          expectedNonce: entry.nonce,
          requireIdToken: true,
        });
        // OIDC Core §3.1.3.7 step 6 lets a client skip the ID token's signature when it came over
        // TLS from the token endpoint; a loopback provider is plain http, so it is always checked.
        await oauth.validateApplicationLevelSignature(as, response, requestOptions());
        const claims = oauth.getValidatedIdTokenClaims(result);
        return { purpose: entry.purpose, outcome: decide(claims ?? {}, config) };
      } catch (error) {
        const denied = error instanceof oauth.AuthorizationResponseError;
        return {
          purpose: entry.purpose,
          outcome: {
            kind: 'refused',
            message: denied
              ? `${issuer.host} did not sign you in.`
              : `Signing in with ${issuer.host} failed; try again.`,
          },
        };
      }
    },
  };
}

/** Who the validated ID token's claims are, and whether they may sign in (see the module comment). */
export function decide(claims: Record<string, unknown>, config: OidcLoginConfig): LoginOutcome {
  const sub = typeof claims.sub === 'string' ? claims.sub : undefined;
  if (!sub) return { kind: 'refused', message: 'The sign-in provider did not say who you are.' };
  // OIDC Core §5.1: an e-mail counts only when the provider says it verified it.
  const email =
    typeof claims.email === 'string' && claims.email_verified === true
      ? claims.email.toLowerCase()
      : undefined;
  // Without one, `<issuer host>:<sub>`: a bare `sub` could be `admin` (the admin sign-in's subject)
  // or look like another person's e-mail; `:` never appears in an unquoted address.
  const subject = `${new URL(config.issuer).host}:${sub}`;
  const accountId = email ?? subject;
  const open = config.allowedUsers.length === 0 && config.allowedDomains.length === 0;
  // E-mail addresses compare without case; subjects (`sub`, or the prefixed one) exactly (OIDC Core §5.7).
  const listed = config.allowedUsers.some(
    (user) => user === sub || user === subject || (email !== undefined && user.toLowerCase() === email),
  );
  const domain = email?.slice(email.lastIndexOf('@') + 1);
  const inDomain = domain !== undefined && config.allowedDomains.includes(domain);
  if (open || listed || inDomain) return { kind: 'account', accountId };
  const who = email ?? (typeof claims.email === 'string' ? `${claims.email} (not verified)` : subject);
  return { kind: 'refused', message: `${who} may not sign in to Gatehouse; ask the administrator.` };
}

/**
 * Team mode's sign-in page: the company provider's button first, and under "Administrator" the admin
 * sign-in (dashboard session or admin token), so the admin can still get in while the provider is
 * down. A dashboard session is not used without asking (the admin may want to sign in as themselves).
 */
export function withAdministrator(team: FederatedLogin, admin: LoginMethod): FederatedLogin {
  return {
    form: (action) => `${team.form(action)}
<section class="administrator" aria-labelledby="administrator">
<h2 id="administrator">Administrator</h2>
${admin.form(action)}
</section>`,
    existing: (req) => team.existing(req),
    submit: (req, fields, uid) =>
      fields.method === 'oidc' ? team.submit(req, fields, uid) : admin.submit(req, fields, uid),
    provider: team.provider,
    start: (purpose) => team.start(purpose),
    callback: (url) => team.callback(url),
  };
}

/**
 * Ends a dashboard sign-in with what the provider's return proved: a person's session (role `user`,
 * the subject `decide` gave) in the same cookie `POST /api/session` sets, then 303 to the dashboard;
 * or the 403 page that says why not. The cookie is set on this answer, not later: it is SameSite=Strict,
 * so the browser keeps it from this cross-site return but sends it only with the dashboard's own
 * (same-site) requests that follow.
 */
export async function finishDashboardSignIn(
  reply: FastifyReply,
  outcome: LoginOutcome,
  options: { sessions: AdminSessionStore; baseUrl: string },
): Promise<FastifyReply> {
  const dashboard = `${new URL(options.baseUrl).pathname.replace(/\/+$/, '')}/`;
  if (outcome.kind === 'account') {
    const id = await options.sessions.create({ subject: outcome.accountId, role: 'user' });
    return reply
      .code(303)
      .header('set-cookie', sessionCookie(id, secureCookies(options.baseUrl)))
      .header('location', `${dashboard}#/`)
      .send();
  }
  const message = outcome.kind === 'refused' ? outcome.message : 'The sign-in did not finish.';
  return reply
    .code(403)
    .type('text/html; charset=utf-8')
    .send(
      page(
        'Sign in to Gatehouse',
        `<p class="problem" role="alert">${escapeHtml(message)}</p>
<p><a href="${escapeHtml(dashboard)}">Back to Gatehouse</a></p>`,
      ),
    );
}
