import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { isGatehouseError, type GatehouseError } from '../../server/errors.js';
import { loadSettings, readSettingsFile, SettingsLoader } from '../../server/settings/load.js';
import { fingerprintEntry } from '../../server/settings/normalize.js';
import {
  DEFAULT_PER_USER,
  DEFAULT_TIMEOUTS,
  type HttpServerConfig,
  type StdioServerConfig,
} from '../../server/settings/types.js';
import { tempDir, writeJson } from './helpers.js';

const PATH = '/srv/gatehouse/mcp_settings.json';
const loader = new SettingsLoader();
const load = (doc: unknown, env: Record<string, string> = {}) =>
  loader.load(typeof doc === 'string' ? doc : JSON.stringify(doc), { path: PATH, env });

/** The error `fn` throws, checked to be a GatehouseError with `code`. */
function failure(fn: () => unknown, code: GatehouseError['code']): GatehouseError {
  try {
    fn();
  } catch (error) {
    assert.ok(isGatehouseError(error, code), `expected ${code}, got ${String(error)}`);
    return error;
  }
  assert.fail(`expected ${code}, nothing was thrown`);
}

test('a Claude Desktop block loads as-is, with stdio defaults', () => {
  const settings = load({
    mcpServers: {
      filesystem: {
        command: 'npx',
        args: ['-y', '@modelcontextprotocol/server-filesystem', '/Users/me/Desktop'],
        env: { DEBUG: '1' },
      },
      memory: { command: 'npx', args: ['-y', '@modelcontextprotocol/server-memory'] },
    },
  });
  const fs = settings.servers.get('filesystem') as StdioServerConfig;
  assert.equal(fs.type, 'stdio');
  assert.deepEqual(fs.args, ['-y', '@modelcontextprotocol/server-filesystem', '/Users/me/Desktop']);
  assert.deepEqual(fs.env, { DEBUG: '1' });
  assert.equal(fs.cwd, '/srv/gatehouse', 'cwd defaults to the settings folder');
  assert.equal(fs.enabled, true);
  assert.deepEqual(fs.tools, {});
  const memory = settings.servers.get('memory') as StdioServerConfig;
  assert.deepEqual(memory.env, {});
  assert.deepEqual([...settings.groups], []);
  assert.deepEqual(settings.system, {
    nameSeparator: '__',
    timeouts: DEFAULT_TIMEOUTS,
    connectConcurrency: 8,
    allowedPrivateHosts: [],
    perUser: DEFAULT_PER_USER,
    store: { type: 'file' },
  });
});

test('a Cursor block loads: url without type is auto, headers kept, ${env:VAR} interpolated', () => {
  const settings = load(
    {
      mcpServers: {
        linear: { url: 'https://mcp.linear.app/mcp' },
        ctx: { url: 'https://ctx.example.com/mcp', headers: { Authorization: 'Bearer ${env:CTX_KEY}' } },
        local: { command: 'node', args: ['server.js'], cwd: 'tools/local', type: 'stdio' },
      },
    },
    { CTX_KEY: 'k-123' },
  );
  const linear = settings.servers.get('linear') as HttpServerConfig;
  assert.equal(linear.type, 'auto');
  assert.deepEqual(linear.headers, {});
  assert.equal(linear.oauth, undefined);
  assert.deepEqual((settings.servers.get('ctx') as HttpServerConfig).headers, {
    Authorization: 'Bearer k-123',
  });
  assert.equal((settings.servers.get('local') as StdioServerConfig).cwd, '/srv/gatehouse/tools/local');
});

