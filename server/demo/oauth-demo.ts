/**
 * The OAuth demo that ships with Gatehouse: an OAuth-protected MCP server with its own
 * authorization server, nothing downloaded. The gateway starts it as a stdio server (so it starts
 * and stops with the gateway); on start it also listens on http://127.0.0.1:<port> with the
 * authorization server and the protected MCP endpoint `/mcp`, which a second settings entry uses:
 *
 *   "demo-auth":  { "command": "node", "args": ["${GATEHOUSE_HOME}/dist/server/demo/oauth-demo.js"],
 *                   "env": { "DEMO_OAUTH_PORT": "3001" } },
 *   "demo-oauth": { "url": "http://127.0.0.1:3001/mcp" }
 *
 * It answers MCP's `initialize` only once the port listens (or failed to): when the gateway shows
 * demo-auth connected, demo-oauth's URL is up.
 * Environment: DEMO_OAUTH_PORT (default 3001); DEMO_OAUTH_STATE, the folder of the state file
 * `.gatehouse-demo-oauth.json` (default: the working directory, i.e. the settings file's folder).
 * The sign-in page accepts ANY username and password (oidc-provider's development pages).
 */
import './oauth-demo/console-to-stderr.js';
import { resolve } from 'node:path';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { startOAuthDemo, type OAuthDemo } from './oauth-demo/start.js';

const STATE_FILE_NAME = '.gatehouse-demo-oauth.json';
const log = (line: string) => void process.stderr.write(`oauth-demo: ${line}\n`);

const portText = process.env.DEMO_OAUTH_PORT || '3001';
const port = Number(portText);
const stateFile = resolve(process.env.DEMO_OAUTH_STATE || '.', STATE_FILE_NAME);

let demo: OAuthDemo | undefined;
let problem: string | undefined;
const started = (
  /^\d+$/.test(portText) && port <= 65535
    ? startOAuthDemo({ port, stateFile, log })
    : Promise.reject(new Error(`DEMO_OAUTH_PORT must be a port number, not "${portText}"`))
).then(
  (running) => {
    demo = running;
    log(`authorization server ${running.issuer}, protected MCP endpoint ${running.mcpUrl}`);
    log('sign-in page: ANY username and password work (development pages); the username becomes the sub');
    log(`state (signing key, clients, grants, refresh tokens): ${running.stateFile}`);
  },
  (error: unknown) => {
    problem = explain(error);
    log(`${problem} The OAuth demo is off; this stdio server keeps running.`);
  },
);

function explain(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE')
    return (
      `port ${port} on 127.0.0.1 is already in use (another Gatehouse demo still running?). ` +
      `Pick a free one: DEMO_OAUTH_PORT in the demo-auth entry and the port in demo-oauth's url.`
    );
  if (code === 'EACCES') return `not allowed to listen on 127.0.0.1:${port}.`;
  return `${(error as Error).message}.`;
}

const server = new McpServer({ name: 'gatehouse-demo-auth', version: '1.0.0' });

server.registerTool(
  'status',
  {
    title: 'OAuth demo status',
    description: 'Where the OAuth demo listens, how to sign in, and what it did since it started.',
  },
  async () => {
    const status = demo
      ? {
          listening: true,
          issuer: demo.issuer,
          mcpUrl: demo.mcpUrl,
          resourceMetadata: demo.metadataUrl,
          signIn: 'any username and password',
          stateFile: demo.stateFile,
          sinceStart: { ...demo.counts },
          stored: demo.stored(),
        }
      : { listening: false, problem: problem ?? 'not started', stateFile };
    return {
      content: [{ type: 'text', text: JSON.stringify(status, null, 2) }],
      structuredContent: status,
    };
  },
);

// The gateway stops a stdio server by closing its stdin, then SIGTERM: close the port and let the
// last state write finish, so the next start finds everything.
let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await started;
  await demo?.close().catch((error: unknown) => log(`closing: ${(error as Error).message}`));
  process.exit(0);
}
process.stdin.once('end', () => void stop());
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());

// The HTTP half first: a gateway that sees this stdio server answer finds port 3001 listening.
await started;
await server.connect(new StdioServerTransport());
