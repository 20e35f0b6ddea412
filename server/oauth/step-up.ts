/**
 * How many authorizations one failing request gets (MCP spec, "Scope Challenge Handling"): a
 * request refused with 401 and then 403 `insufficient_scope` is re-authorized with the union of
 * granted and challenged scopes, "no more than a few times". The decision is pure; `AuthSequences`
 * is the engine's bookkeeping of it, without I/O.
 */
import { coversScopes, unionScopes } from './scopes.js';

/**
 * Authorizations one request may go through before the engine gives up. The first authorization
 * (after the request's 401) counts too: the conformance suite's auth/scope-retry-limit allows
 * "3 or fewer" authorization requests in all.
 */
export const STEP_UP_LIMIT = 3;
/** Requests tracked at once; beyond this the one least recently authorized for is forgotten. */
export const MAX_SEQUENCES = 32;

/** An authorization handed out and not completed yet. */
export interface HandedOut {
  url: string;
  expiresAt: number;
  /** The step-up scopes it asks for; undefined when the usual selection chose them (a 401). */
  scopes: string[] | undefined;
}

/** One request's authorizations, from its first 401/403 until it succeeds. */
export interface AuthSequence {
  /** Which request (`requestKey` in upstream-fetch.ts). */
  request: string;
  /** Authorizations a person completed while this request waited for them. */
  completed: number;
  /** The scopes of its last step-up; absent after a plain 401. */
  scopes?: string[];
  /** The authorization it waits for. */
  pending?: HandedOut;
  /** It reached the limit: no new URL until it succeeds or a person starts an authorization. */
  limited?: boolean;
}

export type StepUpDecision =
  /** The request already waits for an authorization that asks for enough: hand out the same URL. */
  | { kind: 'reuse'; url: string; scopes: string[] }
  /** Prepare a new authorization for `scopes`. */
  | { kind: 'authorize'; scopes: string[] }
  /** `STEP_UP_LIMIT` authorizations were completed for this request and it still lacks scopes. */
  | { kind: 'limit'; scopes: string[] };

export function decideStepUp(input: {
  sequence: AuthSequence | undefined;
  granted: readonly string[] | undefined;
  challenged: readonly string[] | undefined;
  now: number;
  /** A URL is reused only while it has at least this long to live. */
  reuseMarginMs: number;
}): StepUpDecision {
  const { sequence } = input;
  const scopes = unionScopes(input.granted, input.challenged);
  const pending = sequence?.pending;
  if (
    pending?.scopes &&
    coversScopes(pending.scopes, scopes) &&
    pending.expiresAt - input.now >= input.reuseMarginMs
  ) {
    return { kind: 'reuse', url: pending.url, scopes: pending.scopes };
  }
  if (sequence?.limited || (sequence?.completed ?? 0) >= STEP_UP_LIMIT) return { kind: 'limit', scopes };
  return { kind: 'authorize', scopes };
}

/** The open sequences of one upstream, by request. Not persisted: a restart starts them over. */
export class AuthSequences {
  readonly #byRequest = new Map<string, AuthSequence>();

  get(request: string): AuthSequence | undefined {
    return this.#byRequest.get(request);
  }

  /** `request` waits for `authorization` (a step-up passes its `scopes`). */
  handedOut(request: string, authorization: HandedOut): void {
    const previous = this.#byRequest.get(request);
    const scopes = authorization.scopes ?? previous?.scopes;
    this.#put({
      request,
      completed: previous?.completed ?? 0,
      ...(scopes ? { scopes } : {}),
      pending: authorization,
    });
  }

  /** Every open request waits for `authorization` (a person started it). */
  handedOutToAll(authorization: HandedOut): void {
    for (const sequence of this.#byRequest.values()) sequence.pending = authorization;
  }

  /** `request` reached the limit still lacking `scopes`. */
  limit(request: string, scopes: string[]): void {
    const previous = this.#byRequest.get(request);
    this.#put({ request, completed: previous?.completed ?? STEP_UP_LIMIT, scopes, limited: true });
  }

  /** A person completed an authorization: each request waiting for one has had one more. */
  completed(): void {
    for (const sequence of this.#byRequest.values()) {
      if (!sequence.pending) continue;
      sequence.completed++;
      delete sequence.pending;
    }
  }

  /** `request` went through: its sequence is over. */
  succeeded(request: string): void {
    this.#byRequest.delete(request);
  }

  /** Whether any request's authorizations are being counted. */
  get counting(): boolean {
    return this.#byRequest.size > 0;
  }

  /**
   * A person starts an authorization by hand: limited requests start a fresh sequence (the limit
   * stops loops nobody watches, not a person who decided to try again).
   */
  liftLimits(): void {
    for (const sequence of this.#byRequest.values()) {
      if (!sequence.limited) continue;
      sequence.completed = 0;
      delete sequence.limited;
    }
  }

  /** The scopes of the newest step-up still open: what an authorization started by hand asks for. */
  wantedScopes(): string[] | undefined {
    let scopes: string[] | undefined;
    for (const sequence of this.#byRequest.values()) scopes = sequence.scopes ?? scopes;
    return scopes;
  }

  clear(): void {
    this.#byRequest.clear();
  }

  /** Stores `sequence` as the newest (Map order is insertion order), forgetting the oldest beyond the bound. */
  #put(sequence: AuthSequence): void {
    this.#byRequest.delete(sequence.request);
    this.#byRequest.set(sequence.request, sequence);
    for (const oldest of this.#byRequest.keys()) {
      if (this.#byRequest.size <= MAX_SEQUENCES) break;
      this.#byRequest.delete(oldest);
    }
  }
}
