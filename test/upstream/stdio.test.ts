import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FAST_TIMEOUTS, startGateway, stdioFixture, textOf, type TestGateway } from '../fixtures/gateway.js';
import { childEnvironment } from '../../server/upstream/transports.js';

describe('stdio upstreams', () => {
  let gw: TestGateway | undefined;
  after(async () => {
    await gw?.close();
  });

  test('a child gets only PATH, HOME and the variables its entry names', async () => {
    process.env.GATEHOUSE_TEST_PARENT_SECRET = 'must-not-leak';
    gw = await startGateway({
      mcpServers: {
        iso: stdioFixture('iso', { env: { GREETING: 'hello', TOKEN: '${GATEHOUSE_TEST_PARENT_SECRET}' } }),
      },
      systemConfig: { timeouts: FAST_TIMEOUTS },
    });
    await gw.waitForServer('iso', (s) => s.status === 'connected', 'connected');
    const client = await gw.client();
    const env = JSON.parse(textOf(await client.callTool({ name: 'iso__env', arguments: {} }))) as Record<
      string,
      string
    >;
    assert.deepEqual(
      Object.keys(env).sort(),
      ['GREETING', 'HOME', 'PATH', 'TOKEN'].filter((k) => k in env).sort(),
    );
    assert.equal(env.GREETING, 'hello');
    // An entry may pass a gateway variable on purpose through ${VAR}; nothing else leaks.
    assert.equal(env.TOKEN, 'must-not-leak');
    assert.ok(!Object.values(env).includes(process.env.npm_config_cache ?? '\u0000'));
    assert.equal(env.GATEHOUSE_TEST_PARENT_SECRET, undefined);
    assert.equal(env.PATH, process.env.PATH);

    const status = (await (await gw.api('/api/servers/iso')).json()) as { stderr: string[] };
    assert.ok(status.stderr.includes('fixture iso started'), `stderr: ${JSON.stringify(status.stderr)}`);
  });

  test('childEnvironment keeps PATH and HOME and the entry, nothing else', () => {
    const env = childEnvironment({ A: '1' }, { PATH: '/bin', HOME: '/root', SECRET: 'x', USER: 'root' });
    assert.deepEqual(env, { PATH: '/bin', HOME: '/root', A: '1' });
  });
});
