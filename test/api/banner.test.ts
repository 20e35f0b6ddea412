/**
 * The printed dashboard URL uses systemConfig.baseUrl's host when it is set: the session cookie
 * belongs to the host the browser opened, and the OAuth callback returns to baseUrl's host.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runGatehouse } from '../fixtures/process.js';

test('with a baseUrl, the banner prints the MCP endpoint and the dashboard URL on its host', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-banner-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const config = join(dir, 'mcp_settings.json');
  await writeFile(
    config,
    JSON.stringify({ mcpServers: {}, systemConfig: { baseUrl: 'http://gatehouse.test:8080/' } }),
  );
  const proc = runGatehouse(['--config', config, '--port', '0'], {
    GATEHOUSE_SECRET_KEY: 'b'.repeat(64),
    GATEHOUSE_ADMIN_TOKEN: 'banner-test-token',
  });
  try {
    await proc.ready;
    assert.match(proc.stdout(), /^ {2}Dashboard: +http:\/\/gatehouse\.test:8080\/#token=banner-test-token$/m);
    assert.match(proc.stdout(), /^ {2}MCP endpoint: +http:\/\/gatehouse\.test:8080\/mcp$/m);
    assert.match(
      proc.stdout(),
      /listening on http:\/\/127\.0\.0\.1:\d+/,
      'the address it listens on, as it is',
    );
  } finally {
    proc.child.kill('SIGTERM');
    await proc.exited;
  }
});
