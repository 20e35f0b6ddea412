/**
 * Settings errors in the admin API's answers: `{ error: { code, message, problems } }`, each
 * problem with its path and, where the text is known, its line and column (the same description
 * as the settings status of a rejected hand edit).
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isGatehouseError, type ErrorCode, type GatehouseError } from '../errors.js';
import { describeRejection, type LocatedProblem } from '../settings/status.js';

const SETTINGS_PROBLEMS = new Set<ErrorCode>([
  'SETTINGS_INVALID',
  'SETTINGS_INVALID_JSON',
  'SETTINGS_MISSING_ENV',
]);

/** The answer body of an error; settings errors list their problems (located in `text` if given). */
export function errorBody(
  error: GatehouseError,
  text?: string,
): { error: { code: ErrorCode; message: string; problems?: LocatedProblem[] } } {
  if (!SETTINGS_PROBLEMS.has(error.code)) return { error: error.toJSON() };
  const { problems } = describeRejection(error, text, 0);
  return { error: { ...error.toJSON(), problems } };
}

/**
 * The admin scope's error handler: settings errors with their problems; everything else goes on
 * to the app's handler (one error table, one shape).
 */
export function adminErrorHandler(
  error: FastifyError | GatehouseError,
  _req: FastifyRequest,
  reply: FastifyReply,
): unknown {
  if (isGatehouseError(error) && SETTINGS_PROBLEMS.has(error.code)) {
    return reply.code(error.status).send(errorBody(error));
  }
  throw error;
}
