/**
 * The security headers of every answer Gatehouse gives through Fastify (the MCP endpoint writes its
 * own JSON and SSE answers and skips this). One hook, registered app-wide in app.ts, so a new HTML
 * page cannot be served without them.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CALLBACK_STYLE_SOURCE } from './callback-page.js';

/**
 * Scripts and styles only from Gatehouse itself (the callback page's one inline style by its hash),
 * no plugins, no framing (clickjacking), no `<base>`, forms only back to Gatehouse.
 */
export const HTML_CONTENT_SECURITY_POLICY =
  `default-src 'self'; script-src 'self'; style-src 'self' ${CALLBACK_STYLE_SOURCE}; ` +
  "img-src 'self' data:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; " +
  "base-uri 'none'; form-action 'self'";

/**
 * An `onSend` hook. Every answer: `nosniff`. HTML answers: the CSP above, `X-Frame-Options: DENY`
 * for browsers without `frame-ancestors`, no Referer (the OAuth callback's URL carries the
 * authorization code) and, unless the route chose a cache policy, `no-store`.
 */
export async function securityHeaders(
  _req: FastifyRequest,
  reply: FastifyReply,
  payload: unknown,
): Promise<unknown> {
  reply.header('x-content-type-options', 'nosniff');
  const type = reply.getHeader('content-type');
  if (typeof type === 'string' && type.toLowerCase().startsWith('text/html')) {
    reply.header('content-security-policy', HTML_CONTENT_SECURITY_POLICY);
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'no-referrer');
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
  }
  return payload;
}
