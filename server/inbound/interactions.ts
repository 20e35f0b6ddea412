/**
 * The sign-in and consent steps of Gatehouse's authorization server, as Fastify routes under
 * `/oauth2/interaction/:uid` (oidc-provider sends the browser there, see provider.ts `interactions`).
 *
 * GET shows the step oidc-provider asks for: sign-in (login.ts; skipped when the browser already
 * proves the account) or consent (the client's name, its redirect URI's host and the scopes, with
 * Allow and Deny). Forms post back here; Deny ends the request with `access_denied` (RFC 6749
 * §4.1.2.1). Every answer is a plain HTML page under the app-wide CSP.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isGatehouseError, type GatehouseError } from '../errors.js';
import { originAllowed } from '../security/admin-session.js';
import type { RateLimiter } from '../security/rate-limit.js';
import type { Logger } from '../log.js';
import type { StateRecord, StateStore } from '../settings/state-store.js';
import type { LoginMethod, LoginOutcome } from './login.js';
import type { FederatedLogin } from './login-oidc.js';
import type { InteractionDetails, OidcProvider } from './oidc-types.js';
import { consentPage, continuePage, errorPage, page, escapeHtml } from './pages.js';
import { OFFLINE_ACCESS } from './resources.js';

export interface ConsentRecorder {
  /** Remembers what the consent page showed, for the admin's list of authorized clients. */
  (grantId: string, info: { clientName?: string; redirectHost: string }): Promise<void>;
}

export interface InteractionRoutesOptions {
  provider: () => Promise<OidcProvider>;
  /** The sign-in method the settings name now. */
  login: () => LoginMethod | FederatedLogin;
  /** Failed sign-ins per client address. */
  loginFailures: RateLimiter;
  /** The gateway's state store: what a federated sign-in proved waits there for the next request. */
  state: StateStore;
  baseUrl: () => string;
  recordConsent: ConsentRecorder;
  /** Ends a sign-in started by the dashboard (a person's session; see login-oidc.ts). */
  finishDashboard(req: FastifyRequest, reply: FastifyReply, outcome: LoginOutcome): Promise<unknown>;
  logger: Logger;
}

type Uid = { Params: { uid: string } };

/** The state store collection of what federated sign-ins proved, by interaction uid. */
export const LOGIN_PROVEN = 'login-proven';
/** How long a proof waits for the browser's next request. */
const PROOF_MS = 5 * 60_000;

