import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diffSettings, isEmptyDiff } from '../../server/settings/diff.js';
import { SettingsLoader } from '../../server/settings/load.js';

const loader = new SettingsLoader();
const load = (doc: unknown) => loader.load(JSON.stringify(doc), { path: '/tmp/mcp_settings.json', env: {} });

const base = {
  mcpServers: {
    keep: { url: 'https://keep.example/mcp' },
    edit: { command: 'node', args: ['a.js'] },
    drop: { url: 'https://drop.example/mcp' },
  },
  groups: { dev: { servers: ['keep'] } },
};

test('diffSettings reports added, removed and changed servers by fingerprint', () => {
  const next = load({
    mcpServers: {
      keep: { url: 'https://keep.example/mcp', gatehouse: { credentials: { gateway: 'enc:v1:xyz' } } },
      edit: { command: 'node', args: ['b.js'] },
      fresh: { url: 'https://fresh.example/mcp' },
    },
    groups: { dev: { servers: ['keep'] } },
  });
  assert.deepEqual(diffSettings(load(base), next), {
    added: ['fresh'],
    removed: ['drop'],
    changed: ['edit'],
    groupsChanged: false,
    systemChanged: false,
  });
});

test('diffSettings reports group and systemConfig changes; the same settings give an empty diff', () => {
  const prev = load(base);
  assert.ok(isEmptyDiff(diffSettings(prev, load(base))));
  const groups = diffSettings(prev, load({ ...base, groups: { dev: { servers: ['keep', 'edit'] } } }));
  assert.equal(groups.groupsChanged, true);
  assert.equal(groups.systemChanged, false);
  const system = diffSettings(prev, load({ ...base, systemConfig: { connectConcurrency: 2 } }));
  assert.equal(system.systemChanged, true);
  assert.deepEqual([system.added, system.removed, system.changed], [[], [], []]);
});

test('with no previous settings every server is added', () => {
  const diff = diffSettings(undefined, load(base));
  assert.deepEqual(diff.added, ['keep', 'edit', 'drop']);
  assert.equal(diff.systemChanged, true);
});
