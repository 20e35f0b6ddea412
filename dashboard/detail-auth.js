/**
 * The sign-in part of a server's page, as pure builders from its ServerDetail: who it is connected
 * as, the last error with its step and a hint, token health, the OAuth client, and the auth
 * timeline with what each step learned. Never a token: the API sends none.
 */
import { facts, h, timeEl } from './dom.js';
import { clock, relative } from './words.js';

const STEPS = {
  discovery: 'Discovery (finding the authorization server)',
  registration: 'Registration (getting a client id)',
  authorization: 'Authorization (your consent)',
  token_exchange: 'Token exchange',
  refresh: 'Token refresh',
};

/** What a person can do about an error, by code (README, "Troubleshooting", says more). */
const HINTS = {
  UPSTREAM_CONNECT_FAILED: 'Check that the server is running and that its URL or command is right.',
  UPSTREAM_SPAWN_FAILED: 'Check the command: is it installed, and is it on the PATH Gatehouse runs with?',
  UPSTREAM_AUTH_REQUIRED: 'Click Connect to sign in.',
  UPSTREAM_CREDENTIALS_REQUIRED: 'Set the credentials below; the server connects once they are set.',
  UPSTREAM_NOT_MCP: 'The URL answers, but not as an MCP server: check the path (often /mcp or /sse).',
  UPSTREAM_TIMEOUT: 'The server is slow or stuck; Gatehouse keeps retrying.',
  UPSTREAM_HTTP_ERROR: 'The server answered with an HTTP error; check its URL and headers.',
  OAUTH_DISCOVERY_FAILED: 'The server did not say where to sign in; set the OAuth endpoints by hand.',
  OAUTH_REGISTRATION_FAILED:
    'The authorization server refused to register Gatehouse; configure a client id in the OAuth settings.',
  OAUTH_INVALID_GRANT: 'The sign-in expired or was revoked; click Connect to sign in again.',
  OAUTH_INSECURE_ENDPOINT: 'Use https, or list the host in systemConfig.allowedPrivateHosts.',
  SSRF_BLOCKED: 'List the host in systemConfig.allowedPrivateHosts if it is yours.',
  SECRETS_DECRYPT_FAILED: 'A stored credential no longer decrypts; Connect (or set the credentials) again.',
};

const LEARNED = [
  ['resourceMetadataUrl', 'Resource metadata'],
  ['issuer', 'Issuer'],
  ['authorizationEndpoint', 'Authorization endpoint'],
  ['tokenEndpoint', 'Token endpoint'],
  ['registration', 'Registration'],
  ['scopesRequested', 'Scopes requested'],
  ['scopesGranted', 'Scopes granted'],
  ['errorStep', 'Failed step'],
];

const asText = (value) => (Array.isArray(value) ? value.join(' ') || 'none' : String(value));
const when = (ms, now) => (ms ? [timeEl(ms, `${clock(ms)} (${relative(ms, now)})`)] : ['—']);

/** "Connected as alice@example.com", or nothing when no account is known. */
export function accountLine(detail) {
  const account = detail.auth?.account?.name;
  return account ? h('p', { class: 'account' }, 'Connected as ', h('strong', { text: account })) : null;
}

/** The last error: its message, code, step (for auth errors), next retry and a hint; null when none. */
export function lastError(error, nextRetryAt) {
  if (!error) return null;
  const hint = HINTS[error.code];
  return h(
    'section',
    { class: 'panel error-panel', 'aria-labelledby': 'last-error-title' },
    h('h3', { id: 'last-error-title', text: 'Last error' }),
    facts([
      ['Message', error.message],
      ['Code', h('code', { text: error.code })],
      error.step && ['Step', STEPS[error.step] ?? error.step],
      nextRetryAt && ['Next retry', ...when(nextRetryAt, Date.now())],
      hint && ['What to do', hint],
    ]),
  );
}

/** Token health and the OAuth client; null for a server without OAuth state. */
export function tokenHealth(auth, now = Date.now()) {
  if (!auth) return null;
  const token = auth.token;
  const client = auth.client;
  const rows = [
    [
      'Client',
      client
        ? `${client.method === 'cimd' ? 'CIMD' : client.method}${client.issuer ? ` at ${client.issuer}` : ''}`
        : 'none yet',
    ],
  ];
  if (token) {
    rows.push(
      ['Expires', ...(token.expiresAt ? when(token.expiresAt, now) : ['no expiry given'])],
      ['Next refresh', ...when(token.nextRefreshAt, now)],
      ['Last refresh', ...(token.lastRefreshAt ? when(token.lastRefreshAt, now) : ['never'])],
      ['Refresh failures', String(token.refreshFailures ?? 0)],
      token.lastRefreshError && [
        'Last refresh error',
        `${token.lastRefreshError.message} (${token.lastRefreshError.code})`,
      ],
      ['Scopes', asText(token.scopes ?? [])],
    );
  } else rows.push(['Token', 'none']);
  return facts(rows);
}

/** The auth timeline: each step with its time, stage, detail and what it learned. */
export function timeline(auth) {
  const log = auth?.log ?? [];
  const list = h('ol', { class: 'timeline' });
  // Each step shows only what it learned: a fact already shown with the same value by an earlier
  // step is not repeated (the engine passes what it knows so far with every step).
  const shown = new Map();
  for (const event of log) {
    const learned = [];
    for (const [key, term] of LEARNED) {
      if (event.facts?.[key] === undefined) continue;
      const value = asText(event.facts[key]);
      if (shown.get(key) === value) continue;
      shown.set(key, value);
      learned.push([term, value]);
    }
    list.append(
      h(
        'li',
        {},
        h(
          'div',
          { class: 'timeline-head' },
          timeEl(event.at, clock(event.at)),
          h('span', { class: 'badge', dataset: { stage: event.stage }, text: event.stage }),
          h('span', { class: 'timeline-detail', text: event.detail }),
        ),
        learned.length ? facts(learned, 'facts learned') : null,
      ),
    );
  }
  if (log.length === 0) list.append(h('li', { class: 'muted', text: 'No sign-in steps yet.' }));
  return list;
}