/** Registers the interaction routes (in a scope of their own: they parse HTML forms). */
export async function interactionRoutes(app: FastifyInstance, opts: InteractionRoutesOptions): Promise<void> {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))));
  });

  /** The pending interaction, when this browser's interaction cookie names `uid`. */
  const load = async (req: FastifyRequest<Uid>, reply: FastifyReply) => {
    const provider = await opts.provider();
    let found: InteractionDetails;
    try {
      found = await provider.interactionDetails(req.raw, reply.raw);
    } catch {
      return undefined;
    }
    return found.uid === req.params.uid ? { provider, details: found } : undefined;
  };

  const expired = (reply: FastifyReply) =>
    html(
      reply,
      400,
      errorPage(
        'This sign-in has expired',
        'Start again from the application that sent you here.',
        'interaction_expired',
      ),
    );

  const finish = async (
    req: FastifyRequest<Uid>,
    reply: FastifyReply,
    provider: OidcProvider,
    result: Record<string, unknown>,
  ) => {
    const to = await provider.interactionResult(req.raw, reply.raw, result, {
      mergeWithLastSubmission: false,
    });
    if (req.method === 'GET') return reply.code(303).header('location', to).send();
    // After a form post the browser continues by a navigation of its own: CSP `form-action 'self'`
    // also covers the redirects that follow a form submission (CSP3 §6.3.1), and the last one
    // leaves Gatehouse for the client's redirect URI.
    return html(reply, 200, continuePage(to));
  };

  const action = (uid: string) => `${issuerPath(opts.baseUrl())}/interaction/${encodeURIComponent(uid)}`;

  app.get<Uid>('/oauth2/interaction/:uid', async (req, reply) => {
    const loaded = await load(req, reply);
    if (!loaded) return expired(reply);
    const { provider, details: found } = loaded;
    if (found.prompt.name === 'login') {
      const accountId = await opts.login().existing(req);
      if (accountId !== undefined) return finish(req, reply, provider, { login: { accountId } });
      return html(reply, 200, loginPage(opts.login(), action(found.uid)));
    }
    if (found.prompt.name === 'consent') {
      const view = await consentView(provider, found, action(found.uid));
      return html(reply, 200, consentPage(view));
    }
    return html(
      reply,
      400,
      errorPage('Unexpected step', 'Gatehouse cannot complete this step.', found.prompt.name),
    );
  });

  app.post<Uid & { Body: Record<string, string> }>('/oauth2/interaction/:uid/login', async (req, reply) => {
    if (!sameOrigin(req, opts.baseUrl()))
      return html(reply, 403, errorPage('Refused', 'This form must be sent from Gatehouse itself.'));
    const loaded = await load(req, reply);
    if (!loaded) return expired(reply);
    const { provider, details: found } = loaded;
    if (found.prompt.name !== 'login') return expired(reply);
    const key = req.ip;
    if (!opts.loginFailures.allows(key)) {
      reply.header('retry-after', String(opts.loginFailures.retryAfterSeconds(key)));
      return html(
        reply,
        429,
        errorPage('Too many attempts', 'Wait a minute, then try again.', 'RATE_LIMITED'),
      );
    }
    const outcome = await opts.login().submit(req, req.body ?? {}, found.uid);
    // To another site after a form post: by a navigation of the page's own (see `finish`).
    if (outcome.kind === 'redirect') return html(reply, 200, continuePage(outcome.url));
    return settle(req, reply, provider, found.uid, outcome);
  });

  /** Ends the sign-in step with what a method proved: the account, or the sign-in page again. */
  const settle = async (
    req: FastifyRequest<Uid>,
    reply: FastifyReply,
    provider: OidcProvider,
    uid: string,
    outcome: LoginOutcome,
  ) => {
    if (outcome.kind === 'account') {
      return finish(req, reply, provider, { login: { accountId: outcome.accountId } });
    }
    if (outcome.kind === 'redirect') return html(reply, 200, continuePage(outcome.url));
    opts.loginFailures.take(req.ip);
    opts.logger.warn({ ip: req.ip }, 'authorization server sign-in refused');
    return html(reply, 403, loginPage(opts.login(), action(uid), outcome.message));
  };

  /**
   * What a federated sign-in proved, by interaction, between the provider's redirect back (which
   * carries no interaction cookie: its URL is fixed) and the browser's next request, which does. In
   * the state store, like the pending sign-in itself: behind a load balancer without stickiness the
   * next request may reach another replica than the return did.
   */
  const rememberProof = (uid: string, outcome: LoginOutcome) =>
    opts.state.put(LOGIN_PROVEN, uid, { outcome }, { expiresAt: Date.now() + PROOF_MS });

  app.get('/oauth2/login/callback', async (req, reply) => {
    if (!opts.loginFailures.allows(req.ip)) {
      reply.header('retry-after', String(opts.loginFailures.retryAfterSeconds(req.ip)));
      return html(
        reply,
        429,
        errorPage('Too many attempts', 'Wait a minute, then try again.', 'RATE_LIMITED'),
      );
    }
    const login = opts.login();
    let result: Awaited<ReturnType<FederatedLogin['callback']>>;
    try {
      result = 'callback' in login ? await login.callback(new URL(req.url, opts.baseUrl())) : undefined;
    } catch (error) {
      // The pending sign-in is still there: the same return works once the store answers again.
      if (isGatehouseError(error)) return unavailable(reply, error, 'Wait a moment, then reload this page.');
      throw error;
    }
    if (!result) {
      // An unknown, expired or replayed `state` is a failed sign-in like a wrong admin token.
      opts.loginFailures.take(req.ip);
      opts.logger.warn({ ip: req.ip }, 'sign-in callback with an unknown state refused');
      return expired(reply);
    }
    if (result.purpose.kind === 'dashboard') {
      if (result.outcome.kind !== 'account') {
        opts.loginFailures.take(req.ip);
        opts.logger.warn({ ip: req.ip }, 'dashboard sign-in refused');
      }
      return opts.finishDashboard(req, reply, result.outcome);
    }
    const { uid } = result.purpose;
    try {
      await rememberProof(uid, result.outcome);
    } catch (error) {
      if (isGatehouseError(error)) {
        return unavailable(reply, error, 'Start again from the application that sent you here.');
      }
      throw error;
    }
    return reply
      .code(303)
      .header('location', `${action(uid)}/federated`)
      .send();
  });

  app.get<Uid>('/oauth2/interaction/:uid/federated', async (req, reply) => {
    const loaded = await load(req, reply);
    if (!loaded || loaded.details.prompt.name !== 'login') return expired(reply);
    let outcome: LoginOutcome | undefined;
    try {
      outcome = asProof(await opts.state.get(LOGIN_PROVEN, loaded.details.uid));
      // Single use, as the provider's return it stands for.
      if (outcome) await opts.state.delete(LOGIN_PROVEN, loaded.details.uid);
    } catch (error) {
      if (isGatehouseError(error)) return unavailable(reply, error, 'Wait a moment, then reload this page.');
      throw error;
    }
    if (!outcome) return expired(reply);
    return settle(req, reply, loaded.provider, loaded.details.uid, outcome);
  });

  app.post<Uid>('/oauth2/interaction/:uid/confirm', async (req, reply) => {
    if (!sameOrigin(req, opts.baseUrl()))
      return html(reply, 403, errorPage('Refused', 'This form must be sent from Gatehouse itself.'));
    const loaded = await load(req, reply);
    if (!loaded || loaded.details.prompt.name !== 'consent' || !loaded.details.session) return expired(reply);
    const { provider, details: found } = loaded;
    const grantId = await grantConsent(provider, found);
    const view = await consentView(provider, found, '');
    await opts.recordConsent(grantId, {
      clientName: view.clientName === view.clientId ? undefined : view.clientName,
      redirectHost: view.redirectHost,
    });
    return finish(req, reply, provider, { consent: { grantId } });
  });

  app.post<Uid>('/oauth2/interaction/:uid/abort', async (req, reply) => {
    if (!sameOrigin(req, opts.baseUrl()))
      return html(reply, 403, errorPage('Refused', 'This form must be sent from Gatehouse itself.'));
    const loaded = await load(req, reply);
    if (!loaded) return expired(reply);
    return finish(req, reply, loaded.provider, {
      error: 'access_denied',
      error_description: 'The person denied the request',
    });
  });
}

