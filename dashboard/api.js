/**
 * The admin API, called with the session cookie (same origin: the browser sends it, and adds an
 * `Origin` header to every POST/PUT/PATCH/DELETE, which the gateway checks). The page never holds
 * the admin token after sign-in.
 */

/** A non-2xx answer: the API's stable `code`, its message, and the problems a 400 listed. */
export class ApiError extends Error {
  constructor(status, code, message, problems = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.problems = problems;
  }
}

const unauthorizedListeners = new Set();

/** Called when any call comes back 401: the session ended (expired, signed out in another tab). */
export function onUnauthorized(listener) {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

/**
 * Calls the admin API with a JSON body (when `body` is given) and returns the parsed answer
 * (undefined for 204). A non-2xx answer throws an ApiError; a 401 also tells the listeners above.
 */
export async function api(path, { method = 'GET', body, headers = {}, signal } = {}) {
  const response = await fetch(path, {
    method,
    cache: 'no-store',
    credentials: 'same-origin',
    signal,
    headers: {
      accept: 'application/json',
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  if (!response.ok) {
    const failure = await readApiError(response);
    if (failure.status === 401) for (const listener of unauthorizedListeners) listener(failure);
    throw failure;
  }
  if (response.status === 204) return undefined;
  const text = await response.text();
  return text ? JSON.parse(text) : undefined;
}

/** Reads an error answer (`{ error: { code, message, problems? } }`) into an ApiError. */
export async function readApiError(response) {
  const body = await response.json().catch(() => null);
  const error = body?.error ?? {};
  const problems = error.problems ?? body?.problems ?? [];
  return new ApiError(
    response.status,
    error.code ?? `HTTP_${response.status}`,
    error.message ?? response.statusText,
    Array.isArray(problems) ? problems : [],
  );
}

/** `api/servers/<name>` with the name encoded (names may hold any character). */
export const serverPath = (name, ...rest) =>
  ['api/servers', encodeURIComponent(name), ...rest.map((part) => encodeURIComponent(part))].join('/');

/** One line for a failure: `CODE: message` for API errors, the message otherwise. */
export const describeError = (error) =>
  error instanceof ApiError
    ? `${error.code}: ${error.message}`
    : String(error?.message ?? error ?? 'unknown error');

/** Where in the file a problem is: its path, then line and column when known. */
export const placeOf = (problem) =>
  [
    problem.path,
    problem.line ? `line ${problem.line}${problem.column ? `, column ${problem.column}` : ''}` : '',
  ]
    .filter(Boolean)
    .join(', ');
