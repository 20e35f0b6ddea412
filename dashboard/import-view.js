/**
 * Paste a configuration (`#/import`): a Claude Desktop / Cursor `mcpServers` object, VS Code's
 * `servers`, or a bare `{ name: entry }` map, JSON with comments allowed. First a preview
 * (`POST /api/servers/import` with apply: false) listing each server, its problems and name
 * clashes (each clash can be renamed); then "Add" applies it.
 */
import { api, ApiError, describeError } from './api.js';
import { field, h, setText } from './dom.js';
import { serverHref } from './router.js';
import { plural } from './words.js';

export function mountImport(container) {
  const text = h('textarea', {
    rows: 12,
    spellcheck: false,
    class: 'code',
    placeholder:
      '{\n  "mcpServers": {\n    "files": { "command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/srv"] }\n  }\n}',
  });
  const preview = h('button', { type: 'submit', text: 'Preview' });
  const status = h('p', { role: 'status', class: 'muted' });
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const result = h('div', { class: 'import-preview' });
  const form = h(
    'form',
    { 'aria-label': 'Paste a configuration' },
    field(
      'Configuration',
      text,
      'From Claude Desktop, Cursor (mcpServers) or VS Code (servers); comments are fine.',
    ),
    h('div', { class: 'actions' }, preview),
  );
  container.append(
    h('p', { class: 'crumbs' }, h('a', { href: '#/', text: '← All servers' })),
    h('div', { class: 'view-head' }, h('h2', { tabindex: '-1', text: 'Paste a configuration' })),
    form,
    error,
    status,
    result,
  );

  const fail = (failure) => {
    setText(error, failure ? describeError(failure) : '');
    error.hidden = !failure;
  };

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    fail(null);
    setText(status, '');
    result.replaceChildren();
    preview.disabled = true;
    try {
      const { servers } = await api('api/servers/import', {
        method: 'POST',
        body: { snippet: text.value, apply: false },
      });
      result.replaceChildren(previewTable(servers, text.value, { status, fail }));
    } catch (failure) {
      if (!(failure instanceof ApiError && failure.status === 401)) fail(failure);
    } finally {
      preview.disabled = false;
    }
  });
}

function previewTable(servers, snippet, { status, fail }) {
  if (servers.length === 0) return h('p', { text: 'No servers found in this text.' });
  const renames = new Map();
  const rows = servers.map((server) => {
    const what = server.entry?.command
      ? `program: ${[server.entry.command, ...(server.entry.args ?? [])].join(' ')}`
      : `remote: ${server.entry?.url ?? '?'}`;
    const notes = [];
    let rename;
    if (server.clash) {
      rename = h('input', { type: 'text', value: '', spellcheck: false, placeholder: `${server.name}-2` });
      rename.setAttribute('aria-label', `New name for ${server.name}`);
      renames.set(server.name, rename);
      notes.push(
        h('p', {
          class: 'warn',
          text: `A server named “${server.name}” exists: it is skipped unless you give it a new name.`,
        }),
        rename,
      );
    }
    for (const problem of server.problems ?? [])
      notes.push(
        h('p', {
          class: 'error',
          text:
            typeof problem === 'string' ? problem : `${problem.path ?? ''} ${problem.message ?? ''}`.trim(),
        }),
      );
    return h(
      'tr',
      { dataset: { server: server.name, clash: String(Boolean(server.clash)) } },
      h('th', { scope: 'row', text: server.name }),
      h('td', { class: 'code-cell', text: what }),
      h('td', {}, ...(notes.length ? notes : [h('span', { class: 'ok-note', text: 'will be added' })])),
    );
  });
  const apply = h('button', { type: 'button', text: 'Add these servers' });
  const added = h('div', { role: 'status' });
  apply.addEventListener('click', async () => {
    fail(null);
    const rename = {};
    for (const [from, input] of renames) if (input.value.trim()) rename[from] = input.value.trim();
    apply.disabled = true;
    try {
      const answer = await api('api/servers/import', {
        method: 'POST',
        body: { snippet, apply: true, ...(Object.keys(rename).length ? { rename } : {}) },
      });
      const names = answer?.added ?? [];
      setText(status, `Added ${plural(names.length, 'server')}.`);
      added.replaceChildren(
        names.length
          ? h('ul', {}, ...names.map((name) => h('li', {}, h('a', { href: serverHref(name), text: name }))))
          : h('p', { text: 'Nothing was added.' }),
        h('p', {}, h('a', { href: '#/', text: 'Back to all servers' })),
      );
    } catch (failure) {
      if (!(failure instanceof ApiError && failure.status === 401)) fail(failure);
    } finally {
      apply.disabled = false;
    }
  });
  return h(
    'section',
    { 'aria-labelledby': 'preview-title' },
    h('h3', { id: 'preview-title', text: 'Preview' }),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        {},
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col', text: 'Name' }),
            h('th', { scope: 'col', text: 'What' }),
            h('th', { scope: 'col', text: 'Notes' }),
          ),
        ),
        h('tbody', {}, ...rows),
      ),
    ),
    h('div', { class: 'actions' }, apply),
    added,
  );
}
