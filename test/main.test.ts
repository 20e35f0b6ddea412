import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { initializeStatus, stdioFixture, textOf, waitUntil } from './fixtures/gateway.js';
import { startHttpUpstream } from './fixtures/mcp-upstream.js';
import { duplicateKeys } from './fixtures/json-lines.js';
import {
  alive,
  downPort,
  parentPid,
  portBelowEphemeralRange,
  ROOT,
  runCommand,
  runGatehouse,
  type GatehouseProcess,
} from './fixtures/process.js';

const run = promisify(execFile);
const KEY_ENV = { GATEHOUSE_SECRET_KEY: 'a'.repeat(64), GATEHOUSE_ADMIN_TOKEN: 'main-test-token' };
/** Nothing configured: what a person who just installed it has (the gateway creates its files). */
const FRESH_ENV = {
  GATEHOUSE_SECRET_KEY: undefined,
  GATEHOUSE_ADMIN_TOKEN: undefined,
  GATEHOUSE_CONFIG: undefined,
  GATEHOUSE_HOME: undefined,
  PORT: undefined,
};

interface DemoOAuthStatus {
  status: string;
  auth?: { stage: string; authorizationUrl?: string };
}

async function demoOAuthWaiting(base: string, token = 'main-test-token'): Promise<void> {
  await waitUntil(async () => {
    const res = await fetch(`${base}/api/servers/demo-oauth`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const status = (await res.json()) as DemoOAuthStatus;
    return (
      status.status === 'auth_required' &&
      status.auth?.stage === 'awaiting_user' &&
      !!status.auth.authorizationUrl
    );
  }, 'demo-oauth waiting for authorization');
}

async function stop(proc: GatehouseProcess): Promise<void> {
  proc.child.kill('SIGTERM');
  await proc.exited;
}

describe('the gatehouse command', () => {
  const dirs: string[] = [];
  const cleanups: Array<() => Promise<unknown>> = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });
  async function tempDir(prefix = 'gatehouse-main-'): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  }
  async function settingsFile(content: string | object): Promise<string> {
    const path = join(await tempDir(), 'settings.json');
    await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
    return path;
  }
  /** The shipped settings file's text, with the OAuth demo on a port of this test instead of 3001. */
  async function shippedSettings(): Promise<string> {
    const shipped = await readFile(join(ROOT, 'mcp_settings.json'), 'utf8');
    return shipped.replaceAll('3001', String(await portBelowEphemeralRange()));
  }

  test('an invalid settings file stops start-up with exit code 2 and names the path and problem', async () => {
    const path = await settingsFile({
      mcpServers: { github: { type: 'streamable-http', url: 'github.com/mcp' } },
    });
    const proc = runGatehouse(['--config', path, '--port', '0'], KEY_ENV);
    const { code } = await proc.exited;
    assert.equal(code, 2);
    assert.equal(
      proc.stderr(),
      `gatehouse: ${path}:\n  mcpServers.github.url: must be an absolute http(s) URL\n`,
    );
  });

  test('a file that is not JSON names the file once, with the line', async () => {
    const path = await settingsFile('{ "mcpServers": { "a": { "command": "x" } ');
    const proc = runGatehouse(['--config', path, '--port', '0'], KEY_ENV);
    assert.equal((await proc.exited).code, 2);
    assert.equal(proc.stderr().split(path).length - 1, 1, proc.stderr());
    assert.match(proc.stderr(), /^gatehouse: .*settings\.json: not valid JSON at line 1/);
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
    assert.equal(proc.stderr().split(path).length - 1, 1, proc.stderr());
  });

  test('binding beyond loopback is refused without inboundAuth, and the message names the setting', async () => {
    const path = await settingsFile({ mcpServers: {} });
    const proc = runGatehouse(['--config', path, '--host', '0.0.0.0', '--port', '0'], KEY_ENV);
    assert.equal((await proc.exited).code, 2);
    assert.match(proc.stderr(), /refusing to listen on 0\.0\.0\.0/);
    assert.match(proc.stderr(), /"inboundAuth": \{\} to systemConfig/);
    // No starter file is written for a start that is refused.
    const dir = await tempDir();
    const missing = runGatehouse(['--host', '0.0.0.0', '--port', '0'], KEY_ENV, dir);
    assert.equal((await missing.exited).code, 2);
    assert.deepEqual(await readdir(dir), []);
  });

  test('with inboundAuth, 0.0.0.0 is allowed and /mcp needs a credential', async () => {
    const path = await settingsFile({ mcpServers: {}, systemConfig: { inboundAuth: {} } });
    const proc = runGatehouse(['--config', path, '--host', '0.0.0.0', '--port', '0'], KEY_ENV);
    try {
      const port = new URL(await proc.ready).port;
      const mcp = `http://127.0.0.1:${port}/mcp`;
      const anonymous = await fetch(mcp, { method: 'POST' });
      assert.equal(anonymous.status, 401);
      assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Bearer resource_metadata="/);
      const client = new Client({ name: 'main-test', version: '1' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(mcp), {
          requestInit: { headers: { authorization: 'Bearer main-test-token' } },
        }),
      );
      assert.deepEqual((await client.listTools()).tools, []);
      await client.close();
    } finally {
      await stop(proc);
    }
  });

  test('unknown flags and an unknown LOG_LEVEL are usage errors', async () => {
    const proc = runGatehouse(['--nope'], KEY_ENV);
    assert.equal((await proc.exited).code, 2);
    assert.match(proc.stderr(), /Usage: gatehouse/);
    const level = runGatehouse(['--port', '0'], { ...KEY_ENV, LOG_LEVEL: 'loud' });
    assert.equal((await level.exited).code, 2);
    assert.match(level.stderr(), /LOG_LEVEL must be one of fatal, error, warn, info, debug, not "loud"/);
  });

  test('a port in use: exit code 3, one line naming the port and --port, and nothing written or started', async () => {
    const held: Server = createServer();
    await new Promise<void>((resolve) => held.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => held.close(resolve)));
    const { port } = held.address() as { port: number };
    const dir = await tempDir();
    const path = join(dir, 'settings.json');
    // A stdio server that leaves a file behind if it is ever started (its working folder is the
    // settings folder); no admin token and no key configured, so start-up would create both files.
    const marker = "require('node:fs').writeFileSync('stdio-server-started', '')";
    await writeFile(
      path,
      JSON.stringify({ mcpServers: { marker: { command: process.execPath, args: ['-e', marker] } } }),
    );

    const proc = runGatehouse(['--config', path, '--port', String(port)], {
      ...FRESH_ENV,
      LOG_LEVEL: 'info',
    });
    const { code } = await proc.exited;
    assert.equal(code, 3);
    const lines = proc.stderr().trimEnd().split('\n');
    assert.equal(lines.length, 1, proc.stderr());
    assert.match(
      lines[0]!,
      new RegExp(`^gatehouse: port ${port} on 127\\.0\\.0\\.1 is already in use.*--port`),
    );
    assert.equal(proc.stdout(), '');
    assert.deepEqual(await readdir(dir), ['settings.json']);
  });

  test('an explicit --config to a missing file is an error that says how to create one', async () => {
    const dir = await tempDir();
    const path = join(dir, 'nothing-here.json');
    const proc = runGatehouse(['--config', path, '--port', '0'], FRESH_ENV);
    assert.equal((await proc.exited).code, 2);
    assert.match(proc.stderr(), /nothing-here\.json does not exist\. Create it .*\{ "mcpServers": \{\} \}/);
    assert.deepEqual(await readdir(dir), []);
  });

  test('without a settings file, a starter one with the demo servers is created and used', async () => {
    // An installation of its own (GATEHOUSE_HOME), so that the demo's OAuth port is this test's.
    const home = await tempDir('gatehouse-home-');
    await writeFile(join(home, 'mcp_settings.json'), await shippedSettings());
    await symlink(join(ROOT, 'dist'), join(home, 'dist'));
    const dir = await tempDir();
    const proc = runGatehouse(
      ['--port', '0'],
      { ...FRESH_ENV, ...KEY_ENV, GATEHOUSE_HOME: home, LOG_LEVEL: 'info' },
      dir,
    );
    cleanups.push(() => stop(proc));
    const base = await proc.ready;
    assert.match(proc.stdout(), /Created a starter settings file/);
    assert.match(proc.stdout(), new RegExp(`"file":"${join(dir, 'mcp_settings.json')}"`));
    const starter = JSON.parse(await readFile(join(dir, 'mcp_settings.json'), 'utf8')) as {
      $schema: string;
      mcpServers: Record<string, unknown>;
    };
    assert.deepEqual(Object.keys(starter.mcpServers), ['demo', 'demo-auth', 'demo-oauth']);
    assert.equal(starter.$schema, `file://${join(home, 'server', 'settings', 'schema.json')}`);
    const client = new Client({ name: 't', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)));
    await waitUntil(
      async () => (await client.listTools()).tools.some((t) => t.name === 'demo__echo'),
      'demo tools',
    );
    await client.close();
  });

  test('a copy of the shipped mcp_settings.json in another folder starts its demo servers', async () => {
    // Only the settings file, nothing of the checkout beside it: the demo entries find their
    // programs through ${GATEHOUSE_HOME}. The gateway writes credentials into the copy, and the
    // OAuth demo keeps its state beside it.
    const dir = await tempDir('gatehouse-shipped-');
    await writeFile(join(dir, 'mcp_settings.json'), await shippedSettings());
    const proc = runGatehouse(['--config', join(dir, 'mcp_settings.json'), '--port', '0'], {
      ...KEY_ENV,
      GATEHOUSE_HOME: undefined,
    });
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
      await demoOAuthWaiting(base);
    } finally {
      await stop(proc);
    }
  });

  test('logs are JSON lines without a repeated key, from the first line of a start to the last of a stop', async () => {
    const dir = await tempDir('gatehouse-logs-');
    const path = join(dir, 'mcp_settings.json');
    const down = await downPort();
    cleanups.push(() => down.close());
    // The shipped demo (a stdio server, an OAuth authorization server and its protected MCP server)
    // and a server that is down, with every line the debug level has.
    const settings = JSON.parse(await shippedSettings()) as { mcpServers: Record<string, unknown> };
    settings.mcpServers.down = { type: 'streamable-http', url: down.url('/mcp') };
    await writeFile(path, JSON.stringify(settings, null, 2));
    // Nothing configured: the admin token file is created (and logged) before the HTTP server exists.
    const proc = runGatehouse(['--config', path, '--port', '0'], { ...FRESH_ENV, LOG_LEVEL: 'debug' });
    try {
      const base = await proc.ready;
      const token = (await readFile(join(dir, '.gatehouse-admin-token'), 'utf8')).trim();
      await demoOAuthWaiting(base, token);
      const res = await fetch(`${base}/api/servers`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 200);
    } finally {
      await stop(proc);
    }
    // The banner is for a person (it holds the admin token), not a log record.
    const banner =
      /^(Gatehouse \S+ is listening on | {2}MCP endpoint: | {2}Dashboard: | {2}\(a new admin token)/;
    const lines = proc
      .stdout()
      .trimEnd()
      .split('\n')
      .filter((line) => !banner.test(line));
    assert.ok(lines.length > 10, proc.stdout());
    for (const line of lines) {
      const record = JSON.parse(line) as { level?: unknown; msg?: unknown };
      assert.equal(typeof record.level, 'number', line);
      assert.equal(typeof record.msg, 'string', line);
      assert.deepEqual(duplicateKeys(line), [], line);
    }
    const messages = lines.map((line) => (JSON.parse(line) as { msg: string }).msg);
    // Lines from before the HTTP server exists, from requests, and from the stop are all there.
    assert.ok(messages.includes('The admin token file was created'), 'a line from before Fastify exists');
    assert.ok(messages.includes('request'), 'a debug line per admin request');
    assert.ok(messages.includes('shutting down'));
    assert.doesNotMatch(proc.stderr(), /FSTDEP|DeprecationWarning/);
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
      await stop(proc);
    }
  });

  /** Starts a stdio server with a grandchild; resolves with the pids of both. */
  async function stdioPids(base: string): Promise<{ pid: number; grandchild: number }> {
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
    await client.close();
    assert.ok(alive(pids.pid) && alive(pids.grandchild));
    return pids;
  }

  test('SIGTERM closes sessions, ends stdio children and their children, and exits 0', async () => {
    const path = await settingsFile({
      mcpServers: { kid: stdioFixture('kid', { env: { FIXTURE_GRANDCHILD: '1' } }) },
    });
    const proc = runGatehouse(['--config', path, '--port', '0'], KEY_ENV);
    const pids = await stdioPids(await proc.ready);
    proc.child.kill('SIGTERM');
    const { code } = await proc.exited;
    assert.equal(code, 0);
    await waitUntil(() => !alive(pids.pid) && !alive(pids.grandchild), 'no orphan processes', 5_000);
  });

  test('SIGTERM to `npm start` ends the gateway, its stdio children and theirs', async () => {
    const path = await settingsFile({
      mcpServers: { kid: stdioFixture('kid-npm', { env: { FIXTURE_GRANDCHILD: '1' } }) },
    });
    // --ignore-scripts skips prestart (the build, which `npm test` has done): only `start` runs.
    const proc = runCommand(
      'npm',
      ['start', '--ignore-scripts', '--', '--config', path, '--port', '0'],
      KEY_ENV,
    );
    const pids = await stdioPids(await proc.ready);
    const gateway = parentPid(pids.pid);
    assert.notEqual(gateway, proc.child.pid);
    assert.ok(alive(gateway));
    proc.child.kill('SIGTERM');
    await proc.exited;
    await waitUntil(
      () => !alive(gateway) && !alive(pids.pid) && !alive(pids.grandchild),
      'no gateway or child process left',
      10_000,
    );
  });

  test('SIGTERM drains: not ready, new requests refused, the call in flight finishes, then exit 0', async () => {
    const upstream = await startHttpUpstream('drain');
    cleanups.push(() => upstream.stop());
    const path = await settingsFile({ mcpServers: { slow: { type: 'streamable-http', url: upstream.url } } });
    const proc = runGatehouse(['--config', path, '--port', '0'], KEY_ENV);
    const base = await proc.ready;
    const client = new Client({ name: 'drain-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)));
    await waitUntil(
      async () => (await client.listTools()).tools.some((t) => t.name === 'slow__slow'),
      'the upstream’s tools',
    );
    let progressed: () => void = () => undefined;
    const first = new Promise<void>((resolve) => (progressed = resolve));
    const call = client.callTool({ name: 'slow__slow', arguments: { steps: 20, delayMs: 100 } }, undefined, {
      onprogress: () => progressed(),
    });
    await first;
    proc.child.kill('SIGTERM');
    await waitUntil(async () => (await fetch(`${base}/readyz`)).status === 503, 'not ready any more');
    assert.equal(await initializeStatus(`${base}/mcp`), 503);
    assert.equal(textOf(await call), 'done 20');
    assert.equal((await proc.exited).code, 0);
  });

  test('SIGINT exits 0 as well', async () => {
    const path = await settingsFile({ mcpServers: { kid: stdioFixture('kid2') } });
    const proc = runGatehouse(['--config', path, '--port', '0'], KEY_ENV);
    await proc.ready;
    proc.child.kill('SIGINT');
    assert.equal((await proc.exited).code, 0);
  });

  test('SIGHUP (the terminal closed) shuts down as cleanly, children included', async () => {
    const path = await settingsFile({
      mcpServers: { kid: stdioFixture('kid-hup', { env: { FIXTURE_GRANDCHILD: '1' } }) },
    });
    const proc = runGatehouse(['--config', path, '--port', '0'], KEY_ENV);
    const pids = await stdioPids(await proc.ready);
    proc.child.kill('SIGHUP');
    assert.deepEqual(await proc.exited, { code: 0, signal: null });
    await waitUntil(() => !alive(pids.pid) && !alive(pids.grandchild), 'no orphan processes', 5_000);
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
      await stop(proc);
    }
  });
});
