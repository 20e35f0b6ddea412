/**
 * One upstream's auth stage (DESIGN.md, "One upstream's state"): a discriminated union changed only
 * by `transition`, and a bounded event log the dashboard shows. Pure; no I/O, no clock.
 *
 * ```
 * unauthenticated → discovering → registering → awaiting_user → exchanging → authorized ⇄ refreshing
 * refreshing → authorized (refresh failed for a passing reason: the tokens are kept, it is retried)
 * any → failed ;  authorized → (expired | revoked | step-up) → awaiting_user ;  any → unauthenticated (disconnect)
 * ```
 */
import type { ErrorCode } from '../errors.js';
import type { AuthFacts, AuthStep } from './facts.js';

export type AuthStage =
  | { kind: 'unauthenticated' }
  | { kind: 'discovering' }
  | { kind: 'registering' }
  | { kind: 'awaiting_user'; authorizationUrl: string; expiresAt: number }
  | { kind: 'exchanging' }
  | { kind: 'authorized'; expiresAt: number | null }
  | { kind: 'refreshing' }
  | { kind: 'failed'; code: ErrorCode; message: string; step?: AuthStep };

export type StageKind = AuthStage['kind'];

/** Why a person has to (re-)authorize. */
export type AuthorizationReason = 'required' | 'expired' | 'revoked' | 'step_up' | 'restart';

export type StageEvent =
  | { type: 'discover' }
  | { type: 'register' }
  /** Discovery/registration finished without starting an authorization (start-up registration). */
  | { type: 'ready' }
  | { type: 'await_user'; authorizationUrl: string; expiresAt: number; reason: AuthorizationReason }
  | { type: 'exchange' }
  | { type: 'authorized'; expiresAt: number | null; via: 'exchange' | 'refresh' | 'restore' | 'import' }
  | { type: 'refresh' }
  /**
   * A refresh failed for a reason that says nothing about the grant (network, timeout, 5xx): the
   * tokens are kept and the refresh is tried again, so no person is asked.
   */
  | { type: 'refresh_failed'; expiresAt: number | null; code: ErrorCode; message: string }
  /** `step`: which step of the flow failed, when the failure belongs to one. */
  | { type: 'fail'; code: ErrorCode; message: string; step?: AuthStep | undefined }
  | { type: 'disconnect' };

/** One line of the event log: never a token, code, verifier or secret. */
export interface AuthEvent {
  at: number;
  stage: StageKind;
  /** Our own words for what happened (`describe`). */
  detail: string;
  /** What the step learned (facts.ts), as data; absent when it learned nothing. */
  facts?: AuthFacts;
}

const ALL: readonly StageKind[] = [
  'unauthenticated',
  'discovering',
  'registering',
  'awaiting_user',
  'exchanging',
  'authorized',
  'refreshing',
  'failed',
];
const except = (...kinds: StageKind[]): readonly StageKind[] => ALL.filter((k) => !kinds.includes(k));

/** Which stages each event may leave from. Anything else is an illegal transition. */
export const ALLOWED_FROM: Readonly<Record<StageEvent['type'], readonly StageKind[]>> = {
  discover: ['unauthenticated', 'awaiting_user', 'authorized', 'failed'],
  register: ['discovering'],
  ready: ['discovering', 'registering'],
  // A token exchange in flight decides the next stage itself.
  await_user: except('exchanging'),
  exchange: except('exchanging'),
  // From awaiting_user a refresh must not hide a pending step-up: it keeps the stage.
  authorized: ['exchanging', 'refreshing', 'unauthenticated', 'failed'],
  refresh: ['authorized', 'failed'],
  refresh_failed: ['refreshing'],
  fail: ALL,
  disconnect: ALL,
};

/**
 * The one function that changes a stage. Returns the next stage, or `null` when the event is not
 * allowed from `stage` (the caller keeps the current stage and may log the attempt).
 */
export function transition(stage: AuthStage, event: StageEvent): AuthStage | null {
  if (!ALLOWED_FROM[event.type].includes(stage.kind)) return null;
  switch (event.type) {
    case 'discover':
      return { kind: 'discovering' };
    case 'register':
      return { kind: 'registering' };
    case 'ready':
    case 'disconnect':
      return { kind: 'unauthenticated' };
    case 'await_user':
      return { kind: 'awaiting_user', authorizationUrl: event.authorizationUrl, expiresAt: event.expiresAt };
    case 'exchange':
      return { kind: 'exchanging' };
    case 'authorized':
    case 'refresh_failed':
      return { kind: 'authorized', expiresAt: event.expiresAt };
    case 'refresh':
      return { kind: 'refreshing' };
    case 'fail':
      return {
        kind: 'failed',
        code: event.code,
        message: event.message,
        ...(event.step ? { step: event.step } : {}),
      };
    default: {
      const unreachable: never = event;
      return unreachable;
    }
  }
}

/** The log line for an event; built from our own words and stable codes only. */
export function describe(event: StageEvent): string {
  switch (event.type) {
    case 'discover':
      return 'discovering the authorization server';
    case 'register':
      return 'registering a client';
    case 'ready':
      return 'client ready; authorization starts when the server asks for it';
    case 'await_user':
      return `waiting for a person to authorize (${event.reason.replace('_', '-')})`;
    case 'exchange':
      return 'exchanging the authorization code';
    case 'authorized':
      return `authorized (${event.via})`;
    case 'refresh':
      return 'refreshing the access token';
    case 'refresh_failed':
      return `refresh failed, tokens kept; it is retried (${event.code}: ${event.message})`;
    case 'fail':
      return `${event.code}: ${event.message}`;
    case 'disconnect':
      return 'disconnected; tokens forgotten';
    default: {
      const unreachable: never = event;
      return unreachable;
    }
  }
}

/**
 * The facts a log entry for `event` carries: what the caller learned, plus the failed step of a
 * failure (a refresh that failed for a passing reason belongs to the refresh step). Pure.
 */
export function entryFacts(event: StageEvent, learned: AuthFacts | undefined): AuthFacts | undefined {
  const errorStep =
    event.type === 'fail' ? event.step : event.type === 'refresh_failed' ? 'refresh' : undefined;
  const facts = { ...learned, ...(errorStep ? { errorStep } : {}) };
  return Object.keys(facts).length > 0 ? facts : undefined;
}

/** The last `capacity` events, oldest first. */
export class EventLog {
  readonly #events: AuthEvent[] = [];
  constructor(readonly capacity = 50) {}

  append(event: AuthEvent): void {
    this.#events.push(event);
    if (this.#events.length > this.capacity) this.#events.splice(0, this.#events.length - this.capacity);
  }

  list(): AuthEvent[] {
    return this.#events.map((e) => (e.facts ? { ...e, facts: structuredClone(e.facts) } : { ...e }));
  }
}
