/**
 * The pieces of the dashboard's edits as pure code: the switches in the person's own words, the
 * groups in either form, a key renamed in place in the text, the raw editor's text and its way
 * back, pasted snippets of other clients, and entry versions.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  entryVersion,
  renameInGroups,
  setGroup,
  setServerEnabled,
  setToolEnabled,
} from '../../server/settings/gateway-fields.js';
import { editJsonText } from '../../server/settings/json-edit.js';
import { parseJsonText } from '../../server/settings/json-text.js';
import { editorView, restoreFromDisk, SECRET_MARKER } from '../../server/settings/raw-text.js';
import { checkName } from '../../server/settings/server-edits.js';
import { parseSnippet } from '../../server/settings/snippet.js';

type Raw = Record<string, unknown>;

test('switching a server uses the words its entry already has', () => {
  const plain: Raw = { command: 'x' };
  setServerEnabled(plain, false);
  assert.deepEqual(plain, { command: 'x', enabled: false });
  setServerEnabled(plain, true);
  assert.deepEqual(plain, { command: 'x', enabled: true });
  const vscode: Raw = { command: 'x', disabled: true };
  setServerEnabled(vscode, true);
  assert.deepEqual(vscode, { command: 'x', disabled: false });
  const fresh: Raw = { command: 'x' };
  setServerEnabled(fresh, true);
  assert.deepEqual(fresh, { command: 'x' }, 'on is the default: nothing to write');
});

test('switching a tool off writes tools.<tool>.enabled false; on removes it and what it leaves empty', () => {
  const entry: Raw = { command: 'x', tools: { other: { enabled: false } } };
  setToolEnabled(entry, 'echo', false);
  assert.deepEqual(entry.tools, { other: { enabled: false }, echo: { enabled: false } });
  setToolEnabled(entry, 'echo', true);
  assert.deepEqual(entry.tools, { other: { enabled: false } });
  setToolEnabled(entry, 'other', true);
  assert.deepEqual(entry, { command: 'x' });
});

test('groups are set and removed in the form the file uses', () => {
  const object: Raw = { groups: { dev: { servers: ['a'] } } };
  setGroup(object, 'dev', ['a', 'b']);
  setGroup(object, 'ops', ['c']);
  assert.deepEqual(object.groups, { dev: { servers: ['a', 'b'] }, ops: { servers: ['c'] } });
  assert.equal(setGroup(object, 'dev', null), true);
  assert.equal(setGroup(object, 'dev', null), false);
  const array: Raw = { groups: [{ name: 'dev', servers: ['a'] }] };
  setGroup(array, 'dev', ['b']);
  setGroup(array, 'ops', ['c']);
  assert.deepEqual(array.groups, [
    { name: 'dev', servers: ['b'] },
    { name: 'ops', servers: ['c'] },
  ]);
  const none: Raw = {};
  setGroup(none, 'dev', ['a']);
  assert.deepEqual(none, { groups: { dev: { servers: ['a'] } } });
});

test('a renamed server follows in every group, in both member forms', () => {
  const raw: Raw = { groups: [{ name: 'g', servers: ['old', { name: 'old', tools: 'all' }, 'x'] }] };
  renameInGroups(raw, 'old', 'new');
  assert.deepEqual(raw.groups, [{ name: 'g', servers: ['new', { name: 'new', tools: 'all' }, 'x'] }]);
});

test('a key renamed in the text keeps its place, its layout and its comments', () => {
  const text = `{
  "mcpServers": {
    "a": { "command": "x" }, // first
    "old": {
      // the one to rename
      "url": "https://old.example/mcp"
    },
    "z": { "command": "y" }
  }
}
`;
  const before = parseJsonText(text, 't') as Raw;
  const after = structuredClone(before) as { mcpServers: Raw };
  after.mcpServers = {
    a: after.mcpServers.a,
    new: { url: 'https://new.example/mcp' },
    z: after.mcpServers.z,
  };
  const out = editJsonText(text, before, after, [{ parent: ['mcpServers'], from: 'old', to: 'new' }]);
  assert.equal(
    out,
    text.replace('"old": {', '"new": {').replace('https://old.example/mcp', 'https://new.example/mcp'),
  );
});

test('an entry version changes with the person’s part of the entry, not with the gateway’s', () => {
  const entry = { url: 'https://x/mcp', gatehouse: { credentials: { gateway: 'enc:v1:A' } } };
  const version = entryVersion(entry);
  assert.equal(entryVersion({ ...entry, gatehouse: { credentials: { gateway: 'enc:v1:B' } } }), version);
  assert.equal(entryVersion({ gatehouse: entry.gatehouse, url: 'https://x/mcp' }), version, 'key order');
  assert.notEqual(entryVersion({ ...entry, url: 'https://y/mcp' }), version);
});

test('names of new servers: no "/", no control characters, no spaces at the ends', () => {
  for (const good of ['github', 'my server', 'a.b-c_d', 'ünïcode']) assert.equal(checkName(good), good);
  for (const bad of ['', ' x', 'x ', 'a/b', 'a\nb', 'x'.repeat(101), 5]) assert.throws(() => checkName(bad));
});

const FILE_TEXT = `{
  // mine
  "mcpServers": {
    "a": {
      "url": "https://a.example/mcp",
      "headers": { "Authorization": "enc:v1:STORED", "X-Team": "t" },
      "gatehouse": { "credentials": { "gateway": "enc:v1:TOKENS" } }
    },
    "b": { "command": "x", "env": { "GITHUB_TOKEN": "ghp_plain", "REF": "\${T}" } }
  }
}
`;

test('the raw editor’s text: no gateway fields, secrets as markers, the rest as written', () => {
  const view = editorView(FILE_TEXT, 'f');
  assert.doesNotMatch(view.text, /gatehouse|enc:v1|ghp_plain/);
  assert.match(view.text, /\/\/ mine/);
  assert.match(view.text, /"Authorization": "<secret: set>", "X-Team": "t"/);
  assert.match(view.text, /"GITHUB_TOKEN": "<secret: set>", "REF": "\$\{T\}"/);
  // A credential write (the gateway field) does not change what the editor shows.
  assert.equal(editorView(FILE_TEXT.replace('enc:v1:TOKENS', 'enc:v1:NEWER'), 'f').version, view.version);
  assert.notEqual(editorView(FILE_TEXT.replace('"t"', '"u"'), 'f').version, view.version);
});

test('saving the raw text puts the gateway fields and stored secrets back', () => {
  const edited = editorView(FILE_TEXT, 'f').text.replace('"X-Team": "t"', '"X-Team": "edited"');
  const { text, problems } = restoreFromDisk(edited, FILE_TEXT, 'f');
  assert.deepEqual(problems, []);
  const expected = FILE_TEXT.replace('"X-Team": "t"', '"X-Team": "edited"');
  assert.deepEqual(parseJsonText(text, 'f'), parseJsonText(expected, 'f'));
  // The person's lines as they were; the gateway's own field in the gateway's layout.
  const gatewayField = /\s*"gatehouse": \{[\s\S]*?\}\s*\}/;
  assert.equal(text.replace(gatewayField, ''), expected.replace(gatewayField, ''));
});

test('a marker with nothing stored at its place is a problem; a typed gateway field is dropped', () => {
  const renamed = editorView(FILE_TEXT, 'f').text.replace('"a": {', '"a2": {');
  const { problems } = restoreFromDisk(renamed, FILE_TEXT, 'f');
  assert.deepEqual(
    problems.map((p) => p.path),
    ['mcpServers.a2.headers.Authorization'],
  );
  assert.match(problems[0]?.message ?? '', new RegExp(SECRET_MARKER.replace(/[<>:]/g, '.')));
  const smuggled = `{ "mcpServers": { "c": { "command": "x", "gatehouse": { "credentials": { "gateway": "enc:v1:X" } } } } }`;
  const restored = restoreFromDisk(smuggled, FILE_TEXT, 'f');
  assert.doesNotMatch(restored.text, /gatehouse/);
});

test('snippets: Claude Desktop, VS Code (with its inputs), a bare map, JSONC, and a fragment without braces', () => {
  assert.deepEqual(
    parseSnippet(
      '{ "mcpServers": { "fs": { "command": "npx", "args": ["-y", "fs"] }, "w": { "serverUrl": "https://w/mcp" } } }',
    ),
    [
      { name: 'fs', entry: { command: 'npx', args: ['-y', 'fs'] } },
      { name: 'w', entry: { url: 'https://w/mcp' } },
    ],
  );
  const vscode = `{
    // VS Code mcp.json
    "inputs": [
      { "type": "promptString", "id": "key", "description": "API key", "password": true },
      { "type": "promptString", "id": "unused" },
    ],
    "servers": {
      "gh": { "type": "http", "url": "https://gh/mcp", "headers": { "Authorization": "Bearer \${input:key}" } },
    },
  }`;
  assert.deepEqual(parseSnippet(vscode), [
    {
      name: 'gh',
      entry: {
        type: 'http',
        url: 'https://gh/mcp',
        headers: { Authorization: 'Bearer ${input:key}' },
        inputs: [{ id: 'key', description: 'API key', password: true }],
      },
    },
  ]);
  assert.deepEqual(parseSnippet('{ "mcp": { "servers": { "s": { "command": "x" } } } }'), [
    { name: 's', entry: { command: 'x' } },
  ]);
  assert.deepEqual(
    parseSnippet('{ "a": { "command": "x" }, "b": { "url": "https://b/mcp" } }').map((s) => s.name),
    ['a', 'b'],
  );
  assert.deepEqual(
    parseSnippet('"a": { "command": "x" },').map((s) => s.name),
    ['a'],
  );
});

test('snippets that are not servers say what to paste; a syntax error keeps its line', () => {
  assert.throws(() => parseSnippet('{ "command": "x" }'), /one server without a name/);
  assert.throws(() => parseSnippet('{ "theme": "dark" }'), /holds no servers/);
  assert.throws(
    () => parseSnippet('{\n  "mcpServers": {\n    "a": { "command": "x" \n  }\n'),
    (error: unknown) => {
      assert.match(String((error as Error).message), /line \d+, column \d+/);
      return true;
    },
  );
});
