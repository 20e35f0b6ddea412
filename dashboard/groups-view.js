/**
 * Groups (`#/groups`): named subsets of servers, each served at /mcp/<group>. One form per group
 * (a checkbox per server; `PUT /api/groups/:name`), a Delete button (`DELETE`), and a form for a
 * new group.
 */
import { api, ApiError } from './api.js';
import { h, setText, uid } from './dom.js';
import { busy, showError } from './server-actions.js';

/** Accepts `{ groups: { name: { servers } } }`, `{ name: { servers } }` or `[{ name, servers }]`. */
const normalize = (answer) => {
  const groups = answer?.groups ?? answer ?? {};
  if (Array.isArray(groups)) return groups.map((g) => ({ name: g.name, servers: g.servers ?? [] }));
  return Object.entries(groups).map(([name, g]) => ({ name, servers: g?.servers ?? [] }));
};

export function mountGroups(container, { state }) {
  const list = h('div', { class: 'groups' });
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  container.append(
    h('p', { class: 'crumbs' }, h('a', { href: '#/', text: '← All servers' })),
    h('div', { class: 'view-head' }, h('h2', { tabindex: '-1', text: 'Groups' })),
    h('p', {
      class: 'hint',
      text: 'A group is a subset of servers offered at its own endpoint, /mcp/<group>.',
    }),
    error,
    list,
  );
  let alive = true;
  const load = async () => {
    try {
      const groups = normalize(await api('api/groups'));
      if (!alive) return;
      list.replaceChildren(
        ...groups.map((g) => groupForm(g, state, load)),
        groupForm(undefined, state, load),
      );
    } catch (failure) {
      if (alive && !(failure instanceof ApiError && failure.status === 401)) showError(error, failure);
    }
  };
  load();
  return { unmount: () => (alive = false) };
}

function groupForm(group, state, reload) {
  const isNew = !group;
  const title = isNew ? 'New group' : group.name;
  const headingId = uid('group');
  const nameInput = isNew ? h('input', { type: 'text', required: true, spellcheck: false, id: uid() }) : null;
  const members = new Set(group?.servers ?? []);
  const names = [...new Set([...state.servers.keys(), ...members])];
  const boxes = names.map((name) => {
    const box = h('input', { type: 'checkbox', checked: members.has(name), id: uid(), value: name });
    return {
      name,
      box,
      row: h('div', { class: 'field check' }, box, h('label', { for: box.id, text: name })),
    };
  });
  const save = h('button', {
    type: 'submit',
    text: isNew ? 'Create group' : 'Save',
    'aria-label': isNew ? 'Create group' : `Save group ${title}`,
  });
  const remove = isNew
    ? null
    : h('button', { type: 'button', class: 'danger', text: 'Delete', 'aria-label': `Delete group ${title}` });
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const done = h('p', { role: 'status', class: 'ok-note' });
  const form = h(
    'form',
    { class: 'panel group-form', 'aria-labelledby': headingId, dataset: { group: group?.name ?? '' } },
    h('h3', { id: headingId, text: title }),
    nameInput
      ? h('div', { class: 'field' }, h('label', { for: nameInput.id, text: 'Group name' }), nameInput)
      : null,
    h('fieldset', { class: 'members' }, h('legend', { text: 'Servers' }), ...boxes.map((b) => b.row)),
    h('div', { class: 'actions' }, save, remove),
    error,
    done,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const name = isNew ? nameInput.value.trim() : group.name;
    const servers = boxes.filter((b) => b.box.checked).map((b) => b.name);
    setText(done, '');
    busy(save, error, async () => {
      await api(`api/groups/${encodeURIComponent(name)}`, { method: 'PUT', body: { servers } });
      setText(done, 'Saved.');
      if (isNew) reload();
    });
  });
  remove?.addEventListener('click', () =>
    busy(remove, error, async () => {
      await api(`api/groups/${encodeURIComponent(group.name)}`, { method: 'DELETE' });
      reload();
    }),
  );
  return form;
}
