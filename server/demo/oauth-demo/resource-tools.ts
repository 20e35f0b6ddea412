/**
 * The tools of the OAuth-protected demo MCP server. They answer only to requests that carried a
 * valid access token, and show what that token says (never the token itself).
 */
import { createHash } from 'node:crypto';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';

/** One MCP server per session (the SDK binds a server to one transport). */
export function buildProtectedServer(): McpServer {
  const server = new McpServer({ name: 'gatehouse-demo-oauth', version: '1.0.0' });

  server.registerTool(
    'whoami',
    {
      title: 'Who am I',
      description: 'The account (sub), client and scopes of the access token this call came with.',
    },
    async (extra) => {
      const auth = extra.authInfo;
      const who = {
        sub: auth?.extra?.sub ?? null,
        clientId: auth?.clientId ?? null,
        scopes: auth?.scopes ?? [],
        expiresAt: auth?.expiresAt ? new Date(auth.expiresAt * 1000).toISOString() : null,
      };
      return {
        content: [{ type: 'text', text: `You are "${String(who.sub)}" (scopes: ${who.scopes.join(' ')}).` }],
        structuredContent: who,
      };
    },
  );

  server.registerTool(
    'secret_number',
    {
      title: 'Secret number',
      description:
        'A number between 0 and 999 that only a signed-in account gets; the same for the same account.',
    },
    async (extra) => {
      const sub = String(extra.authInfo?.extra?.sub ?? '');
      const number = createHash('sha256').update(sub).digest().readUInt32BE(0) % 1000;
      return {
        content: [{ type: 'text', text: `The secret number for "${sub}" is ${number}.` }],
        structuredContent: { number },
      };
    },
  );

  return server;
}
