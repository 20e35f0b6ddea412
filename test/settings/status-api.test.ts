/**
 * GET /api/settings/status against a real gateway: a rejected live edit shows its code, message
 * and problems with path, line and column while the last good settings stay live; a valid file
 * clears it. Unknown keys are listed; `disabled: true` servers are `disabled`.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { startGateway, waitUntil, type TestGateway } from '../fixtures/gateway.js';
import type { SettingsStatus } from '../../server/settings/status.js';

const SECRET = 's3cret-header-value';

const GOOD = {
  mcpServers: {
    // Disabled servers: the test is about the file, so nothing needs to connect.
    cline: { url: 'http://127.0.0.1:9/mcp', disabled: true, headers: { Authorization: `Bearer ${SECRET}` } },
    typo: { command: 'never-started', comand: 'x', enabled: false },
  },
};

let gw: TestGateway;
before(async () => {
  gw = await startGateway(GOOD);
});
after(() => gw.close());

async function status(): Promise<SettingsStatus> {
  const response = await gw.api('/api/settings/status');
  assert.equal(response.status, 200);
  return (await response.json()) as SettingsStatus;
}

async function waitForStatus(
  predicate: (s: SettingsStatus) => boolean,
  what: string,
): Promise<SettingsStatus> {
  let last: SettingsStatus | undefined;
  await waitUntil(
    async () => predicate((last = await status())),
    () => `${what} (last: ${JSON.stringify(last)})`,
  );
  return last!;
}

test('the route needs the admin token', async () => {
  const response = await fetch(`${gw.base}/api/settings/status`);
  assert.equal(response.status, 401);
  assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'ADMIN_UNAUTHORIZED');
});

test('a valid file: valid, with the unknown keys; "disabled": true shows as status disabled', async () => {
  assert.deepEqual(await status(), {
    file: gw.settingsPath,
    valid: true,
    warnings: [{ path: 'mcpServers.typo.comand', kind: 'unknown', message: 'unknown key, kept and ignored' }],
  });
  const cline = (await gw.servers()).find((s) => s.name === 'cline');
  assert.equal(cline?.status, 'disabled');
  assert.equal(cline?.enabled, false);
});

test('a rejected edit is shown with line and column until the file is valid again', async () => {
  // A syntax error: the place comes from the parser, the path from the text around it.
  const broken = JSON.stringify(GOOD, null, 2).replace(
    '"enabled": false',
    '"enabled": false\n      "extra": 1',
  );
  await writeFile(gw.settingsPath, broken);
  const syntax = await waitForStatus((s) => s.rejected?.code === 'SETTINGS_INVALID_JSON', 'a syntax error');
  assert.equal(syntax.valid, false);
  const line = broken.split('\n').findIndex((l) => l.includes('"extra"')) + 1;
  assert.deepEqual(syntax.rejected?.problems, [
    { path: 'mcpServers.typo.extra', message: 'not valid JSON: a comma is missing', line, column: 7 },
  ]);
  assert.match(syntax.rejected?.message ?? '', new RegExp(`not valid JSON at line ${line}, column 7`));
  assert.ok(typeof syntax.rejected?.at === 'number');
  assert.ok(!JSON.stringify(syntax).includes(SECRET), 'the answer never carries the file text');
  assert.deepEqual(
    (await gw.servers()).map((s) => s.name),
    ['cline', 'typo'],
    'the last good settings are live',
  );

  // A schema error: every problem with the line of the key it names.
  const invalid = structuredClone(GOOD) as { mcpServers: Record<string, Record<string, unknown>> };
  invalid.mcpServers.cline!.url = 'not a url';
  invalid.mcpServers.added = { command: 'x', enabled: true, disabled: true };
  await gw.writeSettings(invalid);
  const schema = await waitForStatus((s) => s.rejected?.code === 'SETTINGS_INVALID', 'a schema error');
  const text = JSON.stringify(invalid, null, 2).split('\n');
  assert.deepEqual(schema.rejected?.problems, [
    {
      path: 'mcpServers.cline.url',
      message: 'must be an absolute http(s) URL',
      line: text.findIndex((l) => l.includes('"not a url"')) + 1,
      column: 7,
    },
    {
      path: 'mcpServers.added',
      message: 'has "enabled" and "disabled" saying opposite things; keep one',
      line: text.findIndex((l) => l.includes('"added"')) + 1,
      column: 5,
    },
  ]);
  assert.ok(!JSON.stringify(schema).includes(SECRET));

  await gw.writeSettings(GOOD);
  const fixed = await waitForStatus((s) => s.valid, 'the valid file to be applied');
  assert.equal(fixed.rejected, undefined);
  assert.deepEqual(
    fixed.warnings.map((w) => w.path),
    ['mcpServers.typo.comand'],
  );
});
