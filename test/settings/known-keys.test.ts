/**
 * Keys Gatehouse does not know: found at every level from the schema's `properties`, kept in the
 * file, named once per process in the log and always in the store's status.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { settingsWarnings } from '../../server/settings/known-keys.js';
import schema from '../../server/settings/schema.json' with { type: 'json' };
import { SecretBox } from '../../server/settings/secrets.js';
import { SettingsStore } from '../../server/settings/store.js';
import { recordingLogger, tempDir, TEST_KEY, waitFor } from './helpers.js';

test('unknown keys are found at every level, with their path; keys of other clients get a gentler note', () => {
  const warnings = settingsWarnings({
    $schema: './server/settings/schema.json',
    mcpServrs: {},
    mcpServers: {
      files: {
        command: 'npx',
        comand: 'npx',
        autoApprove: ['read_file'],
        env: { ANY_NAME: '1' },
        tools: { read_file: { enabled: false, hidden: true } },
      },
      remote: {
        url: 'https://r.example/mcp',
        headers: { 'X-Any': '1' },
        oauth: {
          clientId: 'c',
          clientSecert: 's',
          dynamicRegistration: { enabled: true, metadata: { free_form: 1 }, isuer: 'x' },
        },
      },
    },
    groups: [{ id: 'g1', name: 'dev', servers: ['files'], colour: 'red' }],
    systemConfig: { nameSeperator: '.', install: {}, timeouts: { connectMs: 1000, readMs: 5 } },
  });
  assert.deepEqual(
    warnings.map((w) => `${w.kind} ${w.path}: ${w.message}`),
    [
      'unknown mcpServrs: unknown key, kept and ignored',
      'unknown mcpServers.files.comand: unknown key, kept and ignored',
      'ignored mcpServers.files.autoApprove: used by Cline, not by Gatehouse; kept and ignored',
      'unknown mcpServers.files.tools.read_file.hidden: unknown key, kept and ignored',
      'unknown mcpServers.remote.oauth.clientSecert: unknown key, kept and ignored',
      'unknown mcpServers.remote.oauth.dynamicRegistration.isuer: unknown key, kept and ignored',
      'ignored groups[0].id: used by MCPHub, not by Gatehouse; kept and ignored',
      'unknown groups[0].colour: unknown key, kept and ignored',
      'unknown systemConfig.nameSeperator: unknown key, kept and ignored',
      'ignored systemConfig.install: used by MCPHub, not by Gatehouse; kept and ignored',
      'unknown systemConfig.timeouts.readMs: unknown key, kept and ignored',
    ],
  );
});

test('every key the schema names is known: a key added to the schema needs no other list', () => {
  const server = schema.definitions.server.properties;
  const entry = Object.fromEntries(Object.keys(server).map((key) => [key, null]));
  assert.deepEqual(settingsWarnings({ mcpServers: { a: entry } }), []);
  const top = Object.fromEntries(Object.keys(schema.properties).map((key) => [key, null]));
  assert.deepEqual(settingsWarnings(top), []);
});

test('an unknown key is logged once per process, stays in the file, and is in the status', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'mcp_settings.json');
  const text = '{\n  "mcpServers": {\n    "files": { "command": "npx", "comand": "npx" }\n  }\n}\n';
  await writeFile(path, text);
  const logger = recordingLogger();
  const store = new SettingsStore({ path, env: {}, logger, secrets: new SecretBox({ key: TEST_KEY }) });
  t.after(() => store.close());
  await store.load();
  const named = (key: string) => logger.entries.filter((e) => e.obj.path === key);
  assert.deepEqual(
    named('mcpServers.files.comand').map((e) => [e.level, e.msg]),
    [['warn', 'Settings: mcpServers.files.comand: unknown key, kept and ignored']],
  );

  // A credential write and a person's edit reload the file: the first key is not named again.
  await store.setCredentialBlob('files', 'gateway', 'enc:v1:AAAA');
  assert.ok((await readFile(path, 'utf8')).includes('"comand": "npx"'), 'the key stays in the file');
  await store.startWatching();
  let changes = 0;
  store.on('change', () => void changes++);
  await writeFile(
    path,
    '{\n  "mcpServers": {\n    "files": { "command": "npx", "comand": "npx", "autoApprove": [] }\n  }\n}\n',
  );
  await waitFor(() => changes > 0, "the person's edit to be applied");
  assert.equal(named('mcpServers.files.comand').length, 1);
  assert.deepEqual(
    named('mcpServers.files.autoApprove').map((e) => e.level),
    ['info'],
  );
  assert.deepEqual(store.status(), {
    file: path,
    valid: true,
    warnings: [
      { path: 'mcpServers.files.comand', kind: 'unknown', message: 'unknown key, kept and ignored' },
      {
        path: 'mcpServers.files.autoApprove',
        kind: 'ignored',
        message: 'used by Cline, not by Gatehouse; kept and ignored',
      },
    ],
  });
});
