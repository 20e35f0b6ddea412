/**
 * Typed-in credentials (upstream/inputs.ts): filling `${input:<id>}` in for one connect attempt,
 * and the stored record, read and updated through a CredentialStore.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { MemoryCredentialStore } from '../../server/settings/credentials.js';
import type { HttpServerConfig, StdioServerConfig } from '../../server/settings/types.js';
import {
  inputsKey,
  readInputValues,
  referencedInputs,
  resolveInputs,
  updateInputValues,
  urlTakesInputs,
} from '../../server/upstream/inputs.js';

const base = { enabled: true, credentials: 'shared' as const, tools: {}, fingerprint: '' };
const http: HttpServerConfig = {
  ...base,
  name: 'web',
  type: 'streamable-http',
  url: 'https://mcp.example.com/mcp?key=${input:key}',
  headers: { Authorization: 'Bearer ${input:token}', Literal: '$${input:token}' },
  inputs: [
    { id: 'key', password: true },
    { id: 'token', password: true },
  ],
};
const stdio: StdioServerConfig = {
  ...base,
  name: 'local',
  type: 'stdio',
  command: 'node',
  args: ['${input:key}'],
  env: { API_KEY: '${input:key}', OTHER: 'plain' },
  cwd: '/',
  inputs: [{ id: 'key', password: true }],
};

test('the values take the place of their references in url, headers and env; escapes become text', () => {
  const resolved = resolveInputs(http, { key: 'k1', token: 't1' });
  assert.ok(resolved.config?.type === 'streamable-http');
  assert.equal(resolved.config.url, 'https://mcp.example.com/mcp?key=k1');
  assert.deepEqual(resolved.config.headers, { Authorization: 'Bearer t1', Literal: '${input:token}' });
  assert.equal(http.headers.Authorization, 'Bearer ${input:token}', 'the config itself keeps the reference');

  const local = resolveInputs(stdio, { key: 'k2' });
  assert.ok(local.config?.type === 'stdio');
  assert.deepEqual(local.config.env, { API_KEY: 'k2', OTHER: 'plain' });
  assert.deepEqual(local.config.args, ['${input:key}'], 'args are not filled in');
});

test('an input without a value is named, once, and nothing is filled in', () => {
  assert.deepEqual(resolveInputs(http, { key: 'k1' }), { missing: ['token'] });
  assert.deepEqual(resolveInputs(http, {}), { missing: ['key', 'token'] });
  assert.deepEqual(referencedInputs(http), ['key', 'token']);
  assert.deepEqual(referencedInputs(stdio), ['key']);
  assert.equal(urlTakesInputs(http), true);
  assert.equal(urlTakesInputs({ ...http, url: 'https://mcp.example.com/mcp' }), false);
});

test('stored values are updated one by one, and forgotten with null', async () => {
  const store = new MemoryCredentialStore();
  assert.deepEqual(await readInputValues(store, 'web'), {});
  assert.deepEqual(await updateInputValues(store, 'web', { key: 'k1' }), { key: 'k1' });
  assert.deepEqual(await updateInputValues(store, 'web', { token: 't1' }), { key: 'k1', token: 't1' });
  assert.deepEqual(await updateInputValues(store, 'web', { key: null }), { token: 't1' });
  assert.deepEqual(await readInputValues(store, 'web'), { token: 't1' });
  assert.deepEqual(await store.get(inputsKey('web')), { v: 1, values: { token: 't1' } });
  assert.deepEqual(await store.get({ server: 'web', owner: 'gateway' }), undefined, 'not the OAuth record');
  await updateInputValues(store, 'web', { token: null });
  assert.equal(await store.get(inputsKey('web')), undefined, 'an empty record is removed');
});
