/**
 * `inputs` in the settings (issue 12, VS Code's `mcp.json` convention): declared per server,
 * referenced as `${input:<id>}` in `url`, `headers` values and `env` values, left as written by
 * `${VAR}` interpolation, and checked where a schema cannot (unique ids, declared references).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { isGatehouseError, type GatehouseError } from '../../server/errors.js';
import { SettingsLoader } from '../../server/settings/load.js';
import type { HttpServerConfig, StdioServerConfig } from '../../server/settings/types.js';

const loader = new SettingsLoader();
const load = (doc: unknown, env: Record<string, string> = {}) =>
  loader.load(JSON.stringify(doc), { path: '/srv/mcp_settings.json', env });

function failure(fn: () => unknown, code: GatehouseError['code']): GatehouseError {
  try {
    fn();
  } catch (error) {
    assert.ok(isGatehouseError(error, code), `expected ${code}, got ${String(error)}`);
    return error;
  }
  assert.fail(`expected ${code}, nothing was thrown`);
}

const problemsOf = (error: GatehouseError) =>
  (error.details?.problems as Array<{ path: string; message: string }>).map((p) => `${p.path}: ${p.message}`);

test('inputs are declared per server and their references stay as written; ${VAR} still works', () => {
  const settings = load(
    {
      mcpServers: {
        linear: {
          url: 'https://mcp.example.com/mcp?key=${input:key}',
          headers: { Authorization: 'Bearer ${input:token}', 'X-Team': '${TEAM}' },
          inputs: [
            { id: 'key', description: 'API key', password: true },
            { type: 'promptString', id: 'token' },
          ],
        },
        local: { command: 'node', env: { API_KEY: '${input:api-key}' }, inputs: [{ id: 'api-key' }] },
      },
    },
    { TEAM: 'core' },
  );
  const linear = settings.servers.get('linear') as HttpServerConfig;
  assert.equal(linear.url, 'https://mcp.example.com/mcp?key=${input:key}');
  assert.deepEqual(linear.headers, { Authorization: 'Bearer ${input:token}', 'X-Team': 'core' });
  assert.deepEqual(linear.inputs, [
    { id: 'key', description: 'API key', password: true },
    { id: 'token', password: false },
  ]);
  const local = settings.servers.get('local') as StdioServerConfig;
  assert.deepEqual(local.env, { API_KEY: '${input:api-key}' });
  assert.deepEqual(local.inputs, [{ id: 'api-key', password: false }]);
  assert.deepEqual(load({ mcpServers: { plain: { command: 'x' } } }).servers.get('plain')?.inputs, []);
});

test('$${input:id} is the literal text: kept escaped where inputs are filled in, plain text elsewhere', () => {
  const settings = load({
    mcpServers: {
      local: {
        command: 'node',
        args: ['$${input:not-a-reference}'],
        env: { LITERAL: '$${input:x}' },
      },
    },
  });
  const local = settings.servers.get('local') as StdioServerConfig;
  assert.deepEqual(local.args, ['${input:not-a-reference}']);
  assert.deepEqual(local.env, { LITERAL: '$${input:x}' }, 'unescaped when the server connects');
});

test('a reference to an undeclared input, or outside url/headers/env, is a settings error at its path', () => {
  const undeclared = failure(
    () => load({ mcpServers: { s: { command: 'node', env: { KEY: '${input:nope}' } } } }),
    'SETTINGS_INVALID',
  );
  assert.deepEqual(problemsOf(undeclared), [
    'mcpServers.s.env.KEY: "${input:nope}" names no input; declare it in "inputs": [{ "id": "nope" }]',
  ]);
  const misplaced = failure(
    () => load({ mcpServers: { s: { command: 'node', args: ['${input:key}'], inputs: [{ id: 'key' }] } } }),
    'SETTINGS_INVALID',
  );
  assert.deepEqual(problemsOf(misplaced), [
    'mcpServers.s.args[0]: "${input:key}" can only be used in "url", "headers" values and "env" values',
  ]);
});

test('input ids are unique per server and well-formed; only promptString inputs', () => {
  const repeated = failure(
    () => load({ mcpServers: { s: { command: 'node', inputs: [{ id: 'a' }, { id: 'a' }] } } }),
    'SETTINGS_INVALID',
  );
  assert.deepEqual(problemsOf(repeated), ['mcpServers.s.inputs[1].id: repeats the input id "a"']);
  const malformed = failure(
    () => load({ mcpServers: { s: { command: 'node', inputs: [{ id: 'a b' }] } } }),
    'SETTINGS_INVALID',
  );
  assert.match(problemsOf(malformed).join('\n'), /inputs\[0\]\.id/);
  const picked = failure(
    () => load({ mcpServers: { s: { command: 'node', inputs: [{ id: 'a', type: 'pickString' }] } } }),
    'SETTINGS_INVALID',
  );
  assert.match(problemsOf(picked).join('\n'), /only "promptString" inputs are supported/);
});

test('systemConfig does not take inputs: ${input:…} there is still a malformed variable', () => {
  failure(
    () => load({ mcpServers: {}, systemConfig: { baseUrl: 'http://localhost:3000/${input:x}' } }),
    'SETTINGS_INVALID',
  );
});
