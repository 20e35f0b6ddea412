import { createHash } from 'node:crypto';

/** The callback page's only style, inline so the page stands alone; the CSP allows it by hash. */
const CALLBACK_STYLE =
  'body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem}\n' +
  'h1{font-size:1.4rem}.ok{color:#146c2e}.fail{color:#a61b1b}';

/** The CSP source that allows exactly the callback page's `<style>` (CSP 3, hash-source). */
export const CALLBACK_STYLE_SOURCE = `'sha256-${createHash('sha256').update(CALLBACK_STYLE).digest('base64')}'`;

/** The small HTML page a person sees after the authorization server sends them back. */
export function callbackPage(input: {
  ok: boolean;
  message: string;
  code?: string;
  /** Default: "Authorized" or "Authorization failed". */
  title?: string;
  /** Links the person may follow next (Gatehouse's own pages). */
  links?: Array<{ href: string; text: string }>;
}): string {
  const title = escapeHtml(input.title ?? (input.ok ? 'Authorized' : 'Authorization failed'));
  const links = (input.links ?? [])
    .map((link) => `<p><a href="${escapeHtml(link.href)}">${escapeHtml(link.text)}</a></p>`)
    .join('');
  const code = (input.code ? `<p><code>${escapeHtml(input.code)}</code></p>` : '') + links;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Gatehouse: ${title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${CALLBACK_STYLE}</style></head>
<body><h1 class="${input.ok ? 'ok' : 'fail'}">${title}</h1><p>${escapeHtml(input.message)}</p>${code}</body></html>
`;
}

/** Messages may carry text an authorization server chose: never render it unescaped. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
