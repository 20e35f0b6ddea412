/**
 * "Set credentials": the values a server's `inputs` ask for (VS Code's `${input:<id>}`), sent to
 * `PUT /api/servers/:name/inputs`, stored encrypted by the gateway. Values are never shown back:
 * the form says only whether each one is set.
 */
import { api, serverPath } from './api.js';
import { field, h, setText } from './dom.js';
import { busy, showError } from './server-actions.js';

/** Returns { root, update(inputs) } for server `name`; `inputs` is ServerDetail.inputs. */
export function inputsSection(name) {
  const fields = h('div', { class: 'input-fields' });
  const submit = h('button', { type: 'submit', text: 'Save credentials' });
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const done = h('p', { class: 'ok-note', role: 'status' });
  const form = h(
    'form',
    { class: 'inputs-form', 'aria-labelledby': 'inputs-title' },
    fields,
    h('div', { class: 'actions' }, submit),
    error,
    done,
  );
  const root = h(
    'section',
    { class: 'panel', id: 'credentials', 'aria-labelledby': 'inputs-title' },
    h('h3', { id: 'inputs-title', text: 'Credentials' }),
    h('p', { class: 'hint', text: 'Stored encrypted by Gatehouse and never shown again.' }),
    form,
  );
  let key = '';
  let controls = new Map();

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const values = {};
    for (const [id, control] of controls) if (control.input.value !== '') values[id] = control.input.value;
    setText(done, '');
    if (Object.keys(values).length === 0) {
      showError(error, new Error('Type a value first.'));
      return;
    }
    busy(submit, error, async () => {
      await api(serverPath(name, 'inputs'), { method: 'PUT', body: { values } });
      for (const control of controls.values()) control.input.value = '';
      setText(done, 'Saved. The server reconnects with the new values.');
    });
  });

  const update = (inputs = []) => {
    root.hidden = inputs.length === 0;
    const nextKey = JSON.stringify(
      inputs.map(({ id, description, password }) => [id, description, password]),
    );
    if (nextKey !== key) {
      key = nextKey;
      controls = new Map();
      fields.replaceChildren(
        ...inputs.map((input) => {
          const control = h('input', {
            type: input.password === false ? 'text' : 'password',
            autocomplete: 'off',
            spellcheck: false,
            dataset: { input: input.id },
          });
          const state = h('span', { class: 'set-state' });
          const row = field(input.description ? `${input.description} (${input.id})` : input.id, control);
          row.querySelector('label').append(' ', state);
          controls.set(input.id, { input: control, state });
          return row;
        }),
      );
    }
    for (const input of inputs) {
      const control = controls.get(input.id);
      if (!control) continue;
      setText(control.state, input.set ? '— set' : '— not set');
      control.input.placeholder = input.set ? 'set; type to replace' : '';
    }
  };
  return { root, update };
}
