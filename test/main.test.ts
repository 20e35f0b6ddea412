import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { stdioFixture, textOf, waitUntil } from './fixtures/gateway.js';
import { alive, freePort, ROOT, runGatehouse } from './fixtures/process.js';

const run = promisify(execFile);
const KEY_ENV = { GATEHOUSE_SECRET_KEY: 'a'.repeat(64), GATEHOUSE_ADMIN_TOKEN: 'main-test-token' };

describe('the gatehouse command', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });
  async function settingsFile(content: string | object): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-main-'));
    dirs.push(dir);
    const path = join(dir, 'settings.json');
    await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
    return path;
  }

  test('an invalid settings file stops start-up with exit code 2 and names the path and problem', async () => {
    const path = await settingsFile({
      mcpServers: { github: { type: 'streamable-http', url: 'github.com/mcp' } },
    });
    const proc = runGatehouse(['--config', path, '--port', '0'], KEY_ENV);
    const { code } = await proc.exited;
    assert.equal(code, 2);
    assert.match(proc.stderr(), /mcpServers\.github\.url: must be an absolute http\(s\) URL/);
  });

  test('a missing ${VAR} stops start-up naming the variable and the server', async () => {
    const path = await settingsFile({
      mcpServers: {
        github: { url: 'https://example.test/mcp', headers: { Authorization: 'Bearer ${NO_SUCH_VAR_X}' } },
      },
    });
    const proc = runGatehouse(['--config', path, '--port', '0'], KEY_ENV);
    const { code } = await proc.exited;
    assert.equal(code, 2);
    assert.match(proc.stderr(), /NO_SUCH_VAR_X/);
    assert.match(proc.stderr(), /github/);
  });

  test('binding beyond loopback is refused while /mcp has no inbound authentication', async () => {
    const path = await settingsFile({ mcpServers: {} });
    const proc = runGatehouse(['--config', path, '--host', '0.0.0.0', '--port', '0'], KEY_ENV);
    assert.equal((await proc.exited).code, 2);
    assert.match(proc.stderr(), /refusing to listen on 0\.0\.0\.0/);
  });

  test('unknown flags are a usage error', async () => {
    const proc = runGatehouse(['--nope'], KEY_ENV);
    assert.equal((await proc.exited).code, 2);
    assert.match(proc.stderr(), /Usage: gatehouse/);
  });

  test('the shipped mcp_settings.json starts with its demo server and serves its tools', async () => {
    // The shipped file as it is, in a folder of its own (the gateway writes credentials into it
    // and the OAuth demo keeps its state beside it), with the built demo servers at the same
    // relative path; the demo authorization server on a free port instead of 3001.
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-shipped-'));
    dirs.push(dir);
    await symlink(join(ROOT, 'dist'), join(dir, 'dist'));
    const shipped = await readFile(join(ROOT, 'mcp_settings.json'), 'utf8');
    const port = String(await freePort());
    await writeFile(join(dir, 'mcp_settings.json'), shipped.replaceAll('3001', port));
    const proc = runGatehouse(['--config', join(dir, 'mcp_settings.json'), '--port', '0'], KEY_ENV);
    try {
      const base = await proc.ready;
      assert.match(proc.stdout(), /Dashboard: +http:\/\/localhost:\d+\/#token=main-test-token/);
      const client = new Client({ name: 't', version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)));
      await waitUntil(
        async () => (await client.listTools()).tools.some((t) => t.name === 'demo__echo'),
        'demo tools',
      );
      const result = await client.callTool({ name: 'demo__add', arguments: { a: 2, b: 3 } });
      assert.equal(textOf(result), '5');
      await client.close();
      // The OAuth demo is waiting for a person to click Connect: the whole flow is there by default.
      await waitUntil(async () => {
        const res = await fetch(`${base}/api/servers/demo-oauth`, {
          headers: { authorization: 'Bearer main-test-token' },
        });
        const status = (await res.json()) as {
          status: string;
          auth?: { stage: string; authorizationUrl?: string };
        };
        return (
          status.status === 'auth_required' &&
          status.auth?.stage === 'awaiting_user' &&
          !!status.auth.authorizationUrl
        );
      }, 'demo-oauth waiting for authorization');
    } finally {
      proc.child.kill('SIGTERM');
      await proc.exited;
    }
  });

  test('environment variables set config, port and host', async () => {
    const path = await settingsFile({ mcpServers: {} });
    const proc = runGatehouse([], { ...KEY_ENV, GATEHOUSE_CONFIG: path, PORT: '0', HOST: '127.0.0.1' });
    try {
      const base = await proc.ready;
      const res = await fetch(`${base}/api/servers`, {
        headers: { authorization: 'Bearer main-test-token' },
      });
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), []);
    } finally {
      proc.child.kill('SIGTERM');
      await proc.exited;
    }
  });

  test('SIGTERM closes sessions, ends stdio children and their children, and exits 0', async () => {
    const path = await settingsFile({
      mcpServers: { kid: stdioFixture('kid', { env: { FIXTURE_GRANDCHILD: '1' } }) },
    });
    const proc = runGatehouse(['--config', path, '--port', '0'], KEY_ENV);
    const base = await proc.ready;
    const client = new Client({ name: 't', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)));
    await waitUntil(
      async () => (await client.listTools()).tools.some((t) => t.name === 'kid__pids'),
      'stdio tools',
    );
    const pids = JSON.parse(textOf(await client.callTool({ name: 'kid__pids', arguments: {} }))) as {
      pid: number;
      grandchild: number;
    };
    assert.ok(alive(pids.pid) && alive(pids.grandchild));

    proc.child.kill('SIGTERM');
    const { code } = await proc.exited;
    assert.equal(code, 0);
    await waitUntil(() => !alive(pids.pid) && !alive(pids.grandchild), 'no orphan processes', 5_000);
  });

  test('SIGINT exits 0 as well', async () => {
    const path = await settingsFile({ mcpServers: { kid: stdioFixture('kid2') } });
    const proc = runGatehouse(['--config', path, '--port', '0'], KEY_ENV);
    await proc.ready;
    proc.child.kill('SIGINT');
    assert.equal((await proc.exited).code, 0);
  });

  test('the MCP Inspector CLI lists tools and calls one through /mcp', async () => {
    const path = await settingsFile({ mcpServers: { kid: stdioFixture('insp') } });
    const proc = runGatehouse(['--config', path, '--port', '0'], KEY_ENV);
    try {
      const base = await proc.ready;
      await waitUntil(async () => {
        const res = await fetch(`${base}/api/servers`, {
          headers: { authorization: 'Bearer main-test-token' },
        });
        return ((await res.json()) as Array<{ status: string }>)[0]?.status === 'connected';
      }, 'stdio upstream connected');
      const cliDir = join(ROOT, 'node_modules', '@modelcontextprotocol', 'inspector-cli', 'build');
      const cli = join(cliDir, 'index.js');
      // The CLI looks for its package.json relative to the working directory: run it from its own folder.
      const inspector = (args: string[]) => run(process.execPath, [cli, ...args], { cwd: cliDir });
      const listed = await inspector([`${base}/mcp`, '--transport', 'http', '--method', 'tools/list']);
      const tools = (JSON.parse(listed.stdout) as { tools: Array<{ name: string }> }).tools.map(
        (t) => t.name,
      );
      assert.ok(tools.includes('kid__echo'), tools.join(','));
      const called = await inspector([
        `${base}/mcp`,
        '--transport',
        'http',
        '--method',
        'tools/call',
        '--tool-name',
        'kid__echo',
        '--tool-arg',
        'text=from inspector',
      ]);
      assert.equal(
        (JSON.parse(called.stdout) as { content: Array<{ text: string }> }).content[0]?.text,
        'insp:from inspector',
      );
    } finally {
      proc.child.kill('SIGTERM');
      await proc.exited;
    }
  });
});
