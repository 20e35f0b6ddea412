/**
 * The format-preserving editor on its own: each edit changes only the bytes of its field, in the
 * file's own layout, and undoing it gives back the person's text byte for byte.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { documentChanges, editJsonText } from '../../server/settings/json-edit.js';
import { parseJsonText } from '../../server/settings/json-text.js';

type Doc = Record<string, Record<string, Record<string, unknown>>>;

const parse = (text: string) => parseJsonText(text, 'test.json') as Doc;

/** Edits `text` with `mutate` and checks the result parses to exactly the mutated document. */
function edit(text: string, mutate: (doc: Doc) => void): string {
  const before = parse(text);
  const after = structuredClone(before);
  mutate(after);
  const out = editJsonText(text, before, after);
  assert.ok(out !== undefined, 'edited in place');
  assert.deepEqual(parse(out), after);
  return out;
}

const CREDENTIAL = { credentials: { gateway: 'enc:v1:AAAA' } };

const COMMENTED = `{
  // my servers
  "mcpServers": {
    "files":  { "command": "npx", "args": ["-y", "x", "/srv"] },   // inline
    "linear": {
      "url": "https://a/mcp", /* trailing */
    },

    "demo": {
      "command": "node",
      "args": ["dist/server/demo/demo-server.js"]
    },
    "demo-oauth": {
      "url": "http://127.0.0.1:3001/mcp"  // the demo
    }
  },
  "groups": {},
}
`;

test('documentChanges lists removed keys, added and changed values; arrays are replaced whole', () => {
  assert.deepEqual(
    documentChanges(
      { a: { b: 1, c: [1, 2], d: { e: 1 } }, gone: true },
      { a: { b: 2, c: [1, 2, 3], d: { e: 1 }, f: 'new' } },
    ),
    [
      { path: ['gone'], value: undefined },
      { path: ['a', 'b'], value: 2 },
      { path: ['a', 'c'], value: [1, 2, 3] },
      { path: ['a', 'f'], value: 'new' },
    ],
  );
});

test('adding a field to an entry written over several lines adds only its lines, after the comma and comment', () => {
  const demo = edit(COMMENTED, (doc) => (doc.mcpServers!.demo!.gatehouse = CREDENTIAL));
  assert.equal(
    demo,
    COMMENTED.replace(
      '"args": ["dist/server/demo/demo-server.js"]\n',
      '"args": ["dist/server/demo/demo-server.js"],\n' +
        '      "gatehouse": {\n        "credentials": {\n          "gateway": "enc:v1:AAAA"\n        }\n      }\n',
    ),
  );
  const commented = edit(COMMENTED, (doc) => (doc.mcpServers!['demo-oauth']!.gatehouse = CREDENTIAL));
  assert.equal(
    commented,
    COMMENTED.replace(
      '"http://127.0.0.1:3001/mcp"  // the demo\n',
      '"http://127.0.0.1:3001/mcp",  // the demo\n      "gatehouse": {\n        "credentials": {\n' +
        '          "gateway": "enc:v1:AAAA"\n        }\n      }\n',
    ),
  );
  const trailing = edit(COMMENTED, (doc) => (doc.mcpServers!.linear!.gatehouse = CREDENTIAL));
  assert.equal(
    trailing,
    COMMENTED.replace(
      '/* trailing */\n',
      '/* trailing */\n      "gatehouse": {\n        "credentials": {\n' +
        '          "gateway": "enc:v1:AAAA"\n        }\n      },\n',
    ),
    'a person who writes trailing commas gets one after the new field too',
  );
  for (const text of [demo, commented, trailing]) {
    const before = parse(text);
    const after = structuredClone(before);
    for (const entry of Object.values(after.mcpServers!)) delete entry.gatehouse;
    assert.equal(editJsonText(text, before, after), COMMENTED, 'removing it gives the original back');
  }
});

test('an entry written on one line stays on one line; an empty object opens up', () => {
  const inline = edit(COMMENTED, (doc) => (doc.mcpServers!.files!.gatehouse = CREDENTIAL));
  assert.equal(
    inline,
    COMMENTED.replace(
      '"/srv"] },',
      '"/srv"], "gatehouse": { "credentials": { "gateway": "enc:v1:AAAA" } } },',
    ),
  );
  const group = edit(COMMENTED, (doc) => (doc.groups!.dev = { servers: ['files', 'demo'] }));
  assert.equal(
    group,
    COMMENTED.replace(
      '"groups": {},',
      '"groups": {\n    "dev": {\n      "servers": ["files", "demo"]\n    }\n  },',
    ),
  );
});

test('a changed value is replaced where it stands: scalars, inline arrays, removed lines', () => {
  const out = edit(COMMENTED, (doc) => {
    doc.mcpServers!.linear!.url = 'https://b/mcp';
    doc.mcpServers!.demo!.args = ['a', 'b'];
    delete doc.mcpServers!.files;
  });
  assert.equal(
    out,
    COMMENTED.replace('"https://a/mcp"', '"https://b/mcp"')
      .replace('["dist/server/demo/demo-server.js"]', '["a", "b"]')
      .replace('    "files":  { "command": "npx", "args": ["-y", "x", "/srv"] },   // inline\n', ''),
  );
});

test('tabs, CRLF line endings and a byte order mark are kept', () => {
  const text = '\uFEFF{\r\n\t"mcpServers": {\r\n\t\t"a": {\r\n\t\t\t"command": "x"\r\n\t\t}\r\n\t}\r\n}';
  const out = edit(text, (doc) => (doc.mcpServers!.a!.gatehouse = CREDENTIAL));
  assert.equal(
    out,
    text.replace(
      '"command": "x"\r\n',
      '"command": "x",\r\n\t\t\t"gatehouse": {\r\n\t\t\t\t"credentials": {\r\n' +
        '\t\t\t\t\t"gateway": "enc:v1:AAAA"\r\n\t\t\t\t}\r\n\t\t\t}\r\n',
    ),
  );
});

test('no change gives the text back as it is', () => {
  const doc = parse(COMMENTED);
  assert.equal(editJsonText(COMMENTED, doc, structuredClone(doc)), COMMENTED);
});

test('a repeated key is edited where JSON.parse reads it: the last one', () => {
  const text =
    '{\n  "mcpServers": { "a": { "command": "old" } },\n  "mcpServers": { "a": { "command": "x" } }\n}\n';
  const out = edit(text, (doc) => (doc.mcpServers!.a!.command = 'y'));
  assert.equal(out, text.replace('"x"', '"y"'));
});

test('removing the last property takes the comma before it; removing every one leaves {}', () => {
  const text =
    '{\n  "mcpServers": {\n    "a": {\n      "url": "https://a/mcp",\n' +
    '      "oauth": {\n        "clientId": "abc",\n        "accessToken": "at-1" // imported\n      }\n    }\n  }\n}\n';
  const scrubbed = edit(
    text,
    (doc) => delete (doc.mcpServers!.a!.oauth as Record<string, unknown>).accessToken,
  );
  assert.equal(scrubbed, text.replace(',\n        "accessToken": "at-1" // imported', ''));
  const emptied = edit(
    scrubbed,
    (doc) => delete (doc.mcpServers!.a!.oauth as Record<string, unknown>).clientId,
  );
  assert.equal(emptied, scrubbed.replace('{\n        "clientId": "abc"\n      }', '{}'));
});