test('an MCPHub block loads with its extra keys, plaintext tokens, array groups and systemConfig', () => {
  const settings = load({
    mcpServers: {
      amap: {
        type: 'streamable-http',
        url: 'https://mcp.amap.com/mcp',
        description: 'maps',
        owner: 'admin',
        keepAliveInterval: 60000,
        options: { timeout: 60000 },
        enabled: false,
        tools: { maps_weather: { enabled: false, description: 'override' } },
        oauth: { clientId: 'abc', scopes: ['read'], accessToken: 'at-1', refreshToken: 'rt-1' },
      },
      fetch: { command: 'uvx', args: ['mcp-server-fetch'], owner: 'admin' },
      api: { type: 'http', url: 'http://127.0.0.1:9000/mcp' },
    },
    groups: [
      { id: 'a1b2', name: 'dev', description: '', servers: ['amap', { name: 'fetch', tools: 'all' }] },
    ],
    systemConfig: { routing: { enableGlobalRoute: true }, install: { pythonIndexUrl: '${NOT_OURS}' } },
    users: [{ username: 'admin', password: 'hash', isAdmin: true }],
  });
  const amap = settings.servers.get('amap') as HttpServerConfig;
  assert.equal(amap.type, 'streamable-http');
  assert.equal(amap.enabled, false);
  assert.deepEqual(amap.tools, { maps_weather: { enabled: false } });
  assert.equal(amap.oauth?.accessToken, 'at-1');
  assert.equal(amap.oauth?.refreshToken, 'rt-1');
  assert.equal(
    (settings.servers.get('api') as HttpServerConfig).type,
    'streamable-http',
    '"http" is an alias',
  );
  assert.deepEqual(settings.groups.get('dev'), { name: 'dev', servers: ['amap', 'fetch'] });
});

test('the object form of groups loads', () => {
  const settings = load(
    {
      mcpServers: { a: { url: 'https://a.example/mcp' }, b: { command: 'b' } },
      groups: { dev: { servers: ['a', 'b', 'a'] } },
      systemConfig: {
        baseUrl: 'http://localhost:${PORT}',
        nameSeparator: '.',
        timeouts: { connectMs: 5000 },
        connectConcurrency: 2,
        allowedPrivateHosts: ['10.0.0.5'],
        perUser: { idleMs: 60000 },
      },
    },
    { PORT: '3000' },
  );
  assert.deepEqual(settings.groups.get('dev'), { name: 'dev', servers: ['a', 'b'] });
  assert.deepEqual(settings.system, {
    baseUrl: 'http://localhost:3000',
    nameSeparator: '.',
    timeouts: { ...DEFAULT_TIMEOUTS, connectMs: 5000 },
    connectConcurrency: 2,
    allowedPrivateHosts: ['10.0.0.5'],
    perUser: { idleMs: 60000, maxConnections: DEFAULT_PER_USER.maxConnections },
    store: { type: 'file' },
  });
});

test('systemConfig.store: redis with a URL (prefix defaulted); without a URL it is refused', () => {
  const settings = load(
    { mcpServers: {}, systemConfig: { store: { type: 'redis', url: 'redis://:${PASS}@redis:6379/0' } } },
    { PASS: 'secret' },
  );
  assert.deepEqual(settings.system.store, {
    type: 'redis',
    url: 'redis://:secret@redis:6379/0',
    prefix: 'gatehouse',
  });
  const error = failure(
    () => load({ mcpServers: {}, systemConfig: { store: { type: 'redis' } } }),
    'SETTINGS_INVALID',
  );
  assert.match(error.message, /systemConfig\.store/);
});

test('a bad url names its dotted path in plain words', () => {
  const error = failure(
    () => load({ mcpServers: { github: { type: 'streamable-http', url: 'api.githubcopilot.com/mcp' } } }),
    'SETTINGS_INVALID',
  );
  assert.equal(error.message, 'mcpServers.github.url: must be an absolute http(s) URL');
  assert.deepEqual(error.details?.problems, [
    { path: 'mcpServers.github.url', message: 'must be an absolute http(s) URL' },
  ]);
  assert.equal(error.details?.file, PATH);
  failure(() => load({ mcpServers: { x: { url: 'ftp://files.example/mcp' } } }), 'SETTINGS_INVALID');
  failure(() => load({ mcpServers: { x: { url: 'file:///etc/passwd' } } }), 'SETTINGS_INVALID');
});

