/**
 * Words for people. The gateway's `label` says what a server's state means ("Connected", "Needs
 * sign-in", …); the raw status, auth stage and error code stay available as a tooltip and in the
 * detail view. Pure functions of a ServerSummary.
 */

/** Badge colours by meaning, not by raw code. */
const TONES = {
  Connected: 'ok',
  // My servers: signed in, the person's connection starts on their first call.
  Ready: 'ok',
  'Connecting…': 'busy',
  'Signing in…': 'busy',
  'Needs sign-in': 'warn',
  'Needs credentials': 'warn',
  Disabled: 'off',
  Error: 'bad',
};

const SIGNING_IN = new Set(['discovering', 'registering', 'exchanging', 'refreshing']);

/**
 * The server's label, with the retry time for an error ("Error — retrying at 12:01:05"). Uses the
 * gateway's `label` when it sends one, else derives the same words from status and stage.
 */
export function labelOf(server) {
  const base = server.label ?? derivedLabel(server);
  if (base === 'Error' && server.nextRetryAt) return `Error — retrying at ${clock(server.nextRetryAt)}`;
  return base;
}

function derivedLabel(server) {
  const stage = server.auth?.stage;
  switch (server.status) {
    case 'disabled':
      return 'Disabled';
    case 'connected':
      return 'Connected';
    case 'auth_required':
      return needsCredentials(server) ? 'Needs credentials' : 'Needs sign-in';
    case 'error':
      return 'Error';
    default:
      return SIGNING_IN.has(stage) ? 'Signing in…' : 'Connecting…';
  }
}

/** The badge's tone: ok, busy, warn, bad or off. */
export function toneOf(server) {
  return TONES[server.label ?? derivedLabel(server)] ?? 'busy';
}

/** The raw codes behind the words, for a tooltip: `status: auth_required · stage: awaiting_user · code: …`. */
export function rawCodes(server) {
  return [
    `status: ${server.status}`,
    server.auth ? `auth stage: ${server.auth.stage}` : '',
    server.error ? `code: ${server.error.code}` : '',
  ]
    .filter(Boolean)
    .join(' · ');
}

/** Whether each person brings their own credentials to the server (`credentials: "perUser"`). */
export const isPerUser = (server) => server?.credentials === 'perUser';

/**
 * For the administrator, how many people use a per-user server: "1 connected of 2 people"
 * (connections running now, people with credentials stored). Undefined for a shared server.
 */
export function perPersonLine(server) {
  if (!isPerUser(server)) return undefined;
  const counts = server.people;
  if (!counts) return 'Each person’s own';
  return `${counts.connected} connected of ${counts.people} ${counts.people === 1 ? 'person' : 'people'}`;
}

export function needsCredentials(server) {
  // A per-user server's credentials are each person's, set in their own My servers.
  if (isPerUser(server)) return false;
  return (
    server.auth?.needs === 'credentials' ||
    (server.inputs?.missing?.length ?? 0) > 0 ||
    server.error?.code === 'UPSTREAM_CREDENTIALS_REQUIRED'
  );
}

/** Whether Connect (start the OAuth flow) can help this server. */
export function canConnect(server) {
  if (isPerUser(server) || needsCredentials(server)) return false;
  const stage = server.auth?.stage;
  return server.status === 'auth_required' || stage === 'awaiting_user' || stage === 'failed';
}

/**
 * One sentence about signing in, for the card: what to click, or that nothing is needed.
 * Undefined for stdio servers (nothing to sign in to).
 */
export function signInLine(server) {
  if (server.status === 'disabled') return undefined;
  if (isPerUser(server)) return 'Each person connects it for themselves, in My servers';
  if (needsCredentials(server)) return `Set the credentials of ${server.name} on its page to connect it`;
  if (canConnect(server)) return `Click Connect to sign in to ${server.name}`;
  const stage = server.auth?.stage;
  if (!stage) return undefined;
  if (server.auth.label) return server.auth.label;
  if (stage === 'authorized') return 'Signed in';
  if (SIGNING_IN.has(stage)) return 'Signing in…';
  if (stage === 'unauthenticated') return 'No sign-in needed';
  return undefined;
}

/** A wall-clock time, e.g. 12:01:05. */
export function clock(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/** "in 9 min", "3 s ago": a time relative to `now`, rounded for reading. */
export function relative(ms, now = Date.now()) {
  const delta = ms - now;
  const abs = Math.abs(delta);
  const amount =
    abs < 60_000
      ? `${Math.round(abs / 1000)} s`
      : abs < 3_600_000
        ? `${Math.round(abs / 60_000)} min`
        : abs < 86_400_000
          ? `${Math.round(abs / 3_600_000)} h`
          : `${Math.round(abs / 86_400_000)} d`;
  return delta >= 0 ? `in ${amount}` : `${amount} ago`;
}

/** "1 server", "2 servers". */
export const plural = (count, word) => `${count} ${word}${count === 1 ? '' : 's'}`;

/**
 * A scope in words: `mcp:all` → "Everything", `mcp:server:x` → "server x", `mcp:group:x` →
 * "group x"; any other scope (openid, offline_access…) as written.
 */
export function scopeWords(scope) {
  if (scope === 'mcp:all') return 'Everything';
  const match = /^mcp:(server|group):(.+)$/.exec(scope);
  return match ? `${match[1]} ${match[2]}` : scope;
}
