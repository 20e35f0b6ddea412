/**
 * The demo upstream that ships with Gatehouse: a small stdio MCP server, so the default
 * mcp_settings.json shows tools through the gateway with no download. Run by the gateway as
 * `node dist/server/demo/demo-server.js`.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const server = new McpServer({ name: 'gatehouse-demo', version: '1.0.0' });

server.registerTool(
  'echo',
  { title: 'Echo', description: 'Returns the text it is given.', inputSchema: { text: z.string() } },
  async ({ text }) => ({ content: [{ type: 'text', text }] }),
);

server.registerTool(
  'add',
  { title: 'Add', description: 'Adds two numbers.', inputSchema: { a: z.number(), b: z.number() } },
  async ({ a, b }) => ({
    content: [{ type: 'text', text: String(a + b) }],
    structuredContent: { sum: a + b },
  }),
);

server.registerTool(
  'current_time',
  { title: 'Current time', description: 'The current time in ISO 8601, in UTC.' },
  async () => ({ content: [{ type: 'text', text: new Date().toISOString() }] }),
);

server.registerTool(
  'count_to',
  {
    title: 'Count to N',
    description: 'Counts to n, one step every 200 ms, reporting progress on the way.',
    inputSchema: { n: z.number().int().min(1).max(50) },
  },
  async ({ n }, extra) => {
    const token = extra._meta?.progressToken;
    for (let i = 1; i <= n; i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      if (extra.signal.aborted) return { content: [{ type: 'text', text: `stopped at ${i - 1}` }] };
      if (token !== undefined) {
        await extra.sendNotification({
          method: 'notifications/progress',
          params: { progressToken: token, progress: i, total: n },
        });
      }
    }
    return { content: [{ type: 'text', text: `counted to ${n}` }] };
  },
);

server.registerPrompt(
  'summarize',
  { title: 'Summarize', description: 'Asks for a summary of a text.', argsSchema: { text: z.string() } },
  ({ text }) => ({
    messages: [{ role: 'user', content: { type: 'text', text: `Summarize in one sentence:\n\n${text}` } }],
  }),
);

server.registerResource(
  'about',
  'demo://about',
  { title: 'About the demo', mimeType: 'text/plain' },
  async (uri) => ({
    contents: [
      { uri: uri.href, text: 'This resource comes from the Gatehouse demo server, through the gateway.' },
    ],
  }),
);

await server.connect(new StdioServerTransport());
