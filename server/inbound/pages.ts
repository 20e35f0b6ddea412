/**
 * The HTML pages of Gatehouse's authorization server: sign-in, consent and errors. Plain forms that
 * post back to Gatehouse, no script at all: the app-wide CSP (server/api/security-headers.ts,
 * `script-src 'self'`, `form-action 'self'`) applies, and every value that comes from a client
 * (its name, its redirect URI, the scopes it asked for) is escaped.
 */
import { OFFLINE_ACCESS } from './resources.js';

/** Escapes text for HTML element content and double-quoted attribute values. */
export function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** A whole page; `body` is already-escaped markup. The dashboard's stylesheet, served by Gatehouse. */
export function page(title: string, body: string, head = ''): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)} · Gatehouse</title>
<link rel="stylesheet" href="/style.css">
${head}</head>
<body>
<main class="oauth-page">
<h1>${escapeHtml(title)}</h1>
${body}
</main>
</body>
</html>
`;
}

/** What the consent page shows about the request. */
export interface ConsentView {
  action: string;
  clientName: string;
  clientId: string;
  redirectHost: string;
  scopes: string[];
  resource?: string;
}

/** Words for a scope, the raw scope always shown beside them. */
export function describeScope(scope: string): string {
  if (scope === 'mcp:all') return 'Use every MCP server behind this Gatehouse';
  if (scope.startsWith('mcp:server:')) return `Use the MCP server “${scope.slice('mcp:server:'.length)}”`;
  if (scope.startsWith('mcp:group:'))
    return `Use the MCP servers of the group “${scope.slice('mcp:group:'.length)}”`;
  if (scope === OFFLINE_ACCESS) return 'Stay connected (a refresh token) until you revoke it';
  if (scope === 'openid') return 'Know that you signed in';
  return 'Unknown permission (grants nothing here)';
}

/** The consent page: who asks, where the answer goes, what for; Allow or Deny. */
export function consentPage(view: ConsentView): string {
  const scopes =
    view.scopes.length === 0
      ? '<li>No permission at all (the client asked for no scope)</li>'
      : view.scopes
          .map((scope) => `<li>${escapeHtml(describeScope(scope))} <code>${escapeHtml(scope)}</code></li>`)
          .join('\n');
  const named = view.clientName === view.clientId ? '' : ` <small>(${escapeHtml(view.clientId)})</small>`;
  return page(
    'Allow access?',
    `<p><strong class="client-name">${escapeHtml(view.clientName)}</strong>${named} asks to use Gatehouse as you.</p>
<p>After your answer you are sent back to <strong class="redirect-host">${escapeHtml(view.redirectHost)}</strong>.</p>
${view.resource ? `<p>For <code>${escapeHtml(view.resource)}</code>, it asks to:</p>` : '<p>It asks to:</p>'}
<ul class="scopes">
${scopes}
</ul>
<form method="post" action="${escapeHtml(view.action)}/confirm"><button type="submit" name="decision" value="allow">Allow</button></form>
<form method="post" action="${escapeHtml(view.action)}/abort"><button type="submit" name="decision" value="deny">Deny</button></form>`,
  );
}

/**
 * The page after a sign-in or consent form: it sends the browser on at once (a refresh, not a
 * script), with a link for a browser that does not follow it.
 */
export function continuePage(to: string): string {
  const url = escapeHtml(to);
  return page(
    'Continuing…',
    `<p><a href="${url}">Continue</a></p>`,
    `<meta http-equiv="refresh" content="0;url=${url}">\n`,
  );
}

/** An error page: what went wrong in words, the OAuth error code for whoever reports it. */
export function errorPage(title: string, message: string, code?: string): string {
  return page(
    title,
    `<p>${escapeHtml(message)}</p>${code ? `<p><small>Code: <code>${escapeHtml(code)}</code></small></p>` : ''}`,
  );
}
