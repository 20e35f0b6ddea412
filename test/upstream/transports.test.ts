import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatehouseError } from '../../server/errors.js';
import { BoundedLog } from '../../server/upstream/bounded-log.js';
import { createTransport } from '../../server/upstream/transports.js';
import type { HttpServerConfig, StdioServerConfig } from '../../server/settings/types.js';

const base = { enabled: true, credentials: 'shared' as const, inputs: [], tools: {}, fingerprint: '' };
const http: HttpServerConfig = {
  ...base,
  name: 'web',
  type: 'auto',
  url: 'http://127.0.0.1:1/mcp',
  headers: {},
};
const stdio: StdioServerConfig = {
  ...base,
  name: 'local',
  type: 'stdio',
  command: 'x',
  args: [],
  env: {},
  cwd: '/',
};
const deps = { stderr: new BoundedLog(), fetch: undefined };

test('an entry that does not fit the transport is a GatehouseError naming the server', () => {
  for (const [kind, config, what] of [
    ['stdio', http, /"web" has no command/],
    ['sse', stdio, /"local" has no url/],
    ['streamable-http', { ...http, url: 'not a url' }, /"web" has no valid url/],
  ] as const) {
    assert.throws(
      () => createTransport(kind, config, deps),
      (error: unknown) =>
        error instanceof GatehouseError &&
        error.code === 'SETTINGS_INVALID' &&
        error.details?.server === config.name &&
        what.test(error.message),
    );
  }
});
