import type { ErrorCode } from '../errors.js';

/** One upstream's connection state, as the status API and the dashboard show it. */
export type ConnectionState =
  | { status: 'disabled' }
  | { status: 'connecting'; attempt: number }
  | { status: 'connected'; since: number }
  | { status: 'auth_required'; error: { code: ErrorCode; message: string } }
  | { status: 'error'; error: { code: ErrorCode; message: string }; nextRetryAt: number | null };