test('friendly messages for the common mistakes, all reported at once', () => {
  const error = failure(
    () =>
      load({
        mcpServers: {
          empty: {},
          both: { command: 'x', url: 'https://x.example' },
          ws: { type: 'websocket', url: 'https://x.example' },
          stdioUrl: { type: 'stdio', url: 'https://x.example' },
          sseCommand: { type: 'sse', command: 'x' },
          typed: { command: 'x', args: 'not-an-array', env: { A: 1 }, enabled: 'yes' },
          notObject: 'npx server',
        },
        systemConfig: { baseUrl: 'localhost:3000', timeouts: { requestMs: 0 }, nameSeparator: '' },
      }),
    'SETTINGS_INVALID',
  );
  const lines = error.message.split('\n');
  const expected = [
    'mcpServers.empty: needs either "command" (a program to start) or "url" (a remote server)',
    'mcpServers.both: has both "command" and "url"; keep one',
    'mcpServers.ws.type: must be one of "stdio", "sse", "streamable-http", "http", "streamableHttp" (got "websocket")',
    'mcpServers.stdioUrl.type: "stdio" is for a program started with "command", but this entry has "url"; use "streamable-http" or "sse", or leave "type" out',
    'mcpServers.sseCommand.type: must be "stdio" (or left out) for an entry with "command"; "sse" and "streamable-http" need "url"',
    'mcpServers.typed.args: must be an array (got a string)',
    'mcpServers.typed.env.A: must be a string (got a number)',
    'mcpServers.typed.enabled: must be a boolean (got a string)',
    'mcpServers.notObject: must be an object (got a string)',
    'systemConfig.baseUrl: must be an absolute http(s) URL',
    'systemConfig.nameSeparator: must be a non-empty string',
    'systemConfig.timeouts.requestMs: must be a positive integer',
  ];
  for (const line of expected) assert.ok(lines.includes(line), `missing: ${line}\nin:\n${error.message}`);
  assert.equal((error.details?.problems as unknown[]).length, lines.length);
});

test('a missing mcpServers and a non-object document are named', () => {
  assert.equal(failure(() => load({ servers: {} }), 'SETTINGS_INVALID').message, 'mcpServers: is required');
  assert.equal(
    failure(() => load('[]'), 'SETTINGS_INVALID').message,
    '(top level): must be an object with "mcpServers"',
  );
});

test('invalid JSON names the line and column and never quotes the text', () => {
  const text =
    '{\n  "mcpServers": {\n    "a": { "command": "x" }\n    "b": { "command": "secret-ish" }\n  }\n}\n';
  const error = failure(() => load(text), 'SETTINGS_INVALID_JSON');
  assert.match(error.message, /^\/srv\/gatehouse\/mcp_settings\.json: not valid JSON at line 4, column 5: /);
  assert.doesNotMatch(error.message, /secret-ish/);
  assert.match(failure(() => load(''), 'SETTINGS_INVALID_JSON').message, /the file is empty/);
  assert.match(failure(() => load('{"mcpServers": {'), 'SETTINGS_INVALID_JSON').message, /line 1, column 17/);
});

