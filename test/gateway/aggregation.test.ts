import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FAST_TIMEOUTS, startGateway, stdioFixture, textOf, type TestGateway } from '../fixtures/gateway.js';
import { startHttpUpstream, type HttpUpstream } from '../fixtures/mcp-upstream.js';

describe('aggregation of several upstreams', () => {
  let alpha: HttpUpstream;
  let beta: HttpUpstream;
  let clash: HttpUpstream;
  let gw: TestGateway;

  before(async () => {
    alpha = await startHttpUpstream('alpha', { tools: ['b__c'] });
    beta = await startHttpUpstream('beta', { streamable: false });
    clash = await startHttpUpstream('alpha__b', { tools: ['c'] });
    gw = await startGateway({
      mcpServers: {
        alpha: { type: 'streamable-http', url: alpha.url },
        beta: { type: 'sse', url: beta.sseUrl },
        local: stdioFixture('local'),
        alpha__b: { url: clash.url },
        legacy: { url: beta.sseUrl },
      },
      groups: { pair: { servers: ['alpha', 'local'] } },
      systemConfig: { timeouts: FAST_TIMEOUTS },
    });
    for (const name of ['alpha', 'beta', 'local', 'alpha__b', 'legacy']) {
      await gw.waitForServer(name, (s) => s.status === 'connected', 'connected');
    }
  });
  after(async () => {
    await gw?.close();
    await Promise.all([alpha, beta, clash].map((u) => u?.stop()));
  });

  test('tools of every upstream are listed under <server>__<tool>', async () => {
    const client = await gw.client();
    const names = (await client.listTools()).tools.map((t) => t.name);
    for (const expected of ['alpha__echo', 'beta__echo', 'local__echo', 'alpha__b__echo', 'local__env']) {
      assert.ok(names.includes(expected), `${expected} missing from ${names.join(', ')}`);
    }
  });

  test('a name clash is resolved deterministically and reported by the catalog', async () => {
    const client = await gw.client();
    const names = (await client.listTools()).tools.map((t) => t.name);
    // alpha's "b__c" and alpha__b's "c" both want "alpha__b__c"; alpha sorts first and keeps it.
    assert.ok(names.includes('alpha__b__c'));
    assert.ok(names.includes('alpha__b__c__2'));
    assert.equal(textOf(await client.callTool({ name: 'alpha__b__c', arguments: {} })), 'alpha:b__c');
    assert.equal(textOf(await client.callTool({ name: 'alpha__b__c__2', arguments: {} })), 'alpha__b:c');
    assert.ok(gw.gateway.catalog.clashes().some((c) => c.includes('alpha__b__c__2')));
  });

  test('calls are routed to the owning upstream over each transport', async () => {
    const client = await gw.client();
    for (const server of ['alpha', 'beta', 'local']) {
      const result = await client.callTool({ name: `${server}__echo`, arguments: { text: 'hi' } });
      assert.equal(textOf(result), `${server}:hi`);
    }
  });

  test('prompts are namespaced and resources are read from their owner', async () => {
    const client = await gw.client();
    const prompts = (await client.listPrompts()).prompts.map((p) => p.name);
    assert.ok(prompts.includes('alpha__greet') && prompts.includes('beta__greet'));
    const prompt = await client.getPrompt({ name: 'beta__greet', arguments: { who: 'ana' } });
    assert.deepEqual(prompt.messages[0]?.content, { type: 'text', text: 'beta greets ana' });
    const resources = (await client.listResources()).resources.map((r) => r.uri);
    assert.ok(resources.includes('fixture://alpha/readme') && resources.includes('fixture://beta/readme'));
    const read = await client.readResource({ uri: 'fixture://beta/readme' });
    assert.equal((read.contents[0] as { text: string }).text, 'readme of beta');
  });

  test('/mcp/<group> and /mcp/<server> show only their servers', async () => {
    const group = await gw.client('/mcp/pair');
    const groupServers = new Set((await group.listTools()).tools.map((t) => t.name.split('__')[0]));
    assert.deepEqual([...groupServers].sort(), ['alpha', 'local']);
    await assert.rejects(
      group.callTool({ name: 'beta__echo', arguments: { text: 'x' } }),
      /no tool named "beta__echo"/,
    );

    const single = await gw.client('/mcp/beta');
    const singleTools = (await single.listTools()).tools.map((t) => t.name);
    assert.ok(singleTools.length > 0 && singleTools.every((n) => n.startsWith('beta__')));
  });

  test('the legacy SSE endpoint serves the same catalog', async () => {
    const client = await gw.client('/sse', { sse: true });
    const names = (await client.listTools()).tools.map((t) => t.name);
    assert.ok(names.includes('alpha__echo'));
    assert.equal(
      textOf(await client.callTool({ name: 'local__echo', arguments: { text: 'via sse' } })),
      'local:via sse',
    );
  });

  test('GET /api/servers shows every server with its state and tools', async () => {
    const unauthorized = await fetch(`${gw.base}/api/servers`);
    assert.equal(unauthorized.status, 401);
    assert.equal(
      ((await unauthorized.json()) as { error: { code: string } }).error.code,
      'ADMIN_UNAUTHORIZED',
    );
    const wrong = await fetch(`${gw.base}/api/servers`, { headers: { authorization: 'Bearer nope' } });
    assert.equal(wrong.status, 401);

    const servers = await gw.servers();
    assert.deepEqual(
      servers.map((s) => s.name),
      ['alpha', 'beta', 'local', 'alpha__b', 'legacy'],
    );
    const beta = servers.find((s) => s.name === 'beta')!;
    assert.equal(beta.type, 'sse');
    assert.equal(beta.enabled, true);
    assert.equal(beta.status, 'connected');
    assert.ok(beta.tools.some((t) => t.name === 'echo' && t.exposedName === 'beta__echo' && t.enabled));
    const auto = servers.find((s) => s.name === 'alpha__b')!;
    assert.equal(auto.type, 'streamable-http', 'a bare url settles on Streamable HTTP when it works');
    const legacy = servers.find((s) => s.name === 'legacy')!;
    assert.equal(legacy.type, 'sse', 'a bare url falls back to SSE when the POST is refused');
    assert.equal(legacy.status, 'connected');
  });
});
