/**
 * A progress notification read in the same chunk as its request's result must still reach the
 * caller: the SDK's Protocol handles notifications a microtask late but responses at once, and a
 * response ends its request's progress handler. A stdio child that writes every progress line and
 * the result in one write shows it on every Node version (over HTTP, Node 24's parser did).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';

import { BoundedLog } from '../../server/upstream/bounded-log.js';
import { StdioTransport } from '../../server/upstream/stdio-transport.js';

/** A raw JSON-RPC server on stdio: tools/call answers with three progress lines and the result, in one write. */
const CHILD = `
const rl = require('node:readline').createInterface({ input: process.stdin });
const send = (m) => JSON.stringify({ jsonrpc: '2.0', ...m }) + '\\n';
rl.on('line', (line) => {
  const m = JSON.parse(line);
  if (m.method === 'initialize') {
    process.stdout.write(send({ id: m.id, result: { protocolVersion: m.params.protocolVersion,
      capabilities: { tools: {} }, serverInfo: { name: 'burst', version: '1' } } }));
  } else if (m.method === 'tools/call') {
    const token = m.params._meta.progressToken;
    let out = '';
    for (let i = 1; i <= 3; i++) {
      out += send({ method: 'notifications/progress', params: { progressToken: token, progress: i, total: 3 } });
    }
    out += send({ id: m.id, result: { content: [{ type: 'text', text: 'done' }] } });
    process.stdout.write(out);
  }
});
`;

test('progress written in one chunk with the result is delivered before the result, every step', async (t) => {
  const transport = new StdioTransport({
    command: process.execPath,
    args: ['-e', CHILD],
    env: {},
    cwd: process.cwd(),
    stderr: new BoundedLog(),
  });
  const client = new Client({ name: 'test', version: '1' });
  await client.connect(transport);
  t.after(() => client.close());
  const progress: number[] = [];
  const errors: string[] = [];
  client.onerror = (error) => errors.push(error.message);
  const result = await client.callTool({ name: 'burst', arguments: {} }, undefined, {
    onprogress: (p) => progress.push(p.progress),
  });
  assert.deepEqual(progress, [1, 2, 3]);
  assert.deepEqual(result.content, [{ type: 'text', text: 'done' }]);
  assert.deepEqual(errors, [], 'no progress notification for an unknown token');
});