/** The ```jsonc settings example under "## The settings file" in the README. */
async function readmeExample(): Promise<string> {
  const readme = await readFile(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## The settings file'));
  const block = /```jsonc\n([\s\S]*?)\n```/.exec(section)?.[1];
  assert.ok(block !== undefined, 'the README has a jsonc example in its settings section');
  return block;
}

test("the README's jsonc settings example loads: comments and trailing commas are accepted", async () => {
  const text = await readmeExample();
  const settings = load(text, { TEAM: 'core', GITHUB_APP_ID: 'Iv1.abc', GITHUB_APP_SECRET: 's' });
  assert.ok(settings.servers.size >= 3);
  assert.equal((settings.servers.get('github') as HttpServerConfig | undefined)?.oauth?.clientId, 'Iv1.abc');
  const commented =
    '\uFEFF// leading comment\n{\n  /* block */ "mcpServers": {\n    "a": { "command": "x", "args": ["1", "2",], }, // trailing\n  },\n}\n';
  assert.deepEqual((load(commented).servers.get('a') as StdioServerConfig).args, ['1', '2']);
});

test('JSONC mistakes name the line and column in plain words', () => {
  const cases: [string, RegExp][] = [
    ['{\n  "mcpServers": {}\n  /* not closed\n', /at line 3, column 3: .*a \/\* comment is not closed/],
    [
      '{\n  "mcpServers": { "a": { "command": "x" } },\n  "groups": {} "x": 1\n}',
      /at line 3, column 16: a comma is missing$/,
    ],
    ["{ 'mcpServers': {} }", /at line 1, column 3: unexpected characters/],
    ['{ "mcpServers": {}, , }', /at line 1, column 21: a key in double quotes is expected$/],
    ['{ "mcpServers": {} } }', /at line 1, column 22: there is more text after the end of the document$/],
  ];
  for (const [text, expected] of cases) {
    const error = failure(() => load(text), 'SETTINGS_INVALID_JSON');
    assert.match(error.message, /^\/srv\/gatehouse\/mcp_settings\.json: not valid JSON at /);
    assert.match(error.message, expected);
    assert.equal(error.details?.file, PATH);
  }
});

test('"disabled": true is "enabled": false; the two disagreeing is an error; "streamableHttp" is an alias', () => {
  const settings = load({
    mcpServers: {
      cline: { command: 'x', disabled: true },
      both: { command: 'x', disabled: true, enabled: false },
      on: { command: 'x', disabled: false },
      remote: { type: 'streamableHttp', url: 'https://r.example/mcp' },
    },
  });
  assert.equal(settings.servers.get('cline')?.enabled, false);
  assert.equal(settings.servers.get('both')?.enabled, false);
  assert.equal(settings.servers.get('on')?.enabled, true);
  assert.equal((settings.servers.get('remote') as HttpServerConfig).type, 'streamable-http');
  const clash = failure(
    () =>
      load({
        mcpServers: {
          a: { command: 'x', enabled: true, disabled: true },
          b: { command: 'x', enabled: false, disabled: false },
        },
      }),
    'SETTINGS_INVALID',
  );
  assert.deepEqual(clash.message.split('\n'), [
    'mcpServers.a: has "enabled" and "disabled" saying opposite things; keep one',
    'mcpServers.b: has "enabled" and "disabled" saying opposite things; keep one',
  ]);
  failure(() => load({ mcpServers: { a: { command: 'x', type: 'streamableHttp' } } }), 'SETTINGS_INVALID');
});

test('a missing variable names the variable and the server', () => {
  const doc = {
    mcpServers: {
      github: {
        type: 'streamable-http',
        url: 'https://api.githubcopilot.com/mcp/',
        oauth: { clientId: '${GITHUB_APP_ID}', clientSecret: '${GITHUB_APP_SECRET}', scopes: ['repo'] },
      },
    },
  };
  const error = failure(() => load(doc, { GITHUB_APP_SECRET: 's' }), 'SETTINGS_MISSING_ENV');
  assert.equal(
    error.message,
    'mcpServers.github.oauth.clientId: environment variable GITHUB_APP_ID is not set',
  );
  assert.deepEqual(error.details?.missing, [
    { path: 'mcpServers.github.oauth.clientId', variable: 'GITHUB_APP_ID', server: 'github' },
  ]);
  assert.equal(error.details?.file, PATH, 'every settings error names its file in its details');
  const ok = load(doc, { GITHUB_APP_ID: 'Iv1.abc', GITHUB_APP_SECRET: '' });
  const oauth = (ok.servers.get('github') as HttpServerConfig).oauth;
  assert.equal(oauth?.clientId, 'Iv1.abc');
  assert.equal(oauth?.clientSecret, '', 'a variable set to the empty string is set');
});

test('$${VAR} is a literal, a malformed reference is an error, gatehouse fields are not interpolated', () => {
  const settings = load(
    {
      mcpServers: {
        a: {
          command: 'echo',
          args: ['$${HOME}', '${X}-${X}'],
          gatehouse: { credentials: { gateway: 'enc:v1:${X}' } },
        },
      },
    },
    { X: 'x' },
  );
  assert.deepEqual((settings.servers.get('a') as StdioServerConfig).args, ['${HOME}', 'x-x']);
  const error = failure(() => load({ mcpServers: { a: { command: '${not-a-name}' } } }), 'SETTINGS_INVALID');
  assert.match(error.message, /^mcpServers\.a\.command: "\$\{not-a-name\}" is not a variable reference/);
});

test('a group naming an unknown server, or named like a server, is an error with its path', () => {
  const unknown = failure(
    () => load({ mcpServers: { a: { command: 'a' } }, groups: { dev: { servers: ['a', 'nope'] } } }),
    'SETTINGS_INVALID',
  );
  assert.equal(unknown.message, 'groups.dev.servers[1]: names no server "nope"');
  assert.equal(unknown.details?.file, PATH);
  const clash = failure(
    () => load({ mcpServers: { a: { command: 'a' } }, groups: { a: { servers: ['a'] } } }),
    'SETTINGS_INVALID',
  );
  assert.match(clash.message, /^groups\.a: the group "a" has the same name as a server/);
  const array = failure(
    () => load({ mcpServers: { a: { command: 'a' } }, groups: [{ name: 'g', servers: ['b'] }] }),
    'SETTINGS_INVALID',
  );
  assert.equal(array.message, 'groups[0].servers[0]: names no server "b"');
});

test('fingerprints ignore key order, gatehouse fields and imported tokens, and see real changes', () => {
  const a = {
    url: 'https://a.example/mcp',
    headers: { x: '1', y: '2' },
    oauth: { clientId: 'c', scopes: ['s'] },
  };
  const reordered = {
    oauth: { scopes: ['s'], clientId: 'c' },
    headers: { y: '2', x: '1' },
    url: 'https://a.example/mcp',
  };
  const withGatewayFields = {
    ...a,
    oauth: { ...a.oauth, accessToken: 't', refreshToken: 'r' },
    gatehouse: { credentials: { gateway: 'enc:v1:abc' } },
  };
  assert.equal(fingerprintEntry(a), fingerprintEntry(reordered));
  assert.equal(fingerprintEntry(a), fingerprintEntry(withGatewayFields));
  assert.notEqual(fingerprintEntry(a), fingerprintEntry({ ...a, url: 'https://b.example/mcp' }));
  assert.match(fingerprintEntry(a), /^[0-9a-f]{64}$/);
  const loaded = load({ mcpServers: { a: reordered } });
  assert.equal(loaded.servers.get('a')?.fingerprint, fingerprintEntry(a));
});

test('fingerprints are taken after interpolation', () => {
  const doc = { mcpServers: { a: { url: '${URL}' } } };
  const one = load(doc, { URL: 'https://one.example' }).servers.get('a')?.fingerprint;
  const two = load(doc, { URL: 'https://two.example' }).servers.get('a')?.fingerprint;
  assert.notEqual(one, two);
});

test('readSettingsFile reads from disk; loadSettings works without a loader', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'mcp_settings.json');
  await writeJson(path, { mcpServers: { a: { command: 'a', cwd: '../elsewhere' } } });
  const file = await readSettingsFile({ path, env: {} });
  assert.match(file.hash, /^[0-9a-f]{64}$/);
  assert.equal((file.settings.servers.get('a') as StdioServerConfig).cwd, join(dir, '..', 'elsewhere'));
  const settings = loadSettings(file.text, { path, env: {}, settingsDir: '/other' });
  assert.equal((settings.servers.get('a') as StdioServerConfig).cwd, '/elsewhere');
  await assert.rejects(readSettingsFile({ path: join(dir, 'missing.json'), env: {} }), (error: unknown) => {
    assert.ok(isGatehouseError(error, 'SETTINGS_UNREADABLE'));
    assert.match(error.message, /missing\.json: it does not exist/);
    return true;
  });
});
