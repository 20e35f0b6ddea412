/**
 * A server's tools on its page: name, description folded, an enable/disable switch
 * (`PATCH /api/servers/:name/tools/:tool`) and a "Try it" panel built from the input schema. Rows
 * are kept across updates, so an open Try-it form keeps what was typed into it.
 */
import { api, serverPath } from './api.js';
import { h, setSwitch, setText, switchButton, uid } from './dom.js';
import { busy } from './server-actions.js';
import { tryItPanel } from './try-it.js';

/** Returns { root, update(tools) } for server `name`. */
export function toolsSection(name) {
  const list = h('ul', { class: 'tools' });
  const empty = h('p', { class: 'muted', text: 'No tools.' });
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const root = h(
    'section',
    { class: 'panel', 'aria-labelledby': 'tools-title' },
    h('h3', { id: 'tools-title', text: 'Tools' }),
    error,
    empty,
    list,
  );
  const rows = new Map();

  const update = (tools) => {
    const names = new Set(tools.map((t) => t.name));
    for (const [toolName, row] of rows) {
      if (!names.has(toolName)) {
        row.root.remove();
        rows.delete(toolName);
      }
    }
    tools.forEach((tool, index) => {
      let row = rows.get(tool.name);
      const schemaKey = JSON.stringify(tool.inputSchema ?? null);
      if (row && row.schemaKey !== schemaKey) {
        row.root.remove();
        rows.delete(tool.name);
        row = undefined;
      }
      if (!row) {
        row = toolRow(name, tool, error);
        row.schemaKey = schemaKey;
        rows.set(tool.name, row);
      }
      if (list.children[index] !== row.root) list.insertBefore(row.root, list.children[index] ?? null);
      row.update(tool);
    });
    empty.hidden = tools.length > 0;
  };
  return { root, update };
}

function toolRow(server, tool, errorEl) {
  const description = h('details', { class: 'description', hidden: true }, h('summary'), h('p'));
  const toggle = switchButton({
    label: `Enable tool ${tool.name}`,
    checked: tool.enabled,
    onToggle: (enabled, button) =>
      busy(button, errorEl, async () => {
        await api(serverPath(server, 'tools', tool.name), { method: 'PATCH', body: { enabled } });
        // The whole row follows at once; the live feed confirms it a moment later.
        update({ ...current, enabled });
      }),
  });
  const panelId = uid('try');
  // The accessible name starts with the visible words (axe: label-content-name-mismatch).
  const tryButton = h('button', {
    type: 'button',
    class: 'quiet',
    text: 'Try it',
    'aria-expanded': 'false',
    'aria-controls': panelId,
    'aria-label': `Try it: ${tool.name}`,
  });
  const panelBox = h('div', { id: panelId, class: 'try-box', hidden: true });
  tryButton.addEventListener('click', () => {
    const open = panelBox.hidden;
    if (open && !panelBox.firstChild) panelBox.append(tryItPanel(server, tool));
    panelBox.hidden = !open;
    tryButton.setAttribute('aria-expanded', String(open));
    if (open) panelBox.querySelector('input, select, textarea, button')?.focus();
  });
  const exposed = h('span', { class: 'muted exposed' });
  const root = h(
    'li',
    { class: 'tool', dataset: { tool: tool.name } },
    h(
      'div',
      { class: 'tool-head' },
      h('code', { class: 'tool-name', text: tool.name }),
      exposed,
      h('span', { class: 'tool-controls' }, tryButton, toggle),
    ),
    description,
    panelBox,
  );

  let current = tool;
  const update = (next) => {
    current = next;
    setSwitch(toggle, next.enabled);
    root.classList.toggle('off', !next.enabled);
    tryButton.hidden = !next.enabled;
    if (!next.enabled) {
      panelBox.hidden = true;
      tryButton.setAttribute('aria-expanded', 'false');
    }
    setText(exposed, next.exposedName && next.exposedName !== next.name ? `as ${next.exposedName}` : '');
    const text = next.description ?? '';
    description.hidden = !text;
    // Folded: the first line (cut short) is the summary, the whole text inside.
    const first = text.split('\n')[0];
    setText(description.querySelector('summary'), first.length > 90 ? `${first.slice(0, 88)}…` : first);
    setText(description.querySelector('p'), text);
  };
  return { root, update };
}
