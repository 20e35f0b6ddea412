/**
 * Real third-party MCP clients at an OAuth-protected Gatehouse (issue 13): `mcp-remote` (the
 * bridge Claude Desktop uses) discovers Gatehouse's own authorization server from the 401,
 * registers, sends the person to the consent page and proxies calls with its token; the MCP
 * Inspector CLI calls with an access token obtained through OAuth, and with an API key.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { FAST_TIMEOUTS, startGateway, textOf, waitUntil, type TestGateway } from '../fixtures/gateway.js';
import { startHttpUpstream, type HttpUpstream } from '../fixtures/mcp-upstream.js';
import { ROOT } from '../fixtures/process.js';
import { actAsPerson, MemoryClientProvider, sdkSignIn } from '../inbound/oauth-client.js';

const run = promisify(execFile);
const MCP_REMOTE = join(ROOT, 'node_modules', 'mcp-remote', 'dist', 'proxy.js');
const INSPECTOR_DIR = join(ROOT, 'node_modules', '@modelcontextprotocol', 'inspector-cli', 'build');

describe('third-party clients at an OAuth-protected Gatehouse', () => {
  let upstream: HttpUpstream;
  let gw: TestGateway;
  let configDir: string;

  before(async () => {
    upstream = await startHttpUpstream('alpha');
    gw = await startGateway({
      mcpServers: { alpha: { type: 'streamable-http', url: upstream.url } },
      systemConfig: { timeouts: FAST_TIMEOUTS, inboundAuth: { oauth: { enabled: true } } },
    });
    await gw.waitForServer('alpha', (s) => s.status === 'connected');
    configDir = await mkdtemp(join(tmpdir(), 'gatehouse-mcp-remote-'));
  });
  after(async () => {
    await gw?.close();
    await upstream?.stop();
    if (configDir) await rm(configDir, { recursive: true, force: true });
  });

  test('mcp-remote: discovery from the 401, registration, consent, then tools through the bridge', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [MCP_REMOTE, `${gw.base}/mcp`, '--allow-http'],
      // Its token cache in a folder of this test's own; no browser is opened (BROWSER is a no-op
      // command and there is no display): the test plays the person with the printed URL.
      env: {
        PATH: dirname(process.execPath),
        HOME: configDir,
        MCP_REMOTE_CONFIG_DIR: configDir,
        BROWSER: 'true',
      },
      stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const client = new Client({ name: 'behind-mcp-remote', version: '1.0.0' });
    const connected = client.connect(transport);
    try {
      let authorizationUrl = '';
      await waitUntil(
        () => {
          authorizationUrl = /Please authorize this client by visiting:\s+(\S+)/.exec(stderr)?.[1] ?? '';
          return authorizationUrl !== '';
        },
        () => `mcp-remote to print the authorization URL (stderr so far: ${stderr.slice(-500)})`,
        30_000,
      );
      const url = new URL(authorizationUrl);
      assert.equal(url.origin, new URL(gw.base).origin.replace('127.0.0.1', 'localhost'));
      assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
      const { redirect } = await actAsPerson(authorizationUrl);
      // The browser's last hop: mcp-remote's own callback server receives the code.
      assert.match(redirect.href, /^http:\/\/(localhost|127\.0\.0\.1):\d+\/oauth\/callback\?code=/);
      await (await fetch(redirect)).body?.cancel();
      await connected;
      const names = (await client.listTools()).tools.map((t) => t.name);
      assert.ok(names.includes('alpha__whoami'), names.join());
      assert.equal(textOf(await client.callTool({ name: 'alpha__whoami' })), 'alpha');
      // The client's access token stays at Gatehouse: the upstream never sees an Authorization header.
      assert.deepEqual([...upstream.authorizations], []);
    } finally {
      await client.close().catch(() => undefined);
    }
  });

  test('the MCP Inspector CLI with an OAuth access token, and with an API key', async () => {
    const provider = new MemoryClientProvider();
    await sdkSignIn(`${gw.base}/mcp`, provider);
    const accessToken = provider.saved?.access_token;
    assert.ok(accessToken, 'the SDK sign-in gave an access token');
    const created = await gw.api('/api/keys', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'inspector', scopes: ['mcp:server:alpha'] }),
    });
    const { secret } = (await created.json()) as { secret: string };

    // The CLI looks for its package.json relative to the working directory: run it from its folder.
    const inspector = (credential: string, ...args: string[]) =>
      run(
        process.execPath,
        [
          join(INSPECTOR_DIR, 'index.js'),
          `${gw.base}/mcp`,
          '--transport',
          'http',
          '--header',
          `Authorization: Bearer ${credential}`,
          ...args,
        ],
        { cwd: INSPECTOR_DIR },
      );
    for (const credential of [accessToken, secret]) {
      const listed = await inspector(credential, '--method', 'tools/list');
      const tools = (JSON.parse(listed.stdout) as { tools: Array<{ name: string }> }).tools.map(
        (t) => t.name,
      );
      assert.ok(tools.includes('alpha__echo'), tools.join());
      const called = await inspector(
        credential,
        '--method',
        'tools/call',
        '--tool-name',
        'alpha__echo',
        '--tool-arg',
        'text=inspected',
      );
      assert.equal(
        (JSON.parse(called.stdout) as { content: Array<{ text: string }> }).content[0]?.text,
        'alpha:inspected',
      );
    }
    // Without a credential the CLI is refused.
    await assert.rejects(
      run(
        process.execPath,
        [join(INSPECTOR_DIR, 'index.js'), `${gw.base}/mcp`, '--transport', 'http', '--method', 'tools/list'],
        {
          cwd: INSPECTOR_DIR,
        },
      ),
    );
  });
});
