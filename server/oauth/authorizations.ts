/**
 * Handing out authorization URLs: after a 401, as a step-up after a 403 `insufficient_scope`, and
 * when a person asks (POST /api/servers/<name>/authorize), with the per-request limit of
 * step-up.ts. One instance per engine; the stage and the persisted record stay the engine's.
 */
import { GatehouseError, toGatehouseError } from '../errors.js';
import { prepareAuthorization, type FlowContext } from './flow.js';
import type { StoredTokens } from './record.js';
import type { AuthorizationReason, AuthStage } from './stage.js';
import { AuthSequences, decideStepUp, STEP_UP_LIMIT, type HandedOut } from './step-up.js';

/** An authorization URL is handed out again only while it has at least this long to live. */
export const REUSE_MARGIN_MS = 60_000;

export class Authorizations {
  readonly #ctx: FlowContext;
  readonly #stage: () => AuthStage;
  readonly #sequences = new AuthSequences();
  #preparing: Promise<HandedOut> | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(ctx: FlowContext, stage: () => AuthStage) {
    this.#ctx = ctx;
    this.#stage = stage;
  }

  /**
   * A person asks for the URL. The one already waiting for them is handed out again, so a pending
   * step-up keeps its scopes (the union of granted and challenged) and nothing counts twice; else a
   * new authorization, asking for the newest open step-up's scopes if there is one. Asking after
   * the step-up limit starts those requests over: the limit stops loops, not a person.
   */
  async start(scopes?: readonly string[]): Promise<string> {
    // A 401 may be preparing one right now: hand out that one rather than a second registration.
    if (!scopes && this.#preparing) await this.#preparing.catch(() => undefined);
    const stage = this.#stage();
    if (!scopes && this.#reusable(stage)) return stage.authorizationUrl;
    this.#sequences.liftLimits();
    const wanted = scopes ? [...scopes] : this.#sequences.wantedScopes();
    const reason: AuthorizationReason =
      wanted && !scopes ? 'step_up' : this.#ctx.record().tokens ? 'restart' : 'required';
    const handed = await this.#prepare(reason, true, wanted);
    this.#sequences.handedOutToAll(handed);
    return handed.url;
  }

  /**
   * `request` needs a (new) authorization after a 401: the URL already waiting for a person, or a
   * new one (concurrent callers share it).
   * @throws GatehouseError `UPSTREAM_AUTH_REQUIRED` with the URL in its details, always;
   *   `OAUTH_STEP_UP_LIMIT` instead when `request` has reached the limit
   */
  async required(reason: AuthorizationReason, request: string, cause?: unknown): Promise<never> {
    const server = this.#ctx.server;
    const limited = this.#sequences.get(request);
    if (limited?.limited) throw this.#giveUp(limited.scopes ?? []);
    let handed: HandedOut;
    try {
      const stage = this.#stage();
      if (this.#reusable(stage)) {
        handed = { url: stage.authorizationUrl, expiresAt: stage.expiresAt, scopes: undefined };
      } else {
        this.#preparing ??= this.#prepare(reason, true, undefined).finally(() => {
          this.#preparing = undefined;
        });
        handed = await this.#preparing;
      }
    } catch (err) {
      const { code, message } = toGatehouseError(err);
      throw new GatehouseError(
        'UPSTREAM_AUTH_REQUIRED',
        `server "${server}" needs authorization, but preparing it failed (${code}: ${message})`,
        { cause: err, details: { server, code } },
      );
    }
    this.#sequences.handedOut(request, handed);
    // How to authorize is the edge's to say: the gateway names the URL to MCP clients, the
    // dashboard offers Connect.
    throw new GatehouseError('UPSTREAM_AUTH_REQUIRED', `server "${server}" needs authorization`, {
      details: { server, authorizationUrl: handed.url },
      ...(cause ? { cause } : {}),
    });
  }

  /**
   * A 403 `insufficient_scope` for `request` (MCP spec, "Scope Challenge Handling"): a step-up
   * asking for the union of granted and challenged scopes, or the same one again while the person
   * has not acted on it.
   * @throws GatehouseError `OAUTH_INSUFFICIENT_SCOPE` with the URL, or `OAUTH_STEP_UP_LIMIT`
   */
  async insufficientScope(
    tokens: StoredTokens | undefined,
    challenged: readonly string[] | undefined,
    request: string,
  ): Promise<never> {
    const server = this.#ctx.server;
    const decision = decideStepUp({
      sequence: this.#sequences.get(request),
      granted: tokens?.scopes,
      challenged,
      now: this.#ctx.now(),
      reuseMarginMs: REUSE_MARGIN_MS,
    });
    if (decision.kind === 'limit') {
      this.#sequences.limit(request, decision.scopes);
      throw this.#giveUp(decision.scopes);
    }
    let url = decision.kind === 'reuse' ? decision.url : undefined;
    if (url === undefined) {
      const handed = await this.#prepare('step_up', false, decision.scopes);
      this.#sequences.handedOut(request, handed);
      url = handed.url;
    }
    throw new GatehouseError(
      'OAUTH_INSUFFICIENT_SCOPE',
      `server "${server}" needs scopes ${decision.scopes.join(' ')}, which a person has to grant`,
      { details: { server, scopes: decision.scopes, authorizationUrl: url } },
    );
  }

  /** A callback completed: every request waiting for an authorization has had one more. */
  completed(): void {
    this.#sequences.completed();
  }

  /** `request` went through: its authorizations are no longer counted. */
  succeeded(request: () => string): void {
    // Naming a request parses its body: only worth it while some request is being counted.
    if (this.#sequences.counting) this.#sequences.succeeded(request());
  }

  clear(): void {
    this.#sequences.clear();
  }

  /** Preparations run one at a time, so two never register two clients at once. */
  async #prepare(
    reason: AuthorizationReason,
    rediscover: boolean,
    scopes: string[] | undefined,
  ): Promise<HandedOut> {
    const run = () => prepareAuthorization(this.#ctx, { reason, rediscover, scopes });
    const result = this.#queue.then(run, run);
    this.#queue = result.catch(() => undefined);
    const { url, expiresAt } = await result;
    return { url, expiresAt, scopes };
  }

  #reusable(stage: AuthStage): stage is Extract<AuthStage, { kind: 'awaiting_user' }> {
    return stage.kind === 'awaiting_user' && stage.expiresAt - this.#ctx.now() >= REUSE_MARGIN_MS;
  }

  /** The limit error; the stage shows it (once, not on every refused call). */
  #giveUp(scopes: readonly string[]): GatehouseError {
    const server = this.#ctx.server;
    const needed = scopes.length > 0 ? `scopes ${scopes.join(' ')}` : 'more authorization';
    const message = `${server} still needs ${needed} after ${STEP_UP_LIMIT} authorizations; check what the authorization server grants, then authorize again`;
    const stage = this.#stage();
    if (stage.kind !== 'failed' || stage.code !== 'OAUTH_STEP_UP_LIMIT')
      this.#ctx.apply({ type: 'fail', code: 'OAUTH_STEP_UP_LIMIT', message, step: 'authorization' });
    return new GatehouseError('OAUTH_STEP_UP_LIMIT', message, { details: { server, scopes: [...scopes] } });
  }
}