/** Adds what the consent prompt found missing to the session's grant (or a new one); its id. */
async function grantConsent(provider: OidcProvider, found: InteractionDetails): Promise<string> {
  const accountId = found.session!.accountId;
  const clientId = String(found.params.client_id);
  const existing = found.grantId ? await provider.Grant.find(found.grantId) : undefined;
  const grant = existing ?? new provider.Grant({ accountId, clientId });
  const { details } = found.prompt;
  if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(' '));
  if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
  for (const [resource, scopes] of Object.entries(details.missingResourceScopes ?? {})) {
    grant.addResourceScope(resource, scopes.join(' '));
  }
  return grant.save();
}

async function consentView(provider: OidcProvider, found: InteractionDetails, action: string) {
  const clientId = String(found.params.client_id);
  const client = await provider.Client.find(clientId);
  const redirect = URL.parse(String(found.params.redirect_uri ?? ''));
  const scopes = String(found.params.scope ?? '')
    .split(' ')
    .filter((scope) => scope !== '');
  const resource = typeof found.params.resource === 'string' ? found.params.resource : undefined;
  return {
    action,
    clientName: client?.clientName ?? clientId,
    clientId,
    redirectHost: redirect?.host ?? '(none)',
    // offline_access last: the MCP permissions are what the person decides on.
    scopes: [...scopes.filter((s) => s !== OFFLINE_ACCESS), ...scopes.filter((s) => s === OFFLINE_ACCESS)],
    ...(resource ? { resource } : {}),
  };
}

function loginPage(login: LoginMethod, action: string, problem?: string): string {
  const alert = problem ? `<p class="problem" role="alert">${escapeHtml(problem)}</p>\n` : '';
  return page('Sign in to Gatehouse', `${alert}${login.form(`${action}/login`)}`);
}

/**
 * A form post must come from Gatehouse's own page. A browser says where a request comes from in
 * `Sec-Fetch-Site` (Fetch Metadata); under this page's `no-referrer` policy its `Origin` on a form
 * post is `null`, so `Origin` decides only when it names an origin. A client that sends neither (not
 * a browser) still needs the interaction cookie, which is SameSite=Lax and so never comes with
 * another site's post.
 * @see https://www.w3.org/TR/fetch-metadata/#sec-fetch-site-header
 */
function sameOrigin(req: FastifyRequest, base: string): boolean {
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string') return site === 'same-origin';
  const origin = req.headers.origin;
  if (origin === undefined || origin === 'null') return true;
  return originAllowed(origin, { protocol: req.protocol, host: req.headers.host }, base);
}

/** The issuer's path below the origin (`/oauth2`, or `/prefix/oauth2` behind a proxy with a path). */
export function issuerPath(base: string): string {
  return `${new URL(base).pathname.replace(/\/+$/, '')}/oauth2`;
}

/** A store error (Redis unreachable) on a step of a sign-in: a page that says so, not a crash. */
function unavailable(reply: FastifyReply, error: GatehouseError, next: string) {
  return html(
    reply,
    error.status,
    errorPage(
      'Signing in is unavailable for a moment',
      `Gatehouse cannot reach its shared store now. ${next}`,
      error.code,
    ),
  );
}

/** A stored proof, checked field by field (another replica may have written it). */
function asProof(record: StateRecord | undefined): LoginOutcome | undefined {
  const outcome = record?.outcome as { kind?: unknown; accountId?: unknown; message?: unknown } | undefined;
  if (outcome?.kind === 'account' && typeof outcome.accountId === 'string') {
    return { kind: 'account', accountId: outcome.accountId };
  }
  if (outcome?.kind === 'refused' && typeof outcome.message === 'string') {
    return { kind: 'refused', message: outcome.message };
  }
  return undefined;
}

function html(reply: FastifyReply, status: number, body: string) {
  return reply.code(status).type('text/html; charset=utf-8').send(body);
}
